"""A small test backend and its app, used to exercise the harness and the Client."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, ClassVar

import pytest
from aiohttp import web
from attrs import define, field

import asyncgroups as ag
from asyncgroups.backends import status
from asyncgroups.backends._kit import Channel
from asyncgroups.testing import EmulatorApp, register_emulator, serve_emulator
from asyncgroups.transport.base import AsyncTransport, Request, Response

TOKEN = "toy-secret-token-5f1c2e9a"


@define
class ToyStore:
    users: set[str] = field(factory=set)
    groups: dict[str, set[str]] = field(factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0

    def seed_users(self, count: int) -> list[str]:
        start = len(self.users)
        keys = [f"u{start + i}" for i in range(count)]
        self.users.update(keys)
        return keys

    def seed_group(self, name: str, members: Iterable[str] = ()) -> str:
        gid = str(len(self.groups) + 1)
        self.groups[gid] = set(members)
        return gid

    def group_ids(self) -> list[str]:
        return list(self.groups)

    def members(self, group_id: str) -> frozenset[str]:
        return frozenset(self.groups[group_id])


def build(*, seed: int | None = None, **options: Any) -> EmulatorApp:
    store = ToyStore()
    delay = float(options.get("delay", 0.0))
    # hold_until=N: member additions wait until N are in flight at once (or until
    # hold_timeout passes), so a concurrency cap is reached however slow the host
    hold_until = options.get("hold_until")
    hold_timeout = float(options.get("hold_timeout", 5.0))
    all_in = asyncio.Event()

    @web.middleware
    async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Token {TOKEN}":
            return web.json_response({"message": "bad token"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def get_group(request: web.Request) -> web.Response:
        gid = request.match_info["gid"]
        if gid not in store.groups:
            return web.json_response({"message": "no such group"}, status=404)
        return web.json_response({"id": gid, "name": f"group {gid}"})

    async def add_members(request: web.Request) -> web.Response:
        gid = request.match_info["gid"]
        keys = (await request.json())["keys"]
        store.in_flight += 1
        store.max_in_flight = max(store.max_in_flight, store.in_flight)
        try:
            if hold_until is not None:
                if store.in_flight >= hold_until:
                    all_in.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_in.wait(), hold_timeout)
            await asyncio.sleep(delay)
        finally:
            store.in_flight -= 1
        bad = [k for k in keys if k not in store.users]
        if bad:
            return web.json_response(
                {
                    "message": "unknown keys",
                    "fields": {"keys": [f"unknown key {bad[0]}"]},
                },
                status=400,
            )
        store.groups[gid].update(keys)
        return web.json_response({})

    async def redirect(request: web.Request) -> web.Response:
        return web.Response(
            status=302, headers={"Location": "https://elsewhere.example/x"}
        )

    async def echo(request: web.Request) -> web.Response:
        return web.Response(
            text=json.dumps({"you sent": dict(request.headers)}),
            status=400,
            content_type="application/json",
        )

    app = web.Application(middlewares=[auth])
    app.router.add_get("/groups/{gid}", get_group)
    app.router.add_post("/groups/{gid}/members", add_members)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/echo", echo)
    return EmulatorApp(app, store, {"token": TOKEN})


register_emulator("toy", build)


class ToyBackend:
    """A minimal backend over the toy app: configuration only."""

    name: ClassVar[str] = "toy"
    CAPABILITIES: ClassVar[frozenset[ag.Capability]] = frozenset(
        {ag.Capability.MEMBERS_ADD, ag.Capability.MEMBERS_LIST}
    )

    def __init__(self, *, token: str, base_url: str, max_batch: int = 100) -> None:
        self._token = ag.Secret(token)
        self.base_url = base_url.rstrip("/")
        self.max_batch = max_batch

    def __repr__(self) -> str:
        return f"ToyBackend(base_url={self.base_url!r})"

    @property
    def capabilities(self) -> frozenset[ag.Capability]:
        return self.CAPABILITIES

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

    async def send(self, method: str, path: str, body: Any = None) -> Any:
        request = Request(
            method,
            self._backend.base_url + path,
            headers={
                "Authorization": f"Token {self._backend._token.reveal()}",
                "Content-Type": "application/json",
            },
            body=json.dumps(body).encode() if body is not None else b"",
        )
        response: Response = await self._channel.send(request)
        if response.status >= 300:
            parsed = status.try_json(response)
            detail = parsed.get("message", "") if isinstance(parsed, dict) else ""
            fields = parsed.get("fields") if isinstance(parsed, dict) else None
            raise status.api_error(
                response, backend="toy", detail=detail, errors=fields
            )
        return status.parse_json(response, backend="toy")

    async def get_group(self, group_id: str) -> ag.Group:
        data = await self.send("GET", f"/groups/{group_id}")
        return ag.Group(id=data["id"], name=data["name"])

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        await self.send("POST", f"/groups/{group_ids[0]}/members", {"keys": list(keys)})

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[ag.Group]:
        for gid in ("1",):
            yield await self.get_group(gid)

    async def iter_members(self, group_id: str) -> AsyncIterator[ag.Member]:
        return
        yield


@pytest.fixture
async def toy() -> AsyncIterator[Any]:
    async with serve_emulator("toy") as emu:
        yield emu


@pytest.fixture
async def toy_client(toy: Any) -> AsyncIterator[ag.Client]:
    backend = ToyBackend(token=TOKEN, base_url=toy.url)
    async with ag.Client(backend, retry=ag.RetryPolicy.off(), concurrency=4) as c:
        yield c
