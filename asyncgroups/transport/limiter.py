"""The client-side limiter: token bucket, concurrency cap, the 429 gate, adaptive rate.

:class:`TokenBucket` and :class:`Gate` are pure logic on times passed in.
:class:`Limiter` combines them with a concurrency cap, the adaptive controller and
rate-limit headers; it takes an injectable clock and sleep, so tests can run it on a
virtual clock.

The bucket hands out reservations: a caller takes a token now and is told how long
to wait for it, so waiters are served in order, one ``1/rate`` apart, with no
thundering herd. The gate closes the whole Client after a 429 until ``Retry-After``
has passed; waiters then resume spread over a short random window.
"""

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from asyncgroups.config import RateLimit
from asyncgroups.transport.adaptive import AdaptiveRate
from asyncgroups.transport.ratelimit_headers import (
    SIGNAL_HEADERS,
    RateLimitInfo,
    parse_rate_limit_headers,
)
from asyncgroups.transport.retry_after import parse_retry_after

__all__ = ["DEFAULT_PAUSE", "Gate", "Limiter", "TokenBucket"]

#: Pause after a 429 without ``Retry-After``, in seconds.
DEFAULT_PAUSE = 1.0
#: Largest jitter window over which gate waiters are released, in seconds.
MAX_SPREAD = 2.0


class TokenBucket:
    """A token bucket handing out reservations.

    Args:
        rate: tokens added per second (``math.inf``: unlimited).
        capacity: the most tokens held (the burst).
        now: the current time.
    """

    __slots__ = ("capacity", "changed_at", "epoch", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now
        #: Bumped whenever the rate goes down: reservations made before are stale.
        self.epoch = 0
        self.changed_at = now

    def _refill(self, now: float) -> None:
        if math.isinf(self.rate):
            self.tokens = self.capacity
        elif now > self.stamp:
            self.tokens = min(
                self.capacity, self.tokens + (now - self.stamp) * self.rate
            )
        self.stamp = max(self.stamp, now)

    def reserve(self, now: float) -> float:
        """Take one token; return the seconds to wait before using it (0: at once)."""
        self._refill(now)
        self.tokens -= 1.0
        if self.tokens >= 0.0:
            return 0.0
        return -self.tokens / self.rate

    def stretch(self, reserved_at: float, reserved_rate: float, now: float) -> float:
        """Extra wait for a reservation made at ``reserved_rate`` if the rate fell since.

        The queue ahead of it now drains at the lower rate, so its remaining
        wait grows in proportion: waiters keep their order and stay spread out.
        """
        if self.rate >= reserved_rate or math.isinf(reserved_rate):
            return 0.0
        since = now - max(reserved_at, self.changed_at)
        return max(0.0, since * (reserved_rate / self.rate - 1.0))

    def set_rate(self, rate: float, now: float, capacity: float | None = None) -> None:
        """Change the rate (and capacity) from ``now`` on."""
        self._refill(now)
        if rate < self.rate:
            self.epoch += 1
            self.changed_at = now
        self.rate = rate
        if capacity is not None:
            self.capacity = capacity
            self.tokens = min(self.tokens, capacity)


class Gate:
    """Closed after a 429 until a point in time; then opens for everyone."""

    __slots__ = ("spread", "until")

    def __init__(self) -> None:
        self.until = -math.inf
        self.spread = 0.0

    def close(self, now: float, pause: float) -> None:
        """Keep everyone from sending for ``pause`` seconds from ``now``."""
        until = now + pause
        if until > self.until:
            self.until = until
            self.spread = min(MAX_SPREAD, max(0.05, 0.25 * pause))

    def remaining(self, now: float) -> float:
        """Seconds until the gate opens (<= 0: open)."""
        return self.until - now


class Limiter:
    """Everything that decides when a Client may send.

    Args:
        limit: rate, burst, concurrency cap and adaptive mode.
        clock: monotonic seconds.
        sleep: async sleep.
        rng: randomness for the gate's release jitter.
        default_pause: pause after a 429 without ``Retry-After``.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
        default_pause: float = DEFAULT_PAUSE,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311
        self._default_pause = default_pause
        self._semaphore = (
            asyncio.Semaphore(limit.max_concurrency)
            if limit.max_concurrency is not None
            else None
        )
        self.base_rate = limit.per_second if limit.per_second is not None else math.inf
        self.adaptive = AdaptiveRate(limit.per_second) if limit.adaptive else None
        self.gate = Gate()
        self.bucket = TokenBucket(
            self.base_rate, self._capacity(self.base_rate), clock()
        )
        self._header_rate = math.inf
        self._header_until = -math.inf
        self.in_flight = 0

    def _capacity(self, rate: float) -> float:
        if self.limit.burst is not None:
            return float(self.limit.burst)
        if math.isinf(rate):
            return 1.0
        if self.limit.per_second is not None:
            return float(min(self.limit.bucket_size, max(1, math.ceil(rate))))
        return float(max(1, math.ceil(rate)))

    @property
    def rate(self) -> float:
        """The rate in force now (``math.inf``: unlimited)."""
        return self.bucket.rate

    # -- admission -------------------------------------------------------------------

    def try_admit(self) -> bool:
        """Admit at once without waiting, if nothing can make this request wait."""
        if self._semaphore is not None or not math.isinf(self.bucket.rate):
            return False
        now = self._clock()
        if self.gate.until > now:
            return False
        if self.adaptive is not None:
            self.adaptive.sent(now)
        self.in_flight += 1
        return True

    async def acquire(self) -> None:
        """Wait until this request may be sent; pair with :meth:`release`."""
        semaphore = self._semaphore
        if semaphore is not None:
            await semaphore.acquire()
        try:
            await self._wait_gate()
            bucket = self.bucket
            epoch, rate, reserved_at = bucket.epoch, bucket.rate, self._clock()
            delay = bucket.reserve(reserved_at)
            if delay > 0.0:
                await self._sleep(delay)
                if bucket.epoch != epoch:  # the rate went down meanwhile
                    extra = bucket.stretch(reserved_at, rate, self._clock())
                    if extra > 0.0:
                        await self._sleep(extra)
                await self._wait_gate()
        except BaseException:
            if semaphore is not None:
                semaphore.release()
            raise
        if self.adaptive is not None:
            self.adaptive.sent(self._clock())
        self.in_flight += 1

    async def _wait_gate(self) -> None:
        gate = self.gate
        while (left := gate.remaining(self._clock())) > 0.0:
            await self._sleep(left + self._rng.uniform(0.0, gate.spread))

    def release(self) -> None:
        """The request finished (answered or failed)."""
        self.in_flight -= 1
        if self._semaphore is not None:
            self._semaphore.release()

    # -- feedback ----------------------------------------------------------------------

    def observe(
        self, status: int, headers: Mapping[str, str], sent_at: float | None = None
    ) -> None:
        """Learn from one answer: a 429 closes the gate; headers may slow us down.

        Args:
            status: the answer's status.
            headers: its headers, names lower-cased.
            sent_at: when the request was sent (by this limiter's clock).
        """
        if status == 429:
            self.throttled(parse_retry_after(headers.get("retry-after")), sent_at)
        elif self.adaptive is not None and self.adaptive.throttled:
            now = self._clock()
            self.adaptive.on_success(now)
            self._apply_rate(now)
        elif self._header_until > -math.inf:
            self._apply_rate(self._clock())
        if not SIGNAL_HEADERS.isdisjoint(headers):
            info = parse_rate_limit_headers(headers)
            if info is not None:
                self.budget(info)

    def throttled(
        self, retry_after: float | None, sent_at: float | None = None
    ) -> None:
        """A 429 arrived: close the gate and, if adaptive, lower the rate."""
        now = self._clock()
        pause = retry_after if retry_after is not None else self._default_pause
        self.gate.close(now, pause)
        if self.adaptive is not None:
            self.adaptive.on_throttle(now, sent_at)
            self._apply_rate(now)

    def budget(self, info: RateLimitInfo) -> None:
        """The server reported its remaining budget: pace it when low, stop at 0."""
        if info.reset <= 0:
            return
        now = self._clock()
        low = max(1.0, 0.1 * info.limit) if info.limit else 1.0
        if info.remaining <= 0:
            self.gate.close(now, info.reset)
        elif info.remaining <= low:
            self._header_rate = info.remaining / info.reset
            self._header_until = now + info.reset
            self._apply_rate(now)

    def _apply_rate(self, now: float) -> None:
        rate = self.adaptive.rate if self.adaptive is not None else self.base_rate
        if now < self._header_until:
            rate = min(rate, self._header_rate)
        else:
            self._header_until = -math.inf
            self._header_rate = math.inf
        if rate != self.bucket.rate:
            self.bucket.set_rate(rate, now, self._capacity(rate))
