"""Transport test helpers: a toy backend, a toy server app and a virtual-time loop."""

import asyncio
import json
import selectors
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import asyncgroups as ag
from asyncgroups.backends import status
from asyncgroups.backends._kit import Channel
from asyncgroups.transport.base import AsyncTransport, Request, Response

T = TypeVar("T")

TOKEN = "transport-secret-token-7d3e91"


class ToyBackend:
    """The smallest backend: GET /groups/{id} and POST /groups (configuration)."""

    name = "toy"
    CAPABILITIES = frozenset({ag.Capability.GROUPS_CREATE})
    capabilities = CAPABILITIES
    max_batch = 100

    def __init__(self, base_url: str, token: str = TOKEN, query: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.query = query
        self.auth = {"Authorization": f"Token {token}"}

    def open(self, transport: AsyncTransport) -> "ToySession":
        return ToySession(self, transport)


class ToySession:
    """One Client's binding of the toy backend."""

    def __init__(self, backend: ToyBackend, transport: AsyncTransport) -> None:
        self._backend = backend
        self._channel = Channel(transport, "toy")

    async def aclose(self) -> None:
        self._channel.close()

    def check_group_id(self, group_id: str) -> None:
        pass

    async def _send(self, request: Request) -> Any:
        response = await self._channel.send(request)
        if response.status >= 300:
            raise status.api_error(response, backend="toy")
        return status.parse_json(response, backend="toy")

    async def get_group(self, group_id: str) -> ag.Group:
        backend = self._backend
        data = await self._send(
            Request(
                "GET",
                f"{backend.base_url}/groups/{group_id}{backend.query}",
                headers=backend.auth,
            )
        )
        return ag.Group(id=str(data["id"]), name=data["name"])

    async def create_group(
        self, name: str, *, description: str | None = None, **extra: object
    ) -> ag.Group:
        body = json.dumps({"name": name}).encode()
        backend = self._backend
        data = await self._send(
            Request(
                "POST", f"{backend.base_url}/groups", headers=backend.auth, body=body
            )
        )
        return ag.Group(id=str(data["id"]), name=data["name"])

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[ag.Group]:
        yield await self.get_group("1")

    async def iter_members(self, group_id: str) -> AsyncIterator[ag.Member]:
        return
        yield


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[TestServer]]]:
    """Start a tiny app on 127.0.0.1 whose every route is ``handler``."""
    servers: list[TestServer] = []

    async def start(handler: Handler) -> TestServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def ok_json(request: Request, data: Any, status_code: int = 200) -> Response:
    return Response(
        status_code,
        {"content-type": "application/json"},
        json.dumps(data).encode(),
        request,
    )


# -- virtual time ----------------------------------------------------------------------


class _VirtualSelector:
    """Wraps the loop's selector: waiting advances virtual time instead of blocking."""

    def __init__(self, real: selectors.BaseSelector, loop: "VirtualLoop") -> None:
        self._real = real
        self._loop = loop

    def select(self, timeout: float | None = None) -> Any:
        if timeout is None:
            raise RuntimeError("virtual-time loop would block forever (deadlock)")
        if timeout > 0:
            self._loop.now += timeout
        return self._real.select(0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock only moves when every task is waiting on a timer."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self._selector = _VirtualSelector(self._selector, self)  # type: ignore[has-type,arg-type]

    def time(self) -> float:
        return self.now


def run_virtual(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` on a fresh virtual-time loop; ``loop.time`` is its clock."""
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.fixture
def virtual() -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    """``run_virtual``: run a coroutine function on a virtual-time loop."""
    return run_virtual


@pytest.fixture
def toy() -> type[ToyBackend]:
    """The toy backend class."""
    return ToyBackend
