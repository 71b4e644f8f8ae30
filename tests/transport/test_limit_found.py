"""The limit measured at a 429 when stray 429s hold requests, on the virtual clock.

A server allows 200 requests/s with a burst of 1 (a request 1 ms too early is
refused) and refuses 5 % of requests at random whatever the rate, with
``Retry-After: 1`` or none; 16 requests in flight, the Client's defaults. Every
request a 429 answered waits a second before it is sent again, so when a probe
above the limit brings a run of 429s most of the 16 are held at once and the
sends stop short of the limit just before the 429 that lowers the rate: what got
through over the spans ending at that 429 understates the limit, and the rate was
held far below it (0.48 of the limit over a minute).
"""

import asyncio
import math
import random
from typing import Any

import pytest
from tests.transport.virtual_stack import paced_stack

from asyncgroups.testing import TokenBucket
from asyncgroups.transport.adaptive import AdaptiveRate
from asyncgroups.transport.base import Request, Response

LIMIT = 200.0
RUN = 60.0
URL = "https://api.example.com/groups/1"


class Server:
    """A hidden token bucket of burst 1 and 5 % of requests refused at random."""

    def __init__(self, clock: Any, retry_after: bool) -> None:
        self.clock = clock
        self.retry_after = retry_after
        self.bucket = TokenBucket(rate=LIMIT, capacity=1, clock=clock)
        self.random = random.Random(1)
        self.answers: list[tuple[float, int]] = []

    async def send(self, request: Request) -> Response:
        await asyncio.sleep(0.001)
        now = self.clock()
        # 5 % refused whatever the rate, taking no token
        wait = 1.0 if self.random.random() < 0.05 else self.bucket.take()
        self.answers.append((now, 429 if wait else 200))
        await asyncio.sleep(0.001)
        if not wait:
            return Response(200, {}, b"{}", request)
        headers = {"Retry-After": str(math.ceil(wait))} if self.retry_after else {}
        return Response(429, headers, b"", request)

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize("retry_after", [True, False], ids=["integer", "absent"])
def test_stray_429s_at_a_high_rate_with_no_burst_keep_over_half_the_limit(
    virtual: Any, retry_after: bool
) -> None:
    async def main() -> Server:
        loop = asyncio.get_running_loop()
        api = Server(loop.time, retry_after)
        stack = paced_stack(api, None)
        request = Request("GET", URL)

        async def worker() -> None:
            while loop.time() < RUN:
                await stack.send(request)

        await asyncio.gather(*(worker() for _ in range(16)))
        return api

    api: Server = virtual(main)
    ok = sum(1 for t, status in api.answers if status == 200 and t < RUN)
    # 0.48 (integer) and 0.58 (absent) when only the spans ending at the 429
    # counted, the second once a measure above the rate in force could raise it
    assert ok / (LIMIT * RUN) >= 0.6, ok / (LIMIT * RUN)


def _lowered(rate: AdaptiveRate) -> float:
    """16 sent at once, 1 through (burst 1), a pause of 1 s; returns its end."""
    for _ in range(16):
        rate.sent(0.0)
    rate.on_success(0.002)
    rate.on_throttle(0.002, 0.0)
    rate.paused(1.0)
    return 1.0


def test_the_most_that_got_through_in_a_window_is_a_floor_under_the_limit() -> None:
    rate = AdaptiveRate(None)
    t = _lowered(rate)
    ok = 0
    while t < 3.0:  # 190/s sent, all through: the limit is at least that
        rate.sent(t)
        rate.on_success(t + 0.002)
        ok += 1
        t += 1 / 190
    t += 0.6  # nothing sent (every request held for a Retry-After), then a 429
    # over every span ending now, what got through reads as ~170/s at most;
    # any half second before read 190/s
    assert rate.limit_found(t) >= 0.97 * 190


def test_a_429_never_raises_the_rate() -> None:
    rate = AdaptiveRate(None)
    t = _lowered(rate)
    while t < 3.0:  # paced at the rate in force, every request through
        rate.sent(t)
        rate.on_success(t + 0.002)
        t += 1 / rate.rate
    for k in range(30):  # just above the limit: every other request refused
        rate.sent(t)
        if k % 2:
            rate.on_success(t + 0.002)
        t += 1 / rate.rate
    in_force = rate.rate
    # what got through in the best window, counted in sends (refused ones took
    # no share of it, as if stray), reads above the rate in force: a 429 about
    # rate still lowers it
    assert rate.on_throttle(t, t - 0.002) < in_force
