"""Exception translation at the aiohttp boundary, and borrowed-session settings."""

import asyncio
import traceback

import aiohttp
import pytest

import asyncgroups as ag
from asyncgroups.testing import Fault
from asyncgroups.transport.aiohttp import AiohttpTransport
from asyncgroups.transport.base import Request
from asyncgroups.transport.translate import translate as _translate

from .conftest import TOKEN, ToyBackend


def test_connect_timeout_means_nothing_was_sent():
    err = _translate(aiohttp.ConnectionTimeoutError("t"), Request("POST", "http://h/x"))
    assert isinstance(err, ag.ConnectError)


def test_connection_reset_is_a_dropped_connection():
    err = _translate(
        aiohttp.ClientConnectionResetError("reset"), Request("GET", "http://h/x")
    )
    assert isinstance(err, ag.ConnectionDroppedError)


async def test_borrowed_session_gets_the_clients_timeout(toy):
    toy.store.seed_group("g")
    toy.faults.add(Fault.latency(1.5))
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        backend = ToyBackend(token=TOKEN, base_url=toy.url)
        async with ag.Client(
            backend, session=session, timeout=0.2, retry=ag.RetryPolicy.off()
        ) as client:
            with pytest.raises(ag.RequestTimeoutError):
                await client.groups.get("1")


async def test_borrowed_session_does_not_raise_for_status(toy):
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        backend = ToyBackend(token=TOKEN, base_url=toy.url)
        async with ag.Client(backend, session=session) as client:
            with pytest.raises(ag.NotFoundError):
                await client.groups.get("404")


async def test_trace_configs_with_a_borrowed_session_are_refused():
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ag.ConfigurationError, match="trace_configs"):
            AiohttpTransport(session=session, trace_configs=[aiohttp.TraceConfig()])


async def test_exception_chain_carries_no_credentials():
    """A broken response's traceback shows neither the token nor the raw URL query."""

    async def garbage(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"NOT-HTTP garbage\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = AiohttpTransport()
    try:
        with pytest.raises(ag.TransportError) as info:
            await transport.send(
                Request(
                    "GET",
                    f"http://127.0.0.1:{port}/x?token=SUPERSECRET123",
                    headers={"Authorization": f"Token {TOKEN}"},
                )
            )
    finally:
        await transport.aclose()
        server.close()
        await server.wait_closed()
    text = "".join(traceback.format_exception(info.value))
    assert "SUPERSECRET123" not in text
    assert TOKEN not in text
