"""One request's admission by a [`Limiter`][asyncgroups.transport.limiter.Limiter].

A [`Slot`][asyncgroups.transport.slot.Slot] is entered (``async with``, or
[`enter_now`][asyncgroups.transport.slot.Slot.enter_now] then, only if that could
not admit it, [`enter`][asyncgroups.transport.slot.Slot.enter]), told the answer
and left. Entering without any wait is synchronous: a request that needs no wait
creates no coroutine here.
"""

from types import TracebackType
from typing import TYPE_CHECKING

from asyncgroups.transport.base import Response
from asyncgroups.transport.bucket import GateClosed

if TYPE_CHECKING:
    from asyncgroups.transport.limiter import Limiter

__all__ = ["Slot"]


class Slot:
    """One request's admission by a `Limiter`; see `Limiter.slot`.

    Attributes:
        sent_at: when the request was admitted (the limiter's clock).
    """

    __slots__ = ("_deadline", "_family", "_family_taken", "_limiter", "sent_at")

    def __init__(
        self, limiter: "Limiter", deadline: float | None, family: str | None
    ) -> None:
        self._limiter = limiter
        self._deadline = deadline
        self._family = family
        self._family_taken = False
        self.sent_at = 0.0

    async def __aenter__(self) -> "Slot":
        if not self.enter_now():
            await self.enter()
        return self

    def enter_now(self) -> bool:
        """Enter without waiting, when nothing has to be waited for.

        The no-wait part of entering, synchronous: a family with a request left
        and, without a cap, a token at hand and the gate open. ``False``:
        [`enter`][asyncgroups.transport.slot.Slot.enter] does the rest (it may
        wait). ``async with`` runs the same two steps.
        """
        limiter = self._limiter
        family = self._family
        if family is not None and not self._family_taken:
            if not limiter.families.take_now(family):
                return False
            self._family_taken = True
        if limiter._semaphore is not None:
            return False
        admitted = limiter._admit_now()
        if admitted is None:
            return False
        self.sent_at = admitted
        return True

    async def enter(self) -> None:
        """Wait for what `enter_now` could not take.

        The family's window, the gate, a token, the concurrency cap.

        Raises:
            RateLimitedError: the wait would pass the deadline.
        """
        limiter = self._limiter
        family = self._family
        if family is not None and not self._family_taken:
            await limiter.families.acquire(family, self._check)
            self._family_taken = True
        self.sent_at = await limiter.acquire(self._deadline)

    def answered(self, response: Response) -> GateClosed | None:
        """Let the limiter learn from the answer (a 429, rate-limit headers).

        Returns:
            What the answer holds back, when it closed the gate; else ``None``.
        """
        return self._limiter.observe(
            response.status, response.headers, self.sent_at, self._family
        )

    def _check(self, wait: float, why: str) -> None:
        limiter = self._limiter
        deadline = self._deadline
        if deadline is None and limiter.max_wait is not None:
            deadline = limiter._clock() + limiter.max_wait
        limiter._check_wait(wait, deadline, why)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.leave(failed=exc_type is not None):
            await self._limiter.flush()

    def leave(self, *, failed: bool) -> bool:
        """Leave the slot: free the cap; a failed request gives its family back.

        Returns:
            Whether the limiter must be flushed now (a shared store), which
            ``async with`` does.
        """
        limiter = self._limiter
        limiter.release()
        if failed and self._family is not None:
            limiter.families.forgo(self._family)
        return limiter.state.shared
