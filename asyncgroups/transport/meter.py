"""The rate requests were sent (or answered) at, over a sliding window.

Pure logic on an injected time; `adaptive` reads it to decide the allowed rate.
"""

import math
from collections import deque

__all__ = ["RateMeter"]


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

    def rate(self, now: float, since: float = -math.inf) -> float:
        """Requests per second over the last window (counted from ``since`` on).

        Divided by the span the stamps cover when it is shorter than the window
        (a young meter, or one just after a pause), but never by less than a
        quarter of the window: a burst of a few requests does not read as a rate.
        """
        stamps = self._stamps
        window = self._window
        horizon = now - window
        while stamps and stamps[0] < horizon:
            stamps.popleft()
        counted = [s for s in stamps if s >= since] if since > horizon else stamps
        if not counted:
            return 0.0
        span = min(window, max(now - counted[0], 0.25 * window))
        return len(counted) / span

    def clear(self) -> None:
        """Forget every stamp (a pause: what was sent before it is no rate now)."""
        self._stamps.clear()

    def covers(self, now: float) -> bool:
        """Whether the stamps span at least half the window (a reliable rate)."""
        stamps = self._stamps
        return bool(stamps) and now - stamps[0] >= 0.5 * self._window

    def count(self, now: float) -> int:
        """Requests in the last window."""
        self.rate(now)
        return len(self._stamps)
