"""The shared 429 gate, seen from the server: after a 429 the whole Client pauses."""

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web

import asyncgroups as ag


async def test_one_429_pauses_every_task_of_the_client(serve: Any, toy: Any) -> None:
    arrivals: list[tuple[str, float]] = []  # (path, when), as the server saw them
    throttled_at: list[float] = []
    sends: dict[str, list[float]] = {}  # path -> when the Client's session sent it
    received_429: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        arrivals.append((request.path, time.monotonic()))
        if len(arrivals) == 100:
            throttled_at.append(time.monotonic())
            return web.json_response(
                {"message": "slow down"}, status=429, headers={"Retry-After": "1"}
            )
        gid = request.match_info["tail"].rsplit("/", 1)[-1]
        return web.json_response({"id": gid, "name": f"group {gid}"})

    # aiohttp's trace fires as the session sends: past the limiter, unlike on_request
    async def on_start(_: Any, __: SimpleNamespace, params: Any) -> None:
        sends.setdefault(params.url.path, []).append(time.monotonic())

    async def on_end(_: Any, __: SimpleNamespace, params: Any) -> None:
        if params.response.status == 429:
            received_429.append(time.monotonic())

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)

    server = await serve(handler)
    backend = toy(str(server.make_url("/")))
    retry = ag.RetryPolicy(base_delay=0.01, max_delay=0.1, deadline=30.0)

    async def worker(client: ag.Client, n: int) -> int:
        done = 0
        for i in range(10):
            group = await client.groups.get(f"{n}-{i}")
            assert group.id == f"{n}-{i}"
            done += 1
        return done

    async with ag.Client(backend, retry=retry, trace_configs=[trace]) as client:
        results = await asyncio.gather(*(worker(client, n) for n in range(50)))

    assert sum(results) == 500
    assert len(throttled_at) == len(received_429) == 1
    t429, seen = throttled_at[0], received_429[0]
    # the Client sent nothing from 50 ms after it received the 429 until 1 s after
    # the server answered it (requests already in flight may still arrive late)
    every_send = [t for times in sends.values() for t in times]
    sent = [t - seen for t in every_send if seen + 0.05 < t < t429 + 1.0]
    assert sent == [], f"the Client sent requests during the pause at {sent}"

    # server side: nothing arrived in the pause but requests sent before the 429
    def sent_before_429(path: str, arrived: float) -> bool:
        return max(t for t in sends[path] if t <= arrived) <= seen

    quiet = [
        t - t429
        for path, t in arrivals
        if t429 + 0.05 < t < t429 + 1.0 and not sent_before_429(path, t)
    ]
    assert quiet == [], f"requests arrived during the pause at {quiet}"
    assert len(arrivals) == 501  # 500 calls + the one retry
    assert sum(len(times) for times in sends.values()) == 501
    assert client.stats.retries == 1
    assert client.stats.throttled == 1
