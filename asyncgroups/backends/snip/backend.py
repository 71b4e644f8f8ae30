"""The Snip backend's configuration: Snip's account group API behind ``GroupBackend``.

[`Snip`][asyncgroups.backends.snip.Snip] is immutable configuration (token, deployment
URL, batch size) and performs no I/O; [`Snip.open`][asyncgroups.backends.snip.Snip.open]
binds it to one Client's transport as a `SnipSession`, which does the work.
"""

from typing import TYPE_CHECKING, ClassVar

from attrs import field, frozen

from asyncgroups.backends._kit import Endpoint, positive_int
from asyncgroups.backends.base import Capability
from asyncgroups.backends.snip import sansio
from asyncgroups.backends.snip.session import SnipSession
from asyncgroups.config import Secret
from asyncgroups.transport.base import AsyncTransport
from asyncgroups.validation import check_base_url

if TYPE_CHECKING:
    from asyncgroups.backends.base import GroupBackend

__all__ = ["Snip"]


def _token(value: str | Secret) -> Secret:
    token = Secret(value)
    sansio.auth_headers(token)  # refuse an empty or CR/LF token first, as before
    return token


def _max_batch(value: object) -> int:
    return positive_int(value, "max_batch")


@frozen(eq=False)
class Snip:
    """Snip (snip.roentgen.physik.uni-goettingen.de): groups of the token's account.

    Groups are listed, read, created, renamed, described and deleted; members come
    embedded in their group with roles and e-mails and can be removed in bulk, but
    the API has no way to add them. Users are read-only, derived from group members.
    Snip-only operations (roles, ownership, leaving) are methods of the session:
    ``cast(SnipSession, client.session)``.

    Args:
        token: an account token (book tokens are refused by the server with
            ``AuthenticationError``).
        base_url: the deployment URL; a trailing ``/`` is dropped.
        max_batch: user ids one removal request carries (Snip accepts 500).

    Raises:
        ConfigurationError: the token is empty or holds CR/LF, or a bad base URL or
            batch size.
    """

    name: ClassVar[str] = "snip"
    CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.GROUPS_CREATE,
            Capability.GROUPS_UPDATE,
            Capability.GROUPS_DELETE,
            Capability.USERS_GET,
            Capability.USERS_LIST,
            Capability.MEMBERS_LIST,
            Capability.MEMBERS_REMOVE,
            Capability.ROLES,
        }
    )

    _token: Secret = field(converter=_token, repr=False, alias="token")
    base_url: str = field(
        default=sansio.DEFAULT_BASE_URL, converter=check_base_url, kw_only=True
    )
    max_batch: int = field(
        default=sansio.MAX_REMOVE, converter=_max_batch, kw_only=True
    )
    _endpoint: Endpoint = field(init=False, repr=False)

    @_endpoint.default
    def _make_endpoint(self) -> Endpoint:
        return sansio.endpoint(self.base_url, self._token)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What Snip can do: no member adds, no user writes."""
        return self.CAPABILITIES

    def open(self, transport: AsyncTransport) -> SnipSession:
        """Bind to one Client's transport: a new session, no I/O."""
        return SnipSession(transport, self._endpoint, max_batch=self.max_batch)


if TYPE_CHECKING:
    _: type[GroupBackend] = Snip
