"""Budgets per endpoint family, as the server's rate-limit headers announce them.

Some APIs (Okta's ``X-Rate-Limit-*``, GitHub's resource buckets) keep a separate
budget per endpoint family: the members endpoint may be spent while the groups
endpoint still has plenty. A request names its family
(`family`); every answer's headers say
what is left of that family's window and when it resets. `FamilyBudgets`
keeps one window per family and admits a request of a family only while that
window has budget left, so a Client spends each budget to its end and then waits
for that window's reset, without a 429 and without holding back other families.

The count is kept locally (one token a request admitted), so answers still in
flight cannot make it over-spend; an answer only ever lowers it (another Client
spending the same budget), or opens the next window. Pure bookkeeping plus
injectable ``clock``/``sleep``: tests run it on a virtual clock.
"""

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from asyncgroups.transport.bucket import gate_news
from asyncgroups.transport.headers import RateLimitInfo, has_rate_limit_headers

__all__ = ["DEFAULT_MARGIN", "FamilyBudgets", "Window"]

#: Seconds a request waits for news of a rolled window before one request goes alone
#: to ask: answers that tell nothing (a late answer, a 429 from the window the server
#: has not ended yet) must not leave every request of a family waiting for one
#: another. A silence counts only while no request of the family is out (a slow
#: answer on a loaded machine is news still to come), and then one request goes,
#: with a window's budget behind it once the budget is known, never every waiter.
NEWS_TIMEOUT = 1.0

#: Seconds waited past a window's announced reset before spending the next one
#: (the server's clock and ours are read at different moments).
DEFAULT_MARGIN = 0.1
#: Two resets closer than this describe the same window.
_SAME_WINDOW = 0.5


class Window:
    """One family's budget: what is left until ``ends``.

    Attributes:
        limit: requests a window allows (``None`` until a server says).
        left: requests this Client may still send in the window.
        ends: when the window resets (the limiter's clock).
        rolled: the window has ended and the next one's end is not known yet
            (``left`` counts down from ``limit`` meanwhile).
    """

    __slots__ = ("_changed", "ends", "left", "limit", "rolled")

    def __init__(
        self,
        limit: float | None,
        left: float,
        ends: float,
        learning: "Window | None" = None,
    ) -> None:
        self.limit = limit
        self.left = left
        self.ends = ends
        self.rolled = False
        # Waiters of the window that was learning the budget wake on this one's news.
        self._changed: asyncio.Event = (
            learning._changed if learning is not None else asyncio.Event()
        )

    def learn(self, limit: float | None, left: float, ends: float, status: int) -> None:
        """Take one answer's report into account (answers arrive in any order)."""
        if limit is not None:
            self.limit = limit
        if ends > self.ends + _SAME_WINDOW:  # a window newer than any we knew
            self.left = min(self.left, left) if self.rolled else left
            self.ends, self.rolled = ends, False
        elif not self.rolled and ends >= self.ends - _SAME_WINDOW:  # this window
            self.left = 0.0 if status == 429 else min(self.left, left)
        else:  # an answer from a window already over
            return
        self.wake()

    def wake(self) -> None:
        """Wake every request waiting for news of this window."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self) -> None:
        """Wait for the next answer that tells this window something."""
        await self._changed.wait()


class FamilyBudgets:
    """The windows of every endpoint family one Client has heard of.

    Args:
        clock: monotonic seconds (the limiter's).
        sleep: async sleep (the limiter's).
        margin: seconds waited past an announced reset before the next window.
    """

    __slots__ = ("_busy", "_clock", "_margin", "_sleep", "windows")

    def __init__(
        self,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[Any]],
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._margin = margin
        self.windows: dict[str, Window] = {}
        # requests of each family admitted and not yet ended: their answers are news
        # still to come, so a silence does not count while any is out
        self._busy: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.windows)

    def take_now(self, family: str) -> bool:
        """Spend one request of ``family`` if that needs no wait; whether it did.

        The first request of a family goes alone: its answer tells the budget
        (or that there is none, and the family goes unpaced).
        """
        window = self.windows.get(family)
        if window is None:
            self.windows[family] = Window(None, 0.0, -math.inf)
        else:
            self._roll(window)
            if window.left < 1.0:
                return False
            window.left -= 1.0
        self._busy[family] = self._busy.get(family, 0) + 1
        return True

    def ended(self, family: str, *, failed: bool) -> None:
        """A request of ``family`` admitted by `take_now`/`acquire` has ended.

        ``failed``: it ended without an answer (see `forgo`).
        """
        if failed:
            self.forgo(family)
        busy = self._busy.get(family, 0) - 1
        if busy > 0:
            self._busy[family] = busy
        else:
            self._busy.pop(family, None)

    def _roll(self, window: Window) -> None:
        if window.limit is None:  # still learning: the first answer will say
            return
        if not window.rolled and self._clock() >= window.ends + self._margin:
            window.rolled = True
            window.left = window.limit

    async def acquire(
        self,
        family: str,
        check: Callable[[float, str], None],
    ) -> None:
        """Wait until ``family``'s window has a request left, and spend it.

        Args:
            family: the endpoint family.
            check: ``check(wait, why)`` raises if the request may not wait that
                long (the limiter's deadline rule).

        Raises:
            RateLimitedError: (from ``check``) the wait would pass the deadline.
        """
        while not self.take_now(family):
            window = self.windows.get(family)
            if window is None:
                continue
            if window.rolled or window.limit is None:  # no answer has said yet
                if not await self._news(window) and family not in self._busy:
                    # nothing said for a while, and nothing out that may yet say:
                    # this one goes to ask, with a window's budget once it is known
                    if window.limit is not None:
                        window.left = max(window.limit - 1.0, 0.0)
                    self._busy[family] = 1
                    return
                continue
            wait = window.ends + self._margin - self._clock()
            check(wait, f"the {family} budget until its reset")
            await self._sleep(max(wait, 0.0))

    async def _news(self, window: Window) -> bool:
        """Wait for news of ``window``, at most `NEWS_TIMEOUT`; whether it came."""
        changed = asyncio.ensure_future(window.changed())
        timer = asyncio.ensure_future(self._sleep(NEWS_TIMEOUT))
        try:
            await asyncio.wait((changed, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (changed, timer):
                task.cancel()
        return changed.done() and not changed.cancelled()

    def observe(self, family: str, status: int, headers: Mapping[str, str]) -> bool:
        """Learn ``family``'s budget from one answer; whether its headers told it.

        A 429 whose headers describe the family empties its window until the
        reset (other families go on).
        """
        window = self.windows.get(family)
        info = (
            RateLimitInfo.from_http(headers)
            if has_rate_limit_headers(headers)
            else None
        )
        if info is None or info.limit is None:
            if window is not None and window.limit is None:  # no budget announced
                window.limit = window.left = math.inf
                window.ends = math.inf
                window.wake()
            return False
        if info.reset <= self._margin:  # a window that is over (a late answer)
            if window is not None and window.limit is None:
                # still learning: the budget's size is news, and a window has rolled
                window.limit = window.left = info.limit
                window.rolled = True
                window.wake()
            return True
        ends = self._clock() + info.reset
        if window is None or window.limit is None:
            left = 0.0 if status == 429 else info.remaining
            window = self.windows[family] = Window(info.limit, left, ends, window)
            window.wake()
        else:
            window.learn(info.limit, info.remaining, ends, status)
        return True

    def spent_until(self, family: str) -> float:
        """When ``family``'s window, if spent, resets (``-inf``: not spent)."""
        window = self.windows.get(family)
        if window is None or window.left >= 1.0:
            return -math.inf
        return window.ends

    def news(self, family: str, was: float) -> float | None:
        """The pause to report after a 429 about ``family``, if it is news.

        Args:
            family: the endpoint family.
            was: `spent_until` before the answer was taken into account.
        """
        return gate_news(was, self.spent_until(family), self._clock())

    def forgo(self, family: str) -> None:
        """A request of ``family`` ended without an answer.

        Its spend is kept (the server may have counted it), except a first
        request's: the next one goes to learn the budget instead.
        """
        window = self.windows.get(family)
        if window is not None and window.limit is None:
            del self.windows[family]
            window.wake()
