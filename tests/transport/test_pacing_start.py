"""Pacing from the start of a bulk run: a few reads one at a time, then writes at once.

As ``plan_sync`` then ``apply`` do: the plan lists the group one request at a time,
then 16 writers start together. The server is a hidden token bucket (50/s, burst 10)
on the virtual clock, ``Retry-After`` in whole seconds, 10 ms each way (a little
more for some requests: arrival jitter). The client is the stack a Client builds.
"""

import asyncio
import math
import random
from typing import Any

from tests.transport.virtual_stack import paced_stack

import asyncgroups as ag
from asyncgroups.testing import TokenBucket
from asyncgroups.transport.base import Request, Response

LIMIT = 50.0
BURST = 10
WRITES = 1000
URL = "https://api.example.com/groups/1/members"


class Server:
    """An API with a hidden token bucket, answering after ``hop`` (+ jitter) each way."""

    def __init__(self, clock: Any, *, jitter: float, seed: int = 1) -> None:
        self.clock = clock
        self.bucket = TokenBucket(rate=LIMIT, capacity=BURST, clock=clock)
        self.jitter = jitter
        self.random = random.Random(seed)
        self.answers: list[tuple[float, int]] = []

    async def send(self, request: Request) -> Response:
        await asyncio.sleep(0.010 + self.random.uniform(0.0, self.jitter))
        wait = self.bucket.take()
        self.answers.append((self.clock(), 429 if wait else 200))
        await asyncio.sleep(0.010)
        if wait:
            ra = str(max(1, math.ceil(wait)))
            return Response(429, {"Retry-After": ra}, b"", request)
        return Response(200, {}, b"{}", request)

    async def aclose(self) -> None:
        return None

    @property
    def throttled(self) -> int:
        return sum(1 for _, status in self.answers if status == 429)


def bulk(
    virtual: Any, rate_limit: ag.RateLimit | None, *, jitter: float = 0.002
) -> tuple[Server, float, Any]:
    """Three reads one at a time, then ``WRITES`` requests 16 at once.

    Returns the server, the seconds from the first read to the last answer, and
    the client's adaptive rate.
    """

    async def main() -> tuple[Server, float, Any]:
        loop = asyncio.get_running_loop()
        api = Server(loop.time, jitter=jitter)
        stack = paced_stack(api, rate_limit)
        request = Request("GET", URL)
        await asyncio.sleep(0.5)  # the server's bucket is full
        started = loop.time()
        for _ in range(3):
            assert (await stack.send(request)).status == 200
        todo = iter(range(WRITES))

        async def writer() -> None:
            for _ in todo:
                assert (await stack.send(request)).status == 200  # retried to it

        await asyncio.gather(*(writer() for _ in range(16)))
        adaptive = stack._inner.limiter.state.adaptive  # type: ignore[attr-defined]
        return api, loop.time() - started, adaptive

    result: tuple[Server, float, Any] = virtual(main)
    return result


def test_a_client_configured_at_the_servers_limit_and_burst_draws_no_429(
    virtual: Any,
) -> None:
    # at exactly the server's rate and burst, the server's bucket would be
    # left no token in hand: any request arriving a little early is refused
    api, seconds, _ = bulk(virtual, ag.RateLimit(per_second=LIMIT, burst=BURST))
    assert api.throttled == 0
    assert seconds <= 1.01 * WRITES / LIMIT


def test_no_429_at_the_servers_limit_without_jitter_either(virtual: Any) -> None:
    rate_limit = ag.RateLimit(per_second=LIMIT, burst=BURST)
    api, _, _ = bulk(virtual, rate_limit, jitter=0.0)
    assert api.throttled == 0


def test_the_burst_counted_leaves_out_reads_sent_one_at_a_time(virtual: Any) -> None:
    _, seconds, adaptive = bulk(virtual, None)
    # the reads before the writers started got through on the server's refill,
    # not its burst: the burst is what the writers' first rush got through
    assert adaptive.burst_seen == BURST
    # the limit is measured from the first resume and held just below it
    assert 0.95 * LIMIT <= adaptive.rate <= LIMIT
    assert seconds <= 1.15 * WRITES / LIMIT, seconds  # 1.23 when the reads counted
