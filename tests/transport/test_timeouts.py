"""Timeouts that could never end are refused before anything is sent."""

import asyncio
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import asyncgroups as ag
from asyncgroups.cli.main import amain
from asyncgroups.transport.aiohttp import AiohttpTransport
from asyncgroups.transport.base import Request

#: Each would leave one attempt without an end (or fail deep inside aiohttp).
ENDLESS: list[Any] = [None, math.nan, math.inf, -math.inf, -1.0, 0, 0.0, "30", True]


@pytest.fixture
async def stalling() -> AsyncIterator[tuple[str, list[str]]]:
    """A server that never answers; the paths it was asked for."""
    hits: list[str] = []

    async def stall(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        await asyncio.sleep(3600)
        return web.Response()

    app = web.Application()
    app.router.add_get("/{tail:.*}", stall)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), hits
    finally:
        await server.close()


@pytest.mark.parametrize("value", ENDLESS, ids=repr)
async def test_the_client_refuses_a_timeout_without_an_end(
    stalling: tuple[str, list[str]], value: Any
) -> None:
    url, hits = stalling
    backend = ag.connect("neuroio", token="t0k3n-never-sent", base_url=url)
    with pytest.raises(ag.ConfigurationError, match="timeout"):
        ag.Client(backend, timeout=value)
    assert hits == []


@pytest.mark.parametrize("argument", ["timeout", "connect_timeout", "read_timeout"])
@pytest.mark.parametrize("value", ENDLESS, ids=repr)
async def test_the_transport_refuses_a_timeout_without_an_end(
    argument: str, value: Any
) -> None:
    if value is None and argument != "timeout":
        # connect and read timeouts are optional: the total one still ends the attempt
        settings: dict[str, Any] = {argument: value}
        transport = AiohttpTransport(**settings)
        await transport.aclose()
        return
    with pytest.raises(ag.ConfigurationError, match=argument):
        AiohttpTransport(**{argument: value})


async def test_a_stalled_server_ends_with_the_timeout_on_every_layer(
    stalling: tuple[str, list[str]],
) -> None:
    """With the smallest valid settings, each attempt and the call end."""
    url, hits = stalling
    backend = ag.connect("neuroio", token="t0k3n", base_url=url)
    retry = ag.RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.001)
    async with ag.Client(backend, timeout=0.1, retry=retry) as client:
        with pytest.raises(ag.RequestTimeoutError):
            await client.groups.get("1")
    assert len(hits) == 2  # a GET is re-sent once after a timeout, then given up


async def test_a_huge_finite_timeout_still_sends(
    stalling: tuple[str, list[str]],
) -> None:
    """Large but finite is allowed (aiohttp overflowed only on infinity)."""
    url, hits = stalling
    transport = AiohttpTransport(timeout=1e300, read_timeout=0.1)
    try:
        with pytest.raises(ag.RequestTimeoutError):
            await transport.send(Request("GET", url + "/x"))
    finally:
        await transport.aclose()
    assert hits == ["/x"]


@pytest.mark.parametrize("text", ["inf", "nan", "-1", "0", "1e400", "-inf", "soon"])
async def test_the_cli_refuses_a_timeout_without_an_end(
    text: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A usage error (exit 2) naming --timeout, never a traceback."""
    monkeypatch.setenv("ASYNCGROUPS_BACKEND", "neuroio")
    monkeypatch.setenv("ASYNCGROUPS_TOKEN", "t0k3n-never-sent")
    monkeypatch.setenv("ASYNCGROUPS_BASE_URL", "http://127.0.0.1:9")
    assert await amain(["groups", "list", f"--timeout={text}"]) == 2
    out, err = capsys.readouterr()
    assert "--timeout" in err
    assert "Traceback" not in out + err
    assert "t0k3n-never-sent" not in out + err
