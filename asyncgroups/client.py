"""The Client facade users hold.

The Client builds the transport stack (or takes an injected one), opens one backend
session on it (checking that the backend's declared capabilities and the session's
Protocols agree), and offers the ``groups``, ``users`` and ``members`` namespaces plus the
sync engine's ``plan_sync``/``apply``. It owns its aiohttp session unless one is
borrowed; closing twice is harmless and use after close raises ``ClientClosedError``.
"""

import ssl
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

import aiohttp

from asyncgroups.arguments import (
    check_bool,
    check_count,
    check_instance,
    check_proxy_url,
    check_seconds,
)
from asyncgroups.backends import connect
from asyncgroups.backends.base import (
    BackendSession,
    Capability,
    GroupBackend,
    check_session,
)
from asyncgroups.config import RateLimit, RetryPolicy
from asyncgroups.errors import ClientClosedError, ConfigurationError
from asyncgroups.namespaces import GroupsAPI, MembersAPI, UsersAPI
from asyncgroups.stats import TransportStats
from asyncgroups.sync.apply import apply as _apply_plan
from asyncgroups.sync.journal import JournalStore
from asyncgroups.sync.plan import (
    By,
    DesiredInput,
    KeyMap,
    SyncPlan,
    plan_sync as _plan_sync,
)
from asyncgroups.sync.report import ProgressEvent, SyncReport
from asyncgroups.transport.aiohttp import DEFAULT_MAX_BODY, AiohttpTransport
from asyncgroups.transport.base import AsyncTransport
from asyncgroups.transport.hooks import Hooks
from asyncgroups.transport.observed import ObservedTransport, Observer
from asyncgroups.transport.stack import build_stack
from asyncgroups.validation import normalise_id

__all__ = ["Client", "connect"]  # connect: re-exported from the registry


class Client:
    """The asyncgroups client: one backend behind one transport stack.

    Args:
        backend: a [`GroupBackend`][asyncgroups.backends.base.GroupBackend].
        rate_limit: token bucket, concurrency cap and adaptive mode.
        retry: the retry policy; ``RetryPolicy.off()`` disables retries.
        timeout: seconds for one attempt: a positive, finite number (``None``,
            NaN, infinity and values <= 0 are refused, so no request waits
            forever).
        session: an ``aiohttp.ClientSession`` to borrow; never closed by the Client.
            The Client's ``timeout``, ``verify``/``ssl_context`` and ``proxy`` are
            given to each of its requests; the session's other settings (its
            ``trust_env``, default proxy, headers, cookies) stay its own.
        transport: a complete transport to use instead of building one; the
            Client still counts (``stats``), reports (``hooks``) and logs every
            request sent through it.
        verify: verify TLS certificates (default), through a proxy too.
        ssl_context: e.g. a context trusting a private CA:
            ``ssl.create_default_context(cafile="ca.pem")``. It applies through a
            proxy's ``CONNECT`` tunnel too.
        concurrency: default chunks in flight for batched member operations.
        trace_configs: aiohttp trace configs for the owned session.
        hooks: ``on_request``/``on_response``/``on_retry`` callbacks.
        max_body: largest response body read, in bytes.
        proxy: an ``http://`` proxy URL for every request, e.g.
            ``http://user:password@proxy.example:3128``; ``https://`` APIs are
            reached through a ``CONNECT`` tunnel, TLS end to end. Its credentials
            never appear in a repr, a log record or an error. It wins over the
            environment's proxies; a URL with another scheme, spaces or control
            characters, or no host is a ``ConfigurationError``.
        trust_env: as aiohttp's: read ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``
            and ``.netrc`` from the environment (off by default). Not with a
            borrowed ``session``: create that session with ``trust_env=True``.

    Attributes:
        stats: the Client's running counts of requests, retries, 429s and failures
            ([`TransportStats`][asyncgroups.TransportStats]), kept by the observing
            layer around a built or an injected transport alike.
    """

    def __init__(
        self,
        backend: GroupBackend,
        *,
        rate_limit: RateLimit | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        session: aiohttp.ClientSession | None = None,
        transport: AsyncTransport | None = None,
        verify: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        concurrency: int = 16,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        hooks: Hooks | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        proxy: str | None = None,
        trust_env: bool = False,
    ) -> None:
        _check_arguments(
            backend=backend,
            rate_limit=rate_limit,
            retry=retry,
            timeout=timeout,
            session=session,
            transport=transport,
            verify=verify,
            ssl_context=ssl_context,
            concurrency=concurrency,
            trace_configs=trace_configs,
            hooks=hooks,
            max_body=max_body,
            proxy=proxy,
            trust_env=trust_env,
        )
        self.backend = backend
        self.concurrency = concurrency
        self.stats: TransportStats = TransportStats()
        observer = Observer(self.stats, hooks)
        self.retry = retry if retry is not None else RetryPolicy()
        self.rate_limit = rate_limit if rate_limit is not None else RateLimit()
        self._closed = False
        if transport is None:
            base: AsyncTransport = AiohttpTransport(
                session=session,
                timeout=timeout,
                verify=verify,
                ssl_context=ssl_context,
                trace_configs=trace_configs,
                max_body=max_body,
                limit=max(100, concurrency),
                proxy=proxy,
                trust_env=trust_env,
            )
            transport = build_stack(
                base, observer=observer, retry=self.retry, rate_limit=self.rate_limit
            )
        # Counting, hooks and logs happen in this one layer, always installed.
        self.transport: AsyncTransport = ObservedTransport(transport, observer)
        opened = backend.open(self.transport)
        check_session(backend, opened)
        self._session: BackendSession = opened
        self.groups = GroupsAPI(self)
        self.users = UsersAPI(self)
        self.members = MembersAPI(self)

    @property
    def session(self) -> BackendSession:
        """The backend's session bound to this Client (backend-specific extras).

        Backend-specific operations (NeuroIO's multi-group reads, SCIM discovery)
        are methods of the concrete session class, e.g.
        ``cast(NeuroIOSession, client.session)``.
        """
        return self._session

    @property
    def backend_name(self) -> str:
        """The backend's registry name ("neuroio", "snip", ...)."""
        return self.backend.name

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the backend can do."""
        return self.backend.capabilities

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` was called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("this client is closed; create a new one")

    async def plan_sync(
        self,
        desired: DesiredInput,
        *,
        prune: bool = False,
        create_groups: bool = False,
        by: By = "name",
        key_map: KeyMap | None = None,
    ) -> SyncPlan:
        """Plan a membership sync (reads only); ``str(plan)`` is a readable diff.

        See [`asyncgroups.sync.plan_sync`][asyncgroups.sync.plan_sync].

        Raises:
            InvalidInputError: malformed desired state, or an ambiguous group name.
            SyncAbortedError: ``prune`` is set and a members listing is incomplete.
        """
        self._check_open()
        return await _plan_sync(
            self,
            desired,
            prune=prune,
            create_groups=create_groups,
            by=by,
            key_map=key_map,
        )

    async def apply(
        self,
        plan: SyncPlan,
        *,
        max_removals: int | float | None = None,
        concurrency: int | None = None,
        on_progress: Callable[[ProgressEvent], Any] | None = None,
        raise_on_error: bool = False,
        dry_run: bool = False,
        replan: bool = False,
        verify: bool = True,
        journal: JournalStore | None = None,
    ) -> SyncReport:
        """Apply a `SyncPlan`; see `asyncgroups.sync.apply`.

        ``journal`` records the apply durably, and resumes an interrupted apply
        of the same plan ([`SQLiteJournal`][asyncgroups.sync.SQLiteJournal]).

        Raises:
            SyncAbortedError: ``max_removals`` exceeded, drift, an incomplete
                listing, or a journal of another plan; nothing was written.
            PartialSyncError: ``raise_on_error`` is set and some changes failed.
        """
        self._check_open()
        return await _apply_plan(
            self,
            plan,
            max_removals=max_removals,
            concurrency=concurrency,
            on_progress=on_progress,
            raise_on_error=raise_on_error,
            dry_run=dry_run,
            replan=replan,
            verify=verify,
            journal=journal,
        )

    def _check_group_id(self, group_id: str | int) -> str:
        """Normalise a group id and let the session refuse it before any batching.

        So a bad id (a Periscope name with path characters, a non-integer NeuroIO
        id) is one error, not one per key.
        """
        gid = normalise_id(group_id, "group id")
        self._session.check_group_id(gid)
        return gid

    async def aclose(self) -> None:
        """Close the transport stack (a borrowed session stays open); idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._session.aclose()
        finally:
            await self.transport.aclose()

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Client backend={self.backend.name!r} {state}>"


def _check_arguments(**arguments: Any) -> None:
    """Refuse a wrong Client argument with a ``ConfigurationError`` naming it."""
    error = ConfigurationError
    if not isinstance(arguments["backend"], GroupBackend):
        raise ConfigurationError(
            "backend must satisfy the GroupBackend protocol (e.g. "
            f"asyncgroups.connect(...)), not {type(arguments['backend']).__name__}"
        )
    check_instance(arguments["rate_limit"], "rate_limit", RateLimit, error=error)
    check_instance(arguments["retry"], "retry", RetryPolicy, error=error)
    check_seconds(arguments["timeout"], "timeout", optional=False, error=error)
    check_instance(arguments["session"], "session", aiohttp.ClientSession, error=error)
    transport = arguments["transport"]
    if transport is not None and not callable(getattr(transport, "send", None)):
        raise ConfigurationError(
            f"transport must be an AsyncTransport, not {type(transport).__name__}"
        )
    check_bool(arguments["verify"], "verify", error)
    check_instance(arguments["ssl_context"], "ssl_context", ssl.SSLContext, error=error)
    check_count(arguments["concurrency"], "concurrency", error=error)
    traces = arguments["trace_configs"]
    if isinstance(traces, str | bytes) or not isinstance(traces, Sequence):
        raise ConfigurationError(
            f"trace_configs must be a sequence of aiohttp.TraceConfig, "
            f"not {type(traces).__name__}"
        )
    for trace in traces:
        check_instance(trace, "trace_configs", aiohttp.TraceConfig, error=error)
    check_instance(arguments["hooks"], "hooks", Hooks, error=error)
    check_count(arguments["max_body"], "max_body", error=error)
    check_proxy_url(arguments["proxy"], "proxy", error=error)
    check_bool(arguments["trust_env"], "trust_env", error)
    if transport is not None and (arguments["proxy"] or arguments["trust_env"]):
        raise ConfigurationError(
            "proxy and trust_env apply to the transport the client builds; "
            "give them to your transport instead"
        )
    if arguments["session"] is not None and arguments["trust_env"]:
        raise ConfigurationError(
            "trust_env applies to a session the client creates; create the "
            "borrowed session with trust_env=True instead"
        )
