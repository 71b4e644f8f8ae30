"""Cancellation and lifecycle: cancelled work leaves the Client usable and leak-free."""

import asyncio
import random
import threading
from typing import Any

import pytest
from aiohttp import web

import asyncgroups as ag
from asyncgroups.sync.report import ProgressEvent
from asyncgroups.testing import Fault, serve_emulator

TOKEN = "tok-SECRETVALUE-0123456789abcdef"
LIMIT = ag.RateLimit(max_concurrency=4)


def _limiter(client: ag.Client) -> Any:
    """The RateLimitedTransport's limiter, found by walking the stack."""
    layer: Any = client.transport
    while layer is not None:
        if hasattr(layer, "limiter"):
            return layer.limiter
        layer = getattr(layer, "_inner", None)
    raise AssertionError("no rate limiter in the stack")


def _connector(client: ag.Client) -> Any:
    layer: Any = client.transport
    while getattr(layer, "_inner", None) is not None:
        layer = layer._inner
    session = layer._session
    return None if session is None else session.connector


def assert_released(client: ag.Client, limit: ag.RateLimit = LIMIT) -> None:
    limiter = _limiter(client)
    assert limiter.in_flight == 0
    semaphore = limiter._semaphore
    assert semaphore is None or semaphore._value == limit.max_concurrency
    connector = _connector(client)
    assert connector is None or len(connector._acquired) == 0


def _client(url: str, **kwargs: Any) -> ag.Client:
    backend = ag.connect("neuroio", token=TOKEN, base_url=url)
    return ag.Client(backend, rate_limit=LIMIT, **kwargs)


async def _slow(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(0.2)
    return web.json_response({"id": 1, "name": "a"})


async def _fast(request: web.Request) -> web.StreamResponse:
    return web.json_response({"id": 2, "name": "b"})


async def test_cancelling_mid_request_a_thousand_times_leaks_nothing(
    hostile: Any,
) -> None:
    """1,000 requests cancelled at random points release every slot and connection."""

    async def answer(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/v1/groups/persons/2/"):
            return web.json_response({"id": 2, "name": "b"})
        return await _slow(request)

    hostile.behaviour = answer
    rng = random.Random(5)
    async with _client(hostile.url) as client:
        for _ in range(1000):
            task = asyncio.create_task(client.groups.get("1"))
            for _ in range(rng.randrange(8)):
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert_released(client)
        assert (await client.groups.get("2")).name == "b"
        assert_released(client)
    assert len(hostile.hits) > 10  # some cancellations really were mid-request


async def test_cancelling_while_waiting_for_the_rate_limiter_frees_slots(
    hostile: Any,
) -> None:
    """Requests cancelled while held back by the token bucket give back their slot."""
    hostile.behaviour = _fast
    limit = ag.RateLimit(per_second=100, burst=1, max_concurrency=4)
    backend = ag.connect("neuroio", token=TOKEN, base_url=hostile.url)
    async with ag.Client(backend, rate_limit=limit) as client:
        for _ in range(20):
            tasks = [asyncio.create_task(client.groups.get("2")) for _ in range(8)]
            await asyncio.sleep(0.001)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            assert_released(client, limit)
        async with asyncio.timeout(5):
            assert (await client.groups.get("2")).name == "b"
        assert_released(client, limit)


async def test_cancelling_mid_retry_wait_leaves_client_usable(hostile: Any) -> None:
    """A request cancelled while waiting to retry frees its slot; the Client works on."""
    waiting = asyncio.Event()

    async def answer(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/v1/groups/persons/2/"):
            return web.json_response({"id": 2, "name": "b"})
        waiting.set()
        return web.json_response({}, status=503, headers={"Retry-After": "30"})

    hostile.behaviour = answer

    async with _client(hostile.url) as client:
        for _ in range(50):
            waiting.clear()
            task = asyncio.create_task(client.groups.get("1"))
            await waiting.wait()
            await asyncio.sleep(0.005)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert_released(client)
        assert (await client.groups.get("2")).name == "b"
        assert_released(client)


async def test_cancelling_mid_batch_leaves_client_usable() -> None:
    """A batched add cancelled part-way frees every slot; the next batch completes."""
    async with serve_emulator("neuroio", seed=3) as emu:
        keys = emu.store.seed_users(600)
        gid = emu.store.seed_group("Batch")
        emu.faults.add(Fault.latency(0.02))
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, rate_limit=LIMIT, concurrency=2) as client:
            task = asyncio.create_task(client.members.add(gid, keys))
            while not emu.store.members(gid):
                await asyncio.sleep(0.005)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert_released(client)
            assert len(emu.store.members(gid)) < len(keys)
            emu.faults.clear()
            result = await client.members.add(gid, keys)
            assert result.ok
            assert emu.store.members(gid) == frozenset(keys)
            assert_released(client)


async def test_cancelled_sync_reports_what_was_applied() -> None:
    """Progress events of a cancelled apply name exactly what reached the server."""
    async with serve_emulator("neuroio", seed=4) as emu:
        keys = emu.store.seed_users(1000)
        gid = emu.store.seed_group("Sync")
        emu.faults.add(Fault.latency(0.01))
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, rate_limit=LIMIT) as client:
            plan = await client.plan_sync({"Sync": set(keys)})
            events: list[ProgressEvent] = []
            three = asyncio.Event()

            def on_progress(event: ProgressEvent) -> None:
                events.append(event)
                if len(events) == 3:
                    three.set()

            task = asyncio.create_task(
                client.apply(plan, concurrency=1, on_progress=on_progress)
            )
            await three.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            applied = {k for e in events for k in e.applied.get("Sync", ())}
            stored = set(emu.store.members(gid))
            assert len(applied) >= 300
            assert applied <= stored
            # at most the one chunk in flight at the cancel is unaccounted for
            assert len(stored - applied) <= backend.max_batch
            assert stored < set(keys)
            assert_released(client)


async def test_client_used_from_another_loop_fails_clearly(hostile: Any) -> None:
    """A Client bound to one loop raises ConfigurationError on another, slots freed."""
    hostile.behaviour = _slow
    async with _client(hostile.url) as client:
        await client.groups.get("1")
        caught: list[BaseException] = []

        def elsewhere() -> None:
            try:
                asyncio.run(client.groups.get("1"))
            except BaseException as exc:
                caught.append(exc)

        thread = threading.Thread(target=elsewhere)
        thread.start()
        await asyncio.to_thread(thread.join)
        assert len(caught) == 1
        assert isinstance(caught[0], ag.ConfigurationError)
        assert "event loop" in str(caught[0])
        assert_released(client)
        assert (await client.groups.get("1")).name == "a"
