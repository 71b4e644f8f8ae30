"""The SCIM 2.0 backend's configuration: `SCIM` (RFC 7643/7644).

[`SCIM`][asyncgroups_scim.SCIM] is immutable configuration (base URL, bearer token,
limits) and performs no I/O; [`SCIM.open`][asyncgroups_scim.SCIM.open] binds it to one
Client's transport and returns a `SCIMSession`, which reads ``/ServiceProviderConfig``
once, at first use, to decide how writes are made (PATCH or a conditional
read-modify-write PUT) and whether listings are filtered on the server. What the backend
declares ([`SCIM.capabilities`][asyncgroups_scim.SCIM.capabilities]) is fixed here,
before any I/O.
"""

from typing import TYPE_CHECKING, ClassVar

from asyncgroups.backends._kit import positive_int
from asyncgroups.backends.base import Capability, GroupBackend
from asyncgroups.config import Secret
from asyncgroups.transport.base import AsyncTransport
from asyncgroups.validation import check_base_url, check_credential
from asyncgroups_scim import sansio
from asyncgroups_scim.session import Options, SCIMSession

__all__ = ["SCIM"]


class SCIM:
    """A SCIM 2.0 service provider (RFC 7644), e.g. an IdP or directory.

    Group ids and member keys are SCIM ids; members are added and removed with
    PATCH ``add``/``remove`` operations on ``members`` (atomic per request). Where
    the server lacks PATCH, membership changes are a read-modify-write PUT,
    serialised per group and conditional on ``If-Match`` when ETags are announced;
    a 412 is re-read and retried.

    Args:
        base_url: the SCIM root, e.g. ``https://idp.example.com/scim/v2``.
        token: a bearer token (RFC 6750).
        member_batch: member ids one PATCH carries.
        page_size: ``count`` asked for on listings (the server may clamp it).
        verify_members: look member ids up before adding them, so unknown ids fail
            with ``NotFoundError`` (needs filtering; one lookup per 50 ids).
        member_emails: fill ``Member.email`` with one user lookup per 50 members.
        conflict_retries: re-reads after a 412 before giving up.
        bulk: the server offers ``/Bulk`` (RFC 7644 §3.7): declare
            ``MEMBERS_ADD_MANY`` and ``MEMBERS_REMOVE_MANY``, so one request serves
            several groups. Where ``/ServiceProviderConfig`` does not announce bulk
            and PATCH after all, each group still gets its own request.

    Raises:
        ConfigurationError: a bad token, base URL or number.
    """

    __slots__ = ("_base_url", "_max_batch", "_options", "_token")

    name: ClassVar[str] = "scim"
    #: What every SCIM server is taken to offer (``bulk=False``).
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
        }
    )
    #: Added with ``bulk=True``.
    BULK_CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.MEMBERS_ADD_MANY, Capability.MEMBERS_REMOVE_MANY}
    )

    def __init__(
        self,
        *,
        base_url: str,
        token: "str | Secret",
        member_batch: int = 100,
        page_size: int = 100,
        verify_members: bool = True,
        member_emails: bool = False,
        conflict_retries: int = 20,
        bulk: bool = False,
    ) -> None:
        self._token = check_credential(token, "token")
        self._base_url = check_base_url(base_url)
        self._max_batch = positive_int(member_batch, "member_batch")
        self._options = Options(
            page_size=positive_int(page_size, "page_size"),
            retries=positive_int(conflict_retries, "conflict_retries"),
            verify_members=bool(verify_members),
            member_emails=bool(member_emails),
            bulk=bool(bulk),
        )

    def __repr__(self) -> str:
        return f"SCIM(base_url={self._base_url!r}, token=Secret('***'))"

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this backend does, fixed by its arguments (``bulk``) before any I/O."""
        if self._options.bulk:
            return self.CAPABILITIES | self.BULK_CAPABILITIES
        return self.CAPABILITIES

    @property
    def max_batch(self) -> int:
        """Member ids one request carries."""
        return self._max_batch

    @property
    def base_url(self) -> str:
        """The SCIM root requests go to."""
        return self._base_url

    def open(self, transport: AsyncTransport) -> SCIMSession:
        """Bind to one Client's transport: a new session, no I/O."""
        endpoint = sansio.endpoint(self._base_url, self._token)
        return SCIMSession(transport, endpoint, self._options)


if TYPE_CHECKING:
    _: type[GroupBackend] = SCIM
