"""The Client over real HTTP: batching, isolation, typed errors, lifecycle, secrets."""

import logging
from typing import cast

import aiohttp
import pytest

import asyncgroups as ag
from asyncgroups.testing import Fault

from .conftest import TOKEN, ToyBackend, ToySession, ToyStore


async def test_batches_split_to_max_batch_with_bounded_concurrency(toy, toy_client):
    """1,050 keys with max_batch=100 make exactly 11 requests, at most 4 at once."""
    keys = toy.store.seed_users(1050)
    gid = toy.store.seed_group("eng")
    result = await toy_client.members.add(gid, keys)
    posts = [r for r in toy.requests if r.method == "POST"]
    assert len(posts) == 11
    assert result.ok
    assert result.succeeded == frozenset(keys)
    assert result.requests == 11
    assert toy.store.members(gid) == frozenset(keys)
    assert sorted(len(r.json()["keys"]) for r in posts) == [50] + [100] * 10
    assert 1 <= toy.store.max_in_flight <= 4


async def test_concurrency_cap_is_reached_not_exceeded():
    """The batch runs exactly the configured number at once, never more.

    The server holds each addition until 3 are in flight (or 5 s pass), so the cap
    is reached however slowly a loaded host starts them.
    """
    from asyncgroups.testing import serve_emulator

    async with serve_emulator("toy", delay=0.01, hold_until=3) as emu:
        keys = emu.store.seed_users(1000)
        gid = emu.store.seed_group("eng")
        backend = ToyBackend(token=TOKEN, base_url=emu.url)
        async with ag.Client(
            backend, retry=ag.RetryPolicy.off(), concurrency=3
        ) as client:
            await client.members.add(gid, keys)
        assert cast(ToyStore, emu.store).max_in_flight == 3


async def test_rejected_chunk_isolates_bad_keys(toy, toy_client):
    """A chunk rejected for 2 bad keys: those 2 fail with the server's reason, 1,048 apply."""
    keys = toy.store.seed_users(1048)
    bad = ["ghost-1", "ghost-2"]
    gid = toy.store.seed_group("eng")
    mixed = [*keys[:500], bad[0], *keys[500:], bad[1]]
    result = await toy_client.members.add(gid, mixed)
    assert set(result.failed) == set(bad)
    for key in bad:
        err = result.failed[key]
        assert isinstance(err, ag.RejectedRequestError)
        assert err.errors["keys"] == (f"unknown key {key}",)
        assert err.status == 400
    assert result.succeeded == frozenset(keys)
    assert toy.store.members(gid) == frozenset(keys)


async def test_html_502_is_server_error(toy, toy_client):
    toy.store.seed_group("g")
    toy.faults.add(Fault.status(502, html=True), times=1)
    with pytest.raises(ag.ServerError) as info:
        await toy_client.groups.get("1")
    assert info.value.status == 502
    assert "HTML page" in str(info.value)


async def test_invalid_json_on_200_is_decode_error(toy, toy_client):
    toy.store.seed_group("g")
    toy.faults.add(Fault.malformed(200), times=1)
    with pytest.raises(ag.DecodeError, match="malformed JSON"):
        await toy_client.groups.get("1")


async def test_truncated_body_is_connection_dropped(toy, toy_client):
    toy.store.seed_group("g")
    toy.faults.add(Fault.truncated(), times=1)
    with pytest.raises(ag.ConnectionDroppedError):
        await toy_client.groups.get("1")


async def test_redirect_is_api_error_naming_target(toy, toy_client):
    with pytest.raises(ag.APIError) as info:
        await cast(ToySession, toy_client.session).send("GET", "/redirect")
    assert info.value.status == 302
    assert "https://elsewhere.example/x" in str(info.value)
    assert len([r for r in toy.requests if r.path == "/redirect"]) == 1


async def test_crlf_in_header_value_is_configuration_error(toy):
    backend = ToyBackend(token="abc\r\nX-Evil: 1", base_url=toy.url)
    async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
        with pytest.raises(ag.ConfigurationError) as info:
            await client.groups.get("1")
    assert "X-Evil" not in str(info.value)
    assert toy.requests == []


def test_unknown_backend_name_is_configuration_error():
    with pytest.raises(ag.ConfigurationError, match="unknown backend 'nope'"):
        ag.connect("nope")


async def test_connection_refused_is_connect_error():
    backend = ToyBackend(token=TOKEN, base_url="http://127.0.0.1:9")
    async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
        with pytest.raises(ag.ConnectError):
            await client.groups.get("1")


async def test_credentials_never_leak(toy, toy_client, captured_logs):
    """The token appears in no error, repr or log line, even when the server echoes it."""
    with pytest.raises(ag.APIError) as info:
        await cast(ToySession, toy_client.session).send("GET", "/echo")
    toy.faults.add(Fault.status(503, html=True), times=1)
    with pytest.raises(ag.APIError) as info2:
        await toy_client.groups.get("1")
    bad = ToyBackend(token="wrong-token-123456", base_url=toy.url)
    async with ag.Client(bad, retry=ag.RetryPolicy.off()) as client:
        with pytest.raises(ag.AuthenticationError) as info3:
            await client.groups.get("1")
        texts = [str(info3.value), repr(info3.value), repr(client), repr(bad)]
    texts += [str(info.value), repr(info.value), str(info2.value), repr(info2.value)]
    texts += [repr(toy_client), repr(toy_client.backend), repr(ag.Secret(TOKEN))]
    texts += [r.getMessage() for r in captured_logs.records]
    assert "Authorization" in str(info.value) or "you sent" in str(info.value)
    for text in texts:
        assert TOKEN not in text
        assert "wrong-token-123456" not in text


async def test_sequential_requests_reuse_one_connection(toy, toy_client):
    """20 sequential requests through one Client use one TCP connection."""
    toy.store.seed_group("g")
    for _ in range(20):
        await toy_client.groups.get("1")
    assert len(toy.requests) == 20
    assert len(toy.peers) == 1


async def test_closed_client_raises_and_double_close_is_harmless(toy):
    client = ag.Client(ToyBackend(token=TOKEN, base_url=toy.url))
    await client.aclose()
    await client.aclose()
    with pytest.raises(ag.ClientClosedError):
        await client.groups.get("1")
    with pytest.raises(ag.ClientClosedError):
        await client.members.add("1", ["u1"])


async def test_borrowed_session_is_not_closed(toy):
    toy.store.seed_group("g")
    async with aiohttp.ClientSession() as session:
        backend = ToyBackend(token=TOKEN, base_url=toy.url)
        async with ag.Client(backend, session=session) as client:
            await client.groups.get("1")
        assert not session.closed
        async with session.get(toy.url + "/groups/1") as resp:
            assert resp.status == 401


async def test_capability_missing_raises_before_any_request(toy, toy_client):
    with pytest.raises(ag.UnsupportedOperationError, match="MEMBERS_REMOVE"):
        await toy_client.members.remove("1", ["u1"])
    with pytest.raises(ag.UnsupportedOperationError):
        await toy_client.groups.create("x")
    assert toy.requests == []


async def test_invalid_keys_are_refused_before_io(toy, toy_client):
    with pytest.raises(ag.InvalidInputError):
        await toy_client.members.add("1", ["ok", ""])
    with pytest.raises(ag.InvalidInputError):
        await toy_client.members.add("1", ["a\nb"])
    with pytest.raises(ag.InvalidInputError):
        await toy_client.groups.get("")
    assert toy.requests == []


def test_non_backend_is_configuration_error():
    with pytest.raises(ag.ConfigurationError):
        ag.Client(object())  # type: ignore[arg-type]


async def test_debug_logging_does_not_raise(toy, toy_client, caplog):
    caplog.set_level(logging.DEBUG)
    toy.store.seed_group("g")
    assert (await toy_client.groups.get("1")).id == "1"
