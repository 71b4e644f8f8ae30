"""The shared 429 gate, seen from the server: after a 429 the whole Client pauses."""

import asyncio
import time
from typing import Any

from aiohttp import web

import asyncgroups as ag


async def test_one_429_pauses_every_task_of_the_client(serve: Any, toy: Any) -> None:
    arrivals: list[float] = []
    throttled_at: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        if len(arrivals) == 100:
            throttled_at.append(time.monotonic())
            return web.json_response(
                {"message": "slow down"}, status=429, headers={"Retry-After": "1"}
            )
        gid = request.match_info["tail"].rsplit("/", 1)[-1]
        return web.json_response({"id": gid, "name": f"group {gid}"})

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

    async with ag.Client(backend, retry=retry) as client:
        results = await asyncio.gather(*(worker(client, n) for n in range(50)))

    assert sum(results) == 500
    assert len(throttled_at) == 1
    t429 = throttled_at[0]
    quiet = [t - t429 for t in arrivals if t429 + 0.05 < t < t429 + 1.0]
    assert quiet == [], f"requests arrived during the pause at {quiet}"
    assert len(arrivals) == 501  # 500 calls + the one retry
    assert client.stats.retries == 1
    assert client.stats.throttled == 1
