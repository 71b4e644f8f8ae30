"""The token bucket and the 429 gate: the two clocks a limiter's state is made of.

Pure logic on an injected time; no I/O. `limiter_store` keeps them (in
memory, or mirrored from a shared store).
"""

import math
from typing import NamedTuple

from attrs import frozen

__all__ = [
    "GATE_NEWS",
    "MAX_SPREAD",
    "Gate",
    "GateClosed",
    "Reservation",
    "TokenBucket",
    "gate_news",
    "gate_spread",
]

#: A closed gate pushed back by at least this many seconds is news again.
GATE_NEWS = 1.0

#: Largest jitter window over which gate waiters are released, in seconds.
MAX_SPREAD = 2.0


def gate_spread(pause: float) -> float:
    """The window over which waiters resume after a pause of ``pause`` seconds."""
    return min(MAX_SPREAD, max(0.05, 0.25 * pause))


class TokenBucket:
    """A token bucket handing out reservations.

    Args:
        rate: tokens added per second (``math.inf``: unlimited).
        capacity: the most tokens held (the burst).
        now: the current time.
    """

    __slots__ = (
        "capacity",
        "changed_at",
        "epoch",
        "last_at",
        "rate",
        "stamp",
        "tokens",
    )

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now
        #: Bumped whenever the rate goes down: reservations made before are stale.
        self.epoch = 0
        self.changed_at = now
        #: When the last token promised ahead of time is to be used.
        self.last_at = -math.inf

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last call (up to capacity)."""
        if math.isinf(self.rate):
            self.tokens = self.capacity
        elif now > self.stamp:
            self.tokens = min(
                self.capacity, self.tokens + (now - self.stamp) * self.rate
            )
        self.stamp = max(self.stamp, now)

    def take(self, now: float) -> bool:
        """Take one token if one is there now; whether it was."""
        if self.rate == math.inf:
            return True
        self.refill(now)
        if self.tokens >= 1.0 and now >= self.last_at + 1.0 / self.rate:
            self.tokens -= 1.0
            return True
        return False

    def reserve(self, now: float) -> float:
        """Take one token; return the seconds to wait before using it (0: at once).

        Waiters are served in order, one ``1 / rate`` apart: a token promised
        at a lower rate is not overtaken by one taken after the rate went up
        (which would then go out together with it).
        """
        self.refill(now)
        self.tokens -= 1.0
        if math.isinf(self.rate):
            return 0.0
        wait = max(0.0, -self.tokens / self.rate, self.last_at + 1.0 / self.rate - now)
        if wait > 0.0:
            self.last_at = now + wait
        return wait

    def hold(self, until: float, now: float) -> None:
        """Bank nothing until ``until`` (a 429 pause): resume paced, not in a burst.

        Tokens earned before ``now`` are dropped and none are earned during the
        pause, so the first request after it waits ``1 / rate`` like every other
        one. Reservations handed out before are forgiven: their waiters take a
        token again after the pause (``requeue_after_gate``), in order.
        """
        if math.isinf(self.rate):
            return
        self.tokens = 0.0
        self.stamp = max(self.stamp, until)
        self.last_at = -math.inf

    def refund(self) -> None:
        """Give back one unused token (never above capacity); the queue shortens."""
        self.tokens = min(self.capacity, self.tokens + 1.0)
        if math.isfinite(self.last_at) and self.rate > 0.0:
            self.last_at -= 1.0 / self.rate

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
        self.refill(now)
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
            self.spread = gate_spread(pause)

    def remaining(self, now: float) -> float:
        """Seconds until the gate opens (<= 0: open)."""
        return self.until - now


@frozen
class Reservation:
    """A token taken from the bucket.

    Attributes:
        delay: seconds to wait before using it.
        at: when it was taken (the limiter's clock).
        rate: the rate in force when it was taken.
        epoch: the bucket's epoch then (a lower rate since makes it stale).
        shared: taken from a shared store's bucket (not this process's).
    """

    delay: float
    at: float
    rate: float
    epoch: int = 0
    shared: bool = False


class GateClosed(NamedTuple):
    """An answer closed the gate (what `Limiter.observe` returns then).

    Attributes:
        pause: seconds requests are held back from now.
        family: the endpoint family held back, or ``None``: every request.
    """

    pause: float
    family: str | None


def gate_news(was: float, until: float, now: float) -> float | None:
    """The pause to report when a gate's opening moved from ``was`` to ``until``.

    News when the gate was open and is now closed, or its opening was pushed back
    by `GATE_NEWS` seconds or more; ``None`` otherwise (and for a pause of 0).
    """
    if until == was or until <= now:
        return None
    if was > now and until - was < GATE_NEWS:
        return None
    return until - now
