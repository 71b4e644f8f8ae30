"""Serving an emulator on 127.0.0.1: ``serve_emulator`` and the `Emulator` handle.

The server records every request it receives (before faults apply), counts the
distinct client connections it saw, and runs the fault middleware in front of the
emulator's own routes.
"""

import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from aiohttp import web
from attrs import define, field, frozen

from asyncgroups.testing.emulators import EmulatorStore, get_factory
from asyncgroups.testing.faults import DroppedError, Faults

if TYPE_CHECKING:
    from asyncgroups.testing.emulators._neuroio_store import NeuroIOStore
    from asyncgroups.testing.emulators.graph_store import GraphStore
    from asyncgroups.testing.emulators.okta_store import OktaStore
    from asyncgroups.testing.emulators.periscope_store import PeriscopeStore
    from asyncgroups.testing.emulators.snip_store import SnipStore

__all__ = ["Emulator", "RecordedRequest", "serve_emulator"]


@frozen
class RecordedRequest:
    """A request as the emulator received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=lambda b: f"<{len(b)} bytes>")
    peer: tuple[str, int] | None = None
    time: float = 0.0
    raw_path: str = ""

    def json(self) -> Any:
        """The body parsed as JSON (``None`` if empty)."""
        import json

        return json.loads(self.body) if self.body else None


S = TypeVar("S")


@define
class Emulator(Generic[S]):
    """A running emulator; ``S`` is the type of its store.

    Attributes:
        name: the backend registry name.
        url: the base URL to give the backend.
        credentials: keyword arguments for ``ag.connect(name, base_url=url, ...)``.
        store: the emulator's in-memory state (seed and inspect it directly):
            at least `EmulatorStore`, and for a
            built-in name the emulator's own store class.
        faults: the fault injector.
        requests: every request received, in order.
        peers: distinct client connections seen (host, port).
    """

    name: str
    url: str
    credentials: dict[str, str] = field(repr=False)
    store: S
    faults: Faults
    requests: list[RecordedRequest] = field(factory=list, repr=False)
    peers: set[tuple[str, int]] = field(factory=set, repr=False)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self.requests.clear()


def _recorder(emulator: Emulator[Any], clock: Callable[[], float]) -> Any:
    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        peer = (
            request.transport.get_extra_info("peername") if request.transport else None
        )
        peer_t = (str(peer[0]), int(peer[1])) if peer else None
        if peer_t:
            emulator.peers.add(peer_t)
        emulator.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=body,
                peer=peer_t,
                time=clock(),
                raw_path=request.raw_path,
            )
        )
        try:
            response: web.StreamResponse = await handler(request)
        except DroppedError:
            raise web.HTTPException() from None  # connection already aborted
        return response

    return record


@overload
def serve_emulator(
    name: Literal["snip"],
    *,
    seed: int | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
    **options: object,
) -> "AbstractAsyncContextManager[Emulator[SnipStore]]": ...


@overload
def serve_emulator(
    name: Literal["graph"],
    *,
    seed: int | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
    **options: object,
) -> "AbstractAsyncContextManager[Emulator[GraphStore]]": ...


@overload
def serve_emulator(
    name: Literal["okta"],
    *,
    seed: int | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
    **options: object,
) -> "AbstractAsyncContextManager[Emulator[OktaStore]]": ...


@overload
def serve_emulator(
    name: Literal["neuroio"],
    *,
    seed: int | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
    **options: object,
) -> "AbstractAsyncContextManager[Emulator[NeuroIOStore]]": ...


@overload
def serve_emulator(
    name: Literal["periscope"],
    *,
    seed: int | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
    **options: object,
) -> "AbstractAsyncContextManager[Emulator[PeriscopeStore]]": ...


@overload
def serve_emulator(
    name: str,
    *,
    seed: int | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
    **options: object,
) -> AbstractAsyncContextManager[Emulator[EmulatorStore]]: ...


def serve_emulator(
    name: str,
    *,
    seed: int | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
    **options: object,
) -> AbstractAsyncContextManager[Emulator[Any]]:
    """Serve the emulator ``name`` on ``host`` (a free port unless given).

    Args:
        name: "neuroio", "snip", "periscope", "graph", "okta", or a registered third-party
            name.
        seed: seeds generated ids, tokens and random faults.
        host: interface to listen on (loopback by default).
        port: TCP port; 0 picks a free one.
        ssl_context: serve HTTPS with this server context.
        clock: clock for server-side rate limits.
        options: emulator-specific settings (page sizes, limits...).

    Returns:
        An async context manager yielding the running
        [`Emulator`][asyncgroups.testing.Emulator]; its ``store`` is typed as the
        emulator's own store for a built-in name.
    """
    return _serve(name, seed, host, port, ssl_context, clock, options)


@contextlib.asynccontextmanager
async def _serve(
    name: str,
    seed: int | None,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    clock: Callable[[], float],
    options: dict[str, object],
) -> AsyncIterator[Emulator[Any]]:
    built = get_factory(name)(seed=seed, **options)
    faults = Faults(clock=clock)
    app = built.app
    emulator: Emulator[Any] = Emulator(
        name=name,
        url="",
        credentials=built.credentials,
        store=built.store,
        faults=faults,
    )
    app.middlewares[:0] = [_recorder(emulator, clock), faults.middleware]
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    server: Any = site._server
    bound = server.sockets[0].getsockname()[1]
    scheme = "https" if ssl_context is not None else "http"
    emulator.url = f"{scheme}://{host}:{bound}"
    for credential in built.url_credentials:
        emulator.credentials[credential] = emulator.url
    try:
        yield emulator
    finally:
        await runner.cleanup()
