"""The adaptive rate controller: CUBIC-style decrease on throttling, then recovery.

The same scheme as the AWS SDKs' adaptive retry mode: the client measures the rate it
actually sends at; on a throttle it remembers that rate as ``w_max`` and drops to
``beta * w_max`` (multiplicative decrease); after that the allowed rate follows the
CUBIC curve ``scale * (t - K) ** 3 + w_max``, which climbs back quickly, lingers near
``w_max`` and then probes above it. The rate is also held to twice the measured rate,
so an idle client does not bank a huge allowance. Pure logic on an injected time.
"""

import math
from collections import deque

__all__ = ["AdaptiveRate", "RateMeter"]


class RateMeter:
    """The rate requests were sent at, over a sliding window.

    Args:
        window: seconds of history considered.
    """

    __slots__ = ("_stamps", "_window")

    def __init__(self, window: float = 1.0) -> None:
        self._window = window
        self._stamps: deque[float] = deque()

    def record(self, now: float) -> None:
        """Note one request sent at ``now``."""
        stamps = self._stamps
        stamps.append(now)
        horizon = now - self._window
        while stamps[0] < horizon:
            stamps.popleft()

    def rate(self, now: float) -> float:
        """Requests per second over the last window (a young meter under-reads)."""
        stamps = self._stamps
        horizon = now - self._window
        while stamps and stamps[0] < horizon:
            stamps.popleft()
        return len(stamps) / self._window


class AdaptiveRate:
    """Decides the allowed send rate from throttles and successes.

    Args:
        ceiling: the configured rate, never exceeded; ``None`` means unlimited.
        beta: the multiplicative decrease factor.
        scale: the CUBIC scale constant (requests/s per s³).
        min_rate: the lowest rate ever set.
        cooldown: seconds after a decrease during which sends are not blamed again.
    """

    def __init__(
        self,
        ceiling: float | None,
        *,
        beta: float = 0.7,
        scale: float = 0.4,
        min_rate: float = 0.5,
        cooldown: float = 1.0,
    ) -> None:
        self.ceiling = math.inf if ceiling is None else ceiling
        self.beta = beta
        self.scale = scale
        self.min_rate = min_rate
        self.cooldown = cooldown
        self.meter = RateMeter()
        self.rate = self.ceiling
        self.lowered = False
        self.w_max = 0.0
        self._k = 0.0
        self._last_throttle = 0.0

    def sent(self, now: float) -> None:
        """Note one request sent."""
        self.meter.record(now)

    def on_throttle(self, now: float, sent_at: float | None = None) -> float:
        """A 429 arrived: remember the rate and decrease it. Returns the new rate.

        A throttle of a request sent before, or within ``cooldown`` seconds after,
        the last decrease is ignored: the rate was already lowered for that burst
        and the server's bucket needs a moment to refill (one decrease per round,
        as TCP), so a burst of 429s does not collapse the rate.
        """
        if (
            sent_at is not None
            and self.lowered
            and sent_at < self._last_throttle + self.cooldown
        ):
            return self.rate
        measured = self.meter.rate(now)
        current = self.rate if math.isfinite(self.rate) else measured
        basis = min(measured, current) if measured > 0 else current
        if not math.isfinite(basis) or basis <= 0:
            basis = self.min_rate / self.beta
        self.w_max = basis
        self._k = (basis * (1.0 - self.beta) / self.scale) ** (1.0 / 3.0)
        self._last_throttle = now
        self.lowered = True
        self.rate = max(self.min_rate, min(self.ceiling, basis * self.beta))
        return self.rate

    def on_success(self, now: float) -> float:
        """An answer that was not a throttle arrived. Returns the (new) rate."""
        if not self.lowered:
            return self.rate
        dt = now - self._last_throttle
        cubic = self.scale * (dt - self._k) ** 3 + self.w_max
        allowed = max(2.0 * self.meter.rate(now), self.beta * self.w_max)
        rate = min(cubic, allowed, self.ceiling)
        self.rate = max(self.min_rate, rate)
        return self.rate
