"""The Microsoft Graph backend's configuration: tenant, app credentials, hosts, limits.

Immutable and free of I/O, so one instance may serve many Clients; each Client gets
its own `GraphSession` (with its own
token and its own ``$batch`` packing) from
[`Graph.open`][asyncgroups.backends.graph.Graph.open].
"""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from asyncgroups.backends._kit import Channel, Endpoint, positive_int
from asyncgroups.backends.base import Capability, GroupBackend
from asyncgroups.backends.graph import changes, oauth, sansio
from asyncgroups.backends.graph.session import GraphSession
from asyncgroups.config import Secret
from asyncgroups.errors import ConfigurationError
from asyncgroups.transport.base import AsyncTransport, Request
from asyncgroups.validation import (
    check_base_url,
    check_credential,
    check_header_value,
)

__all__ = ["Graph"]


def _text(value: object, what: str) -> str:
    check_header_value(value, what)
    assert isinstance(value, str)  # noqa: S101 - checked just above
    if any(c in value for c in "/?#% "):
        raise ConfigurationError(f"{what} must not contain / ? # % or spaces")
    return value


class Graph:
    """Microsoft Graph (Entra ID) groups, with OAuth2 client credentials.

    Member keys are user object ids (GUIDs); group ids are GUIDs. The session
    fetches a bearer token from ``{authority}/{tenant_id}/oauth2/v2.0/token``
    through the Client's transport, keeps it until shortly before it expires and
    renews it once when Graph answers 401 ``InvalidAuthenticationToken``. Member
    adds bind 20 members per ``PATCH /groups/{id}``; changes of many groups (and
    member removals, one ``DELETE`` each) are packed 20 to a ``POST /$batch``.

    Args:
        tenant_id: the directory (tenant) id or a verified domain.
        client_id: the application (client) id.
        client_secret: the application's client secret.
        authority: the token host (``https://login.microsoftonline.com``; other
            clouds have their own).
        base_url: the Graph host and version (``https://graph.microsoft.com/v1.0``).
        max_batch: member keys one request's worth carries (at most 20).
        page_size: ``$top`` asked for on listings (at most 999).
        clock: monotonic seconds for token expiry (injectable for tests).

    Raises:
        ConfigurationError: a missing or malformed credential, host or number.
    """

    name: ClassVar[str] = "graph"
    CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.GROUPS_CREATE,
            Capability.GROUPS_UPDATE,
            Capability.GROUPS_DELETE,
            Capability.USERS_GET,
            Capability.USERS_LIST,
            Capability.MEMBERS_LIST,
            Capability.MEMBERS_ADD,
            Capability.MEMBERS_REMOVE,
            Capability.MEMBERS_ADD_MANY,
            Capability.MEMBERS_REMOVE_MANY,
        }
    )

    __slots__ = (
        "_authority",
        "_client_id",
        "_client_secret",
        "_clock",
        "_endpoint",
        "_max_batch",
        "_page_size",
        "_tenant_id",
    )

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        client_secret: "str | Secret",
        *,
        authority: str = sansio.DEFAULT_AUTHORITY,
        base_url: str = sansio.DEFAULT_BASE_URL,
        max_batch: int = changes.MAX_BIND,
        page_size: int = sansio.PAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        secret = check_credential(client_secret, "client_secret")
        self._tenant_id = _text(tenant_id, "tenant_id")
        self._client_id = _text(client_id, "client_id")
        self._client_secret = secret
        self._authority = check_base_url(authority)
        self._endpoint = Endpoint(check_base_url(base_url))
        self._max_batch = positive_int(max_batch, "max_batch", most=changes.MAX_BIND)
        self._page_size = positive_int(page_size, "page_size", most=sansio.PAGE_SIZE)
        if not callable(clock):
            raise ConfigurationError("clock must be callable")
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"Graph(tenant_id={self._tenant_id!r}, client_id={self._client_id!r}, "
            f"base_url={self.base_url!r}, client_secret=Secret('***'))"
        )

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What Graph can do."""
        return self.CAPABILITIES

    @property
    def max_batch(self) -> int:
        """Member keys one request's worth carries (one PATCH binds 20)."""
        return self._max_batch

    @property
    def base_url(self) -> str:
        """The Graph host and version requests go to."""
        return self._endpoint.base_url

    @property
    def authority(self) -> str:
        """The token host."""
        return self._authority

    def _token_request(self) -> Request:
        return oauth.build_token(
            self._authority,
            self._tenant_id,
            self._client_id,
            self._client_secret.reveal(),
        )

    def open(self, transport: AsyncTransport) -> GraphSession:
        """A session on one Client's transport, with its own token (no I/O)."""
        return GraphSession(
            Channel(transport, self.name),
            self._endpoint,
            self._token_request,
            (self._client_secret.reveal(),),
            page_size=self._page_size,
            clock=self._clock,
        )


if TYPE_CHECKING:
    _: type[GroupBackend] = Graph
