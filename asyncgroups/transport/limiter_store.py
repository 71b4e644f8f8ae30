"""Where a limiter's state lives: the `LimiterStore` Protocol and `MemoryStore`.

A store is configuration (``RateLimit(store=...)``): it may be shared by many
Clients, and ``open()`` makes the state of one Client's limiter. The state holds
what every sender sharing a limit must agree on: the token bucket, the 429 gate
(a pause-until) and the adaptive rate. `MemoryStore` keeps it in this
process (the default); `RedisStore`
keeps it in Redis, shared by processes and machines.

Feedback (a 429, a rate-limit header) is recorded synchronously so it takes effect
in this process at once; a shared store publishes it in the background and
[`LimiterState.flush`][asyncgroups.transport.limiter_store.LimiterState.flush] waits for
that. This module performs no I/O.
"""

import hashlib
import math
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlsplit

from asyncgroups import _redact
from asyncgroups.config import RateLimit
from asyncgroups.transport.adaptive import AdaptiveRate
from asyncgroups.transport.bucket import Gate, Reservation, TokenBucket

__all__ = [
    "LimiterState",
    "LimiterStore",
    "MemoryState",
    "MemoryStore",
    "request_identity",
]


@runtime_checkable
class LimiterState(Protocol):
    """The state of one limiter: bucket, 429 gate and adaptive rate.

    ``now`` is the limiter's clock; a shared store may keep its own time (Redis's)
    for what it shares, so that hosts need not agree on their clocks. These are all
    the members a [`Limiter`][asyncgroups.transport.limiter.Limiter] uses.
    """

    @property
    def shared(self) -> bool:
        """Whether other processes see this state (feedback needs a `flush`)."""
        ...

    @property
    def requeue_after_gate(self) -> bool:
        """Whether a token taken before a 429 pause must be taken again after it."""
        ...

    @property
    def wants_success(self) -> bool:
        """Whether `succeeded` has anything to do (else it may be skipped)."""
        ...

    @property
    def rate(self) -> float:
        """The rate in force now (``math.inf``: unlimited)."""
        ...

    @property
    def local_gate(self) -> Gate:
        """This process's view of the 429 gate."""
        ...

    def take_now(self, now: float) -> bool:
        """Take a token without waiting or asking anyone, if the gate is open.

        Returns:
            Whether one was taken; if not, the limiter waits at
            [`gate`][asyncgroups.transport.limiter_store.LimiterState.gate] and
            [`reserve`][asyncgroups.transport.limiter_store.LimiterState.reserve]
            instead.
        """
        ...

    async def gate(self, now: float) -> tuple[float, float]:
        """Seconds until the 429 gate opens (<= 0: open) and the release spread."""
        ...

    async def reserve(self, now: float) -> Reservation:
        """Take one token from the bucket."""
        ...

    async def extra_wait(self, reservation: Reservation, now: float) -> float:
        """More seconds to wait for ``reservation`` because the rate fell since."""
        ...

    async def refund(self, reservation: Reservation) -> None:
        """Give back a token that was never used (its waiter gave up)."""
        ...

    def sent(self, now: float) -> None:
        """One request was sent (the adaptive meter)."""
        ...

    def close_gate(self, now: float, pause: float) -> None:
        """Nobody sends for ``pause`` seconds."""
        ...

    def slow_down(
        self, now: float, sent_at: float | None, deep: bool = False, burst: int = 0
    ) -> None:
        """A 429 arrived: if adaptive, lower the rate (``deep``: to half).

        ``burst``: what the server let through at once before its first 429, if
        known (0: not known).
        """
        ...

    def succeeded(self, now: float) -> None:
        """A non-429 answer arrived: if adaptive and lowered, recover."""
        ...

    def undo(self, now: float, decreases: int) -> None:
        """Take back the last ``decreases`` decreases: their 429s proved stray."""
        ...

    def cap(self, rate: float, until: float, now: float) -> None:
        """Hold the rate at or below ``rate`` until ``until`` (rate-limit headers)."""
        ...

    async def flush(self) -> None:
        """Wait until recorded feedback is visible to every sharer."""
        ...

    async def aclose(self) -> None:
        """Release connections; idempotent."""
        ...


@runtime_checkable
class LimiterStore(Protocol):
    """Makes limiter state; ``RateLimit(store=...)`` takes one."""

    def open(
        self,
        limit: RateLimit,
        *,
        identity: str,
        clock: Callable[[], float],
    ) -> LimiterState:
        """The state of one limiter for ``limit``.

        Args:
            limit: the rate limit.
            identity: a secret-free name of what is limited (backend, host,
                credential hash); senders with the same identity share state.
            clock: the limiter's monotonic clock.
        """
        ...


#: The share of a configured burst an adaptive limiter keeps in hand (see `bucket_capacity`).
BURST_RESERVE = 0.5


def bucket_capacity(limit: RateLimit, rate: float) -> float:
    if limit.burst is not None:
        if limit.adaptive and limit.burst >= 2:
            # A client at exactly the server's rate and burst leaves the
            # server's bucket no token in hand once the burst is spent: a
            # request that arrives a little early (jitter in either process's
            # event loop) draws a 429 and a whole-second pause of the Client.
            # Half the burst kept unspent absorbs burst / (2 * rate) seconds of
            # it (100 ms at 50/s, burst 10) for burst / (2 * rate) seconds
            # less of a head start; bulk_sync.py: see benchmarks/README.md, row 4.
            reserve = max(1, int(BURST_RESERVE * limit.burst))
            return float(limit.burst - reserve)
        return float(limit.burst)
    if math.isinf(rate) or limit.adaptive:
        return 1.0  # an adaptive rate is paced: no burst the server may refuse
    if limit.per_second is not None:
        return float(min(limit.bucket_size, max(1, math.ceil(rate))))
    return float(max(1, math.ceil(rate)))


def shared_capacity(limit: RateLimit, rate: float) -> float:
    """The capacity of a bucket shared by several processes (a `LimiterStore`).

    A configured burst keeps the same reserve in hand as `bucket_capacity`;
    without one, the whole `RateLimit.bucket_size` is shared.
    """
    if limit.burst is not None:
        return bucket_capacity(limit, rate)
    return float(limit.bucket_size)


class MemoryState:
    """Limiter state in this process: a `TokenBucket`, a `Gate`, adaptive.

    Args:
        limit: the rate limit.
        now: the current time.
        base_rate: the configured rate (default ``limit.per_second``); a shared
            store's fallback passes its share.
    """

    __slots__ = (
        "_cap_rate",
        "_cap_until",
        "adaptive",
        "base_rate",
        "bucket",
        "gate_state",
        "limit",
        "wants_success",
    )

    shared = False
    requeue_after_gate = True  # the bucket forgives tokens taken before a pause

    def __init__(
        self, limit: RateLimit, now: float, base_rate: float | None = None
    ) -> None:
        self.limit = limit
        if base_rate is None:
            base_rate = limit.per_second if limit.per_second is not None else math.inf
        self.base_rate = base_rate
        ceiling = None if math.isinf(base_rate) else base_rate
        self.adaptive = AdaptiveRate(ceiling) if limit.adaptive else None
        self.gate_state = Gate()
        self.bucket = TokenBucket(base_rate, bucket_capacity(limit, base_rate), now)
        self._cap_rate = math.inf
        self._cap_until = -math.inf
        #: Whether `succeeded` has anything to do (adaptive, or a header cap
        #: to expire); when not, a limiter may skip calling it.
        self.wants_success = self.adaptive is not None

    @property
    def rate(self) -> float:
        """The rate in force now."""
        return self.bucket.rate

    @property
    def local_gate(self) -> Gate:
        """The gate."""
        return self.gate_state

    def take_now(self, now: float) -> bool:
        """The gate open and a token in the bucket (taken)."""
        return self.gate_state.until <= now and self.bucket.take(now)

    async def gate(self, now: float) -> tuple[float, float]:
        """Seconds until the gate opens, and the release spread."""
        return self.gate_state.remaining(now), self.gate_state.spread

    async def reserve(self, now: float) -> Reservation:
        """Take a token."""
        bucket = self.bucket
        epoch, rate = bucket.epoch, bucket.rate
        return Reservation(bucket.reserve(now), now, rate, epoch)

    async def extra_wait(self, reservation: Reservation, now: float) -> float:
        """Stretch a reservation made before the rate went down."""
        if self.bucket.epoch == reservation.epoch:
            return 0.0
        return self.bucket.stretch(reservation.at, reservation.rate, now)

    async def refund(self, reservation: Reservation) -> None:
        """Give the token back, up to the bucket's capacity."""
        self.bucket.refund()

    def sent(self, now: float) -> None:
        """Feed the adaptive meter."""
        if self.adaptive is not None:
            self.adaptive.sent(now)

    def close_gate(self, now: float, pause: float) -> None:
        """Close the gate; the bucket banks nothing while it is closed."""
        gate = self.gate_state
        gate.close(now, pause)
        self.bucket.hold(gate.until, now)
        if self.adaptive is not None:
            self.adaptive.paused(gate.until)

    def slow_down(
        self, now: float, sent_at: float | None, deep: bool = False, burst: int = 0
    ) -> None:
        """Multiplicative decrease, if adaptive (``deep``: to half)."""
        if self.adaptive is not None:
            self.adaptive.on_throttle(now, sent_at, deep, burst)
            self._apply_rate(now)

    def succeeded(self, now: float) -> None:
        """Recovery, if adaptive and lowered; expire a header cap."""
        adaptive = self.adaptive
        if adaptive is not None:
            adaptive.on_success(now)  # unlowered, it counts what got through
            if adaptive.lowered:
                self._apply_rate(now)
                return
        if self._cap_until > -math.inf:
            self._apply_rate(now)

    def undo(self, now: float, decreases: int) -> None:
        """Take back the last ``decreases`` adaptive decreases."""
        if self.adaptive is not None:
            self.adaptive.undo(decreases, now)
            self._apply_rate(now)

    def cap(self, rate: float, until: float, now: float) -> None:
        """Hold the rate at or below ``rate`` until ``until``."""
        self._cap_rate = rate
        self._cap_until = until
        self.wants_success = True
        self._apply_rate(now)

    def _apply_rate(self, now: float) -> None:
        rate = self.adaptive.rate if self.adaptive is not None else self.base_rate
        if now < self._cap_until:
            rate = min(rate, self._cap_rate)
        else:
            self._cap_until = -math.inf
            self._cap_rate = math.inf
            self.wants_success = self.adaptive is not None
        capacity = bucket_capacity(self.limit, rate)
        if self.adaptive is not None and self.adaptive.lowered:
            capacity = 1.0  # throttled once: paced from then on, no burst
        if rate != self.bucket.rate or capacity != self.bucket.capacity:
            self.bucket.set_rate(rate, now, capacity)

    async def flush(self) -> None:
        """Nothing to publish."""

    async def aclose(self) -> None:
        """Nothing to release."""


class MemoryStore:
    """Limiter state in process memory (the default): one Client, one limit."""

    def open(
        self,
        limit: RateLimit,
        *,
        identity: str = "",
        clock: Callable[[], float],
    ) -> MemoryState:
        """A fresh in-memory state."""
        return MemoryState(limit, clock())

    def __repr__(self) -> str:
        return "MemoryStore()"


def request_identity(url: str, headers: Mapping[str, str], backend: str = "") -> str:
    """A secret-free name for what a request is limited as: origin and credential hash.

    Senders that reach the same origin with the same credentials (headers, user
    info, query tokens) share a limit; the credentials appear only as a truncated
    SHA-256.
    """
    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    origin = f"{parts.scheme}://{host}".lower()
    secrets = sorted(
        f"{name.lower()}={value}"
        for name, value in headers.items()
        if name.lower() in _redact.SENSITIVE_HEADERS
    )
    secrets += sorted(
        f"?{name.lower()}={value}"
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() in _redact.SENSITIVE_QUERY
    )
    if userinfo:
        secrets.append(f"@{userinfo}")
    digest = hashlib.sha256("\n".join([backend, origin, *secrets]).encode())
    return digest.hexdigest()[:24]
