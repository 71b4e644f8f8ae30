"""The Periscope backend: immutable configuration of one site.

[`Periscope`][asyncgroups.backends.periscope.Periscope] checks and holds the site, key,
URL and defaults; it performs no I/O. ``open(transport)`` binds it to one Client and
returns a `PeriscopeSession`, which holds that Client's state (its channel and per-user
membership queues).
"""

from typing import TYPE_CHECKING, ClassVar

from attrs import field, frozen

from asyncgroups.backends._kit import Channel
from asyncgroups.backends.base import Capability
from asyncgroups.backends.periscope import sansio
from asyncgroups.backends.periscope.auth import check_site, partner_auth
from asyncgroups.backends.periscope.session import PeriscopeSession
from asyncgroups.config import Secret
from asyncgroups.errors import ConfigurationError, InvalidInputError
from asyncgroups.transport.base import AsyncTransport
from asyncgroups.validation import check_base_url, check_email, check_header_value

__all__ = ["DEFAULT_ACCESS", "DEFAULT_BASE_URL", "Periscope"]

DEFAULT_BASE_URL = "https://api.periscopedata.com"
#: The ``access`` a new group gets unless told otherwise (values are undocumented).
DEFAULT_ACCESS = "View"


@frozen(init=False)
class Periscope:
    """Periscope Data's User & Group Management API (v1), one site.

    Users are identified by e-mail (``User.id``, ``Member.key``), groups by name
    (``Group.id``). Memberships live in each user's ``groups`` list: adding or
    removing members is a read-modify-write of the user, serialised per user, one
    user per request (``max_batch`` is 1) but any number of groups in that request.

    Args:
        site: the site name (the slug in ``app.periscopedata.com/app/<site>``).
        api_key: the site's API key (kept in a [`Secret`][asyncgroups.config.Secret]).
        test_mode: send ``test_mode=true`` on every write: the server validates
            and answers but persists nothing.
        base_url: scheme and host of the API (a trailing ``/api/v1`` is accepted).
        admin_email: sent as ``invited_by_email`` / ``created_by_email`` unless a
            call gives its own.
        default_access: the ``access`` of groups created without one.

    Raises:
        ConfigurationError: a site, key, e-mail or URL is empty or holds CR/LF.
    """

    name: ClassVar[str] = "periscope"
    CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.GROUPS_CREATE,
            Capability.GROUPS_UPDATE,
            Capability.GROUPS_DELETE,
            Capability.USERS_GET,
            Capability.USERS_LIST,
            Capability.USERS_CREATE,
            Capability.USERS_UPDATE,
            Capability.USERS_DELETE,
            Capability.MEMBERS_LIST,
            Capability.MEMBERS_ADD,
            Capability.MEMBERS_REMOVE,
            # One PUT of a user's groups adds (or removes) that user in many groups.
            Capability.MEMBERS_ADD_MANY,
            Capability.MEMBERS_REMOVE_MANY,
            Capability.TEST_MODE,
        }
    )
    #: One user per request: each request is one user's read-modify-write.
    max_batch: ClassVar[int] = 1

    site: str
    base_url: str
    test_mode: bool
    admin_email: str | None
    default_access: str
    _api_key: Secret = field(repr=False)
    _target: sansio.Target = field(repr=False, eq=False)

    def __init__(
        self,
        *,
        site: str,
        api_key: str | Secret,
        test_mode: bool = False,
        base_url: str = DEFAULT_BASE_URL,
        admin_email: str | None = None,
        default_access: str = DEFAULT_ACCESS,
    ) -> None:
        check_site(site)
        key = Secret(api_key)
        # The vendor's examples include the prefix; accept it either way.
        url = check_base_url(base_url).removesuffix(sansio.PREFIX)
        if admin_email is not None:
            try:
                check_email(admin_email, "admin_email")
            except InvalidInputError as exc:
                raise ConfigurationError(str(exc)) from None
        check_header_value(default_access, "default_access")
        target = sansio.Target.at(
            url, partner_auth(site, key), test_mode=bool(test_mode)
        )
        self.__attrs_init__(
            site=site,
            base_url=url,
            test_mode=bool(test_mode),
            admin_email=admin_email,
            default_access=default_access,
            api_key=key,
            target=target,
        )

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this backend can do."""
        return self.CAPABILITIES

    def open(self, transport: AsyncTransport) -> PeriscopeSession:
        """Bind to one Client's transport: a new session, no I/O."""
        return PeriscopeSession(
            self._target,
            Channel(transport, self.name),
            admin_email=self.admin_email,
            default_access=self.default_access,
        )


if TYPE_CHECKING:
    from asyncgroups.backends.base import GroupBackend

    _: type[GroupBackend] = Periscope
