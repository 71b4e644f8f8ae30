"""Adaptive rate on a virtual clock against a simulated server with a hidden limit."""

import asyncio
import random
from typing import Any

import asyncgroups as ag
from asyncgroups.testing import TokenBucket
from asyncgroups.transport import (
    RateLimitedTransport,
    Request,
    Response,
    RetryingTransport,
)
from asyncgroups.transport.adaptive import AdaptiveRate

SERVER_LIMIT = 50.0
RUN = 120.0


class SimulatedServer:
    """An in-process API with a token bucket on the same (virtual) clock."""

    def __init__(self, clock: Any, rate: float, burst: int) -> None:
        self.clock = clock
        self.bucket = TokenBucket(rate=rate, capacity=burst, clock=clock)
        self.ok: list[float] = []
        self.throttled: list[float] = []

    async def send(self, request: Request) -> Response:
        await asyncio.sleep(0.01)  # the request travels
        wait = self.bucket.take()
        now = self.clock()
        await asyncio.sleep(0.01)  # the answer travels
        if wait:
            self.throttled.append(now)
            return Response(429, {"Retry-After": f"{wait:.3f}"}, b"", request)
        self.ok.append(now)
        return Response(200, {}, b"{}", request)

    async def aclose(self) -> None:
        return None


def test_adaptive_rate_converges_on_the_servers_hidden_limit(virtual: Any) -> None:
    async def main() -> SimulatedServer:
        loop = asyncio.get_running_loop()
        server = SimulatedServer(loop.time, SERVER_LIMIT, burst=10)
        limit = ag.RateLimit(per_second=4 * SERVER_LIMIT, adaptive=True)
        limited = RateLimitedTransport(
            server, limit, clock=loop.time, rng=random.Random(5)
        )
        transport = RetryingTransport(
            limited,
            ag.RetryPolicy(base_delay=0.05, max_delay=1.0, deadline=None, budget=None),
            clock=loop.time,
            rng=random.Random(6),
        )
        request = Request("GET", "https://api.example.com/groups")

        async def worker() -> None:
            while loop.time() < RUN:
                response = await transport.send(request)
                assert response.status == 200

        await asyncio.gather(*(worker() for _ in range(32)))
        return server

    server = virtual(main)
    half = RUN / 2
    ok = [t for t in server.ok if half <= t < RUN]
    throttled = [t for t in server.throttled if half <= t < RUN]
    achieved = len(ok) / half
    assert abs(achieved - SERVER_LIMIT) <= 0.15 * SERVER_LIMIT, achieved
    assert len(throttled) / (len(ok) + len(throttled)) < 0.05, len(throttled)


def test_unlimited_adaptive_starts_unlimited_and_learns() -> None:
    rate = AdaptiveRate(None)
    assert rate.rate == float("inf")
    for i in range(100):
        rate.sent(i / 100)  # 100 requests in one second
    assert rate.on_throttle(1.0) == 70.0  # beta * measured
    assert rate.on_throttle(1.01, sent_at=0.99) == 70.0  # same burst: one decrease
    early = rate.on_success(1.5)
    assert 70.0 < early < 100.0  # CUBIC recovery towards w_max
    for i in range(100):
        rate.sent(3.0 + i / 100)
    assert rate.on_success(4.0) > early
