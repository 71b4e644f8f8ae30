"""A shared limit stays within its bound when Redis dies and comes back.

One process's view, step by step: the limiter's own clock is virtual, Redis is a
private redis-server killed and restarted empty. The four-process run with wall
clock figures is ``benchmarks/shared_limit_failover.py``.
"""

from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.transport.bucket import Reservation
from asyncgroups.transport.redis_store import RedisState

pytestmark = pytest.mark.timeout(60)

RATE, BURST, PROCESSES = 40.0, 5, 4
SHARE = RATE / PROCESSES  # each process's local rate while Redis is away
RETRY = 1.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def open_state(url: str, prefix: str, clock: Clock) -> RedisState:
    store = ag.RedisStore(
        url,
        key_prefix=prefix,
        expected_processes=PROCESSES,
        timeout=0.5,
        retry_interval=RETRY,
    )
    state = store.open(ag.RateLimit(per_second=RATE, burst=BURST), clock=clock)
    assert isinstance(state, RedisState)
    return state


async def reserve_shared(state: RedisState, clock: Clock) -> Reservation:
    """Reserve until Redis answers (a restarted server drops the old connection)."""
    for _ in range(5):
        reservation = await state.reserve(clock.now)
        if reservation.shared:
            return reservation
        clock.now += RETRY  # Redis is asked again once the retry interval passed
    raise AssertionError("Redis never answered")


async def test_failover_starts_the_local_share_empty_and_in_debt(
    restartable_redis: Any, key_prefix: str
) -> None:
    clock = Clock()
    state = open_state(restartable_redis.url, key_prefix, clock)
    try:
        granted = [await state.reserve(clock.now) for _ in range(2 * BURST)]
        assert all(r.shared for r in granted)
        due = max(r.delay for r in granted)  # the last shared token: ~5 / 40 s ahead
        assert due > 0.1
        restartable_redis.kill()
        # Redis is away: reservations due within 5 s of the failover, from here
        local: list[Reservation] = []
        while not local or local[-1].delay <= 5.0:
            local.append(await state.reserve(clock.now))
        assert not any(r.shared for r in local[:-1])
        # Never a full local burst: the first local token comes after the shared
        # ones already granted, then one per 1 / SHARE s (before: 5 at once).
        assert local[0].delay >= due + 1 / SHARE - 0.01
        in_5s = len(local) - 1
        assert in_5s <= SHARE * (5.0 - due)  # 10/s after the debt (before: 55)
        # a shared token given back while Redis is away is not spent again locally
        tokens = state.local.bucket.tokens
        await state.refund(granted[-1])
        assert state.local.bucket.tokens == tokens
    finally:
        await state.aclose()


async def test_a_restarted_redis_is_not_taken_as_full(
    restartable_redis: Any, key_prefix: str
) -> None:
    clock = Clock()
    state = open_state(restartable_redis.url, key_prefix, clock)
    try:
        assert (await state.reserve(clock.now)).shared
        restartable_redis.kill()
        backlog = [await state.reserve(clock.now) for _ in range(5)]
        assert not any(r.shared for r in backlog)
        restartable_redis.start()  # empty: the shared bucket is gone
        clock.now += RETRY
        back = await reserve_shared(state, clock)
        # Others may still spend local shares for up to one retry interval, and
        # this process's local tokens are still due: the new bucket waits that
        # long (before: a full bucket, delay 0).
        local_left = max(r.at + r.delay for r in backlog) - back.at
        assert back.delay >= RETRY + max(0.0, local_left) - 0.05
        # a process that never lost Redis starts a new limit with its full burst,
        # less the reserve an adaptive limiter keeps in hand, as a local one does
        fresh = open_state(restartable_redis.url, key_prefix + ":new", Clock())
        try:
            burst = int(fresh.capacity)
            assert fresh.capacity == fresh.local.bucket.capacity
            assert 1 <= burst < BURST
            first = [await fresh.reserve(0.0) for _ in range(burst + 1)]
            assert [r.delay for r in first[:burst]] == [0.0] * burst
            assert first[burst].delay > 0
        finally:
            await fresh.aclose()
    finally:
        await state.aclose()
