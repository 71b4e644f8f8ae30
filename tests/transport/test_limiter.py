"""The limiter on a virtual clock: bucket, concurrency cap, gate, headers."""

import asyncio
import itertools
import math
import random
from typing import Any

import asyncgroups as ag
from asyncgroups.transport.bucket import Gate, TokenBucket
from asyncgroups.transport.headers import parse_rate_limit_headers
from asyncgroups.transport.limiter import Limiter


def test_bucket_admits_burst_plus_rate_times_time_with_a_concurrency_cap(
    virtual: Any,
) -> None:
    admitted: list[float] = []
    peak = 0

    async def main() -> None:
        nonlocal peak
        loop = asyncio.get_running_loop()
        limit = ag.RateLimit(per_second=50, burst=10, max_concurrency=8, adaptive=False)
        limiter = Limiter(limit, clock=loop.time, rng=random.Random(1))

        async def task() -> None:
            nonlocal peak
            while loop.time() < 10.0:
                await limiter.acquire()
                try:
                    if loop.time() <= 10.0:
                        admitted.append(loop.time())
                    peak = max(peak, limiter.in_flight)
                    await asyncio.sleep(0.1)  # the request takes 100 ms
                finally:
                    limiter.release()

        await asyncio.gather(*(task() for _ in range(64)))

    virtual(main)
    assert abs(len(admitted) - 510) <= 1
    assert peak == 8
    # after the burst, admissions are paced one every 20 ms
    gaps = [b - a for a, b in itertools.pairwise(admitted[20:])]
    assert min(gaps) >= 0.02 - 1e-9


def test_token_bucket_reservations_are_spaced_by_the_rate() -> None:
    bucket = TokenBucket(rate=10.0, capacity=2.0, now=0.0)
    delays = [bucket.reserve(0.0) for _ in range(5)]
    assert delays == [0.0, 0.0, 0.1, 0.2, 0.30000000000000004] or all(
        math.isclose(d, e)
        for d, e in zip(delays, [0.0, 0.0, 0.1, 0.2, 0.3], strict=True)
    )
    unlimited = TokenBucket(rate=math.inf, capacity=1.0, now=0.0)
    assert all(unlimited.reserve(0.0) == 0.0 for _ in range(100))


def test_gate_releases_waiters_after_the_pause_spread_with_jitter(virtual: Any) -> None:
    resumed: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        limiter = Limiter(ag.RateLimit(), clock=loop.time, rng=random.Random(3))
        limiter.observe(429, {"retry-after": "2"})

        async def task() -> None:
            await limiter.acquire()
            resumed.append(loop.time())
            limiter.release()

        await asyncio.gather(*(task() for _ in range(50)))

    virtual(main)
    assert min(resumed) >= 2.0
    assert max(resumed) <= 2.0 + 0.5 + 1e-9  # spread window: a quarter of the pause
    assert max(resumed) - min(resumed) > 0.3  # not a thundering herd
    assert len(set(resumed)) > 40


def test_gate_without_retry_after_pauses_a_default_second() -> None:
    gate = Gate()
    gate.close(10.0, 1.0)
    gate.close(10.5, 0.2)  # a shorter pause never shortens the gate
    assert gate.remaining(10.0) == 1.0
    limiter = Limiter(ag.RateLimit(), clock=lambda: 5.0)
    limiter.observe(429, {})
    assert limiter.gate.remaining(5.0) == 1.0


def test_low_remaining_header_paces_the_rest_until_reset() -> None:
    now = [0.0]
    limiter = Limiter(ag.RateLimit(per_second=100), clock=lambda: now[0])
    limiter.observe(
        200,
        {
            "x-ratelimit-limit": "100",
            "x-ratelimit-remaining": "50",
            "x-ratelimit-reset": "10",
        },
    )
    assert limiter.rate == 100  # plenty left
    limiter.observe(
        200,
        {"ratelimit-limit": "100", "ratelimit-remaining": "5", "ratelimit-reset": "10"},
    )
    assert limiter.rate == 0.5  # 5 left over 10 s
    now[0] = 11.0
    limiter.observe(200, {})
    assert limiter.rate == 100  # the window reset
    limiter.observe(
        200,
        {
            "x-rate-limit-limit": "600",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": "30",
        },
    )
    assert limiter.gate.remaining(11.0) == 30.0  # nothing left: wait for the reset


def test_rate_limit_header_families() -> None:
    wall = 1_700_000_000.0
    okta = parse_rate_limit_headers(
        {
            "x-rate-limit-limit": "600",
            "x-rate-limit-remaining": "3",
            "x-rate-limit-reset": str(int(wall) + 20),
        },
        now=wall,
    )
    assert okta is not None
    assert (okta.limit, okta.remaining, okta.reset) == (600, 3, 20)
    ietf = parse_rate_limit_headers(
        {
            "ratelimit-remaining": "9",
            "ratelimit-reset": "4",
            "ratelimit-policy": "100;w=60",
        },
        now=wall,
    )
    assert ietf is not None
    assert (ietf.limit, ietf.remaining, ietf.reset) == (100, 9, 4)
    combined = parse_rate_limit_headers({"ratelimit": '"default";r=2;t=7'}, now=wall)
    assert combined is not None
    assert (combined.remaining, combined.reset) == (2, 7)
    assert parse_rate_limit_headers({"x-ratelimit-remaining": "oops"}, now=wall) is None
    assert parse_rate_limit_headers({}, now=wall) is None


def test_cancelled_waiters_give_their_tokens_back(virtual: Any) -> None:
    waited = 0.0

    async def main() -> None:
        nonlocal waited
        loop = asyncio.get_running_loop()
        limiter = Limiter(ag.RateLimit(per_second=10, burst=1), clock=loop.time)
        await limiter.acquire()  # the burst token
        limiter.release()
        waiters = [asyncio.create_task(limiter.acquire()) for _ in range(100)]
        await asyncio.sleep(0.05)
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        assert limiter.in_flight == 0
        started = loop.time()
        await limiter.acquire()  # nothing in flight, nobody queued
        waited = loop.time() - started
        limiter.release()

    virtual(main)
    assert waited <= 0.1 + 1e-9  # at most one token's wait, not 100 tokens' (~10 s)


def test_a_token_wait_longer_than_max_wait_fails_at_once(virtual: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        limit = ag.RateLimit(per_second=1, burst=1)
        limiter = Limiter(limit, clock=loop.time, max_wait=2.5)
        for _ in range(3):  # the burst token, then waits of 1 s and 2 s
            await limiter.acquire()
            limiter.release()
        assert loop.time() == 2.0
        waiters = [asyncio.create_task(limiter.acquire()) for _ in range(3)]
        await asyncio.sleep(0)
        # waits of 1 s and 2 s are within max_wait; a third would wait 3 s
        done, _ = await asyncio.wait(waiters, timeout=0.01)
        assert [w for w in done if w.exception() is not None] == [waiters[2]]
        error = waiters[2].exception()
        assert isinstance(error, ag.RateLimitedError)
        assert error.retry_after == 3.0
        assert "longer than the 2.5 s it may still wait" in str(error)
        await asyncio.gather(*waiters[:2])
        assert loop.time() == 4.0
        for _ in range(2):
            limiter.release()
        # the refused request gave its token back: the next one waits 1 s, not 2 s
        await limiter.acquire()
        limiter.release()
        assert loop.time() == 5.0

    virtual(main)
