"""The NeuroIO backend's configuration: token, base URL and limits.

Immutable and free of I/O, so one instance may serve many Clients; each Client gets
its own `NeuroIOSession` from
[`NeuroIO.open`][asyncgroups.backends.neuroio.NeuroIO.open].
"""

from typing import TYPE_CHECKING, ClassVar

from asyncgroups.backends._kit import Channel, Endpoint, positive_int
from asyncgroups.backends.base import Capability, GroupBackend
from asyncgroups.backends.neuroio import sansio
from asyncgroups.backends.neuroio.session import NeuroIOSession
from asyncgroups.config import Secret
from asyncgroups.transport.base import AsyncTransport
from asyncgroups.validation import check_base_url, check_credential

__all__ = ["NeuroIO"]


class NeuroIO:
    """NeuroIO person groups (``https://api.neuroio.com``).

    Member keys are pids; group ids are integers on the wire and strings in the
    models. One membership request serves many groups (``MEMBERS_ADD_MANY``). There
    is no JSON person create, list or lookup: persons come from face photos, so
    only ``USERS_DELETE`` is declared.

    Args:
        token: an account or space token, sent as ``Authorization: Token ...``.
        base_url: the API host.
        max_batch: pids one membership request carries (at most 100).
        page_size: ``limit`` asked for on listings (the server may clamp it).

    Raises:
        ConfigurationError: a bad token, base URL or number.
    """

    name: ClassVar[str] = "neuroio"
    CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.GROUPS_CREATE,
            Capability.GROUPS_UPDATE,
            Capability.GROUPS_DELETE,
            Capability.MEMBERS_LIST,
            Capability.MEMBERS_ADD,
            Capability.MEMBERS_REMOVE,
            Capability.MEMBERS_ADD_MANY,
            Capability.MEMBERS_REMOVE_MANY,
            Capability.USERS_DELETE,
        }
    )

    __slots__ = ("_endpoint", "_max_batch", "_page_size", "_token")

    def __init__(
        self,
        token: "str | Secret",
        *,
        base_url: str = sansio.DEFAULT_BASE_URL,
        max_batch: int = sansio.MAX_PIDS,
        page_size: int = 100,
    ) -> None:
        secret = check_credential(token, "token")
        endpoint = Endpoint(
            check_base_url(base_url), {"Authorization": f"Token {secret.reveal()}"}
        )
        # Set once here and never again: the configuration is shared by Clients.
        self._token = secret
        self._max_batch = positive_int(max_batch, "max_batch", most=sansio.MAX_PIDS)
        self._page_size = positive_int(page_size, "page_size")
        self._endpoint = endpoint

    def __repr__(self) -> str:
        return f"NeuroIO(base_url={self.base_url!r}, token=Secret('***'))"

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What NeuroIO can do."""
        return self.CAPABILITIES

    @property
    def max_batch(self) -> int:
        """Pids one membership request carries."""
        return self._max_batch

    @property
    def page_size(self) -> int:
        """``limit`` asked for on listings."""
        return self._page_size

    @property
    def base_url(self) -> str:
        """The API host requests go to."""
        return self._endpoint.base_url

    def open(self, transport: AsyncTransport) -> NeuroIOSession:
        """A session on one Client's transport (no I/O)."""
        return NeuroIOSession(
            Channel(transport, self.name), self._endpoint, page_size=self._page_size
        )


if TYPE_CHECKING:
    _: type[GroupBackend] = NeuroIO
