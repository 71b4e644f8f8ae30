"""The client-side limiter and its layer: token bucket, concurrency cap, 429 gate, adaptive.

[`Limiter`][asyncgroups.transport.limiter.Limiter] holds a
[`LimiterState`][asyncgroups.transport.limiter_store.LimiterState] (bucket, gate and
adaptive rate, in memory or shared through a store) and a concurrency cap, on an
injectable clock and sleep. Its API is one context manager, as aiolimiter's:
``async with limiter.slot(request) as slot: slot.answered(await send(request))``.
The bucket serves waiters in order, one ``1/rate`` apart; a 429 closes the gate for
the whole Client until ``Retry-After`` has passed. No request waits past its
deadline: it fails at once, unsent, with ``RateLimitedError``.
"""

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, cast

from asyncgroups.config import RateLimit
from asyncgroups.errors import RateLimitedError
from asyncgroups.transport.base import Request, Response
from asyncgroups.transport.bucket import Gate, GateClosed, Reservation, gate_news
from asyncgroups.transport.families import FamilyBudgets
from asyncgroups.transport.headers import (
    RateLimitInfo,
    has_rate_limit_headers,
    parse_rate_limit_headers,
    parse_retry_after,
)
from asyncgroups.transport.limiter_store import LimiterState, LimiterStore, MemoryStore
from asyncgroups.transport.strays import StrayDetector

__all__ = ["DEFAULT_PAUSE", "GateClosed", "Limiter", "Slot"]

#: Pause after a 429 without ``Retry-After``, in seconds.
DEFAULT_PAUSE = 1.0

#: How often a token taken before a 429 pause is renewed after it (shared stores).
_RENEWALS = 8


class Limiter:
    """Everything that decides when a Client may send.

    Args:
        limit: rate, burst, concurrency cap, adaptive mode and state store.
        clock: monotonic seconds.
        sleep: async sleep.
        rng: randomness for the gate's release jitter.
        default_pause: pause after a 429 without ``Retry-After``.
        identity: a secret-free name of what is limited; senders with the same
            identity share a store's state.
        max_wait: the longest a request without a deadline of its own waits at
            the 429 gate and for a token, in all; a longer wait (a ``Retry-After``
            of days, a long queue at a low rate) fails it at once with
            ``RateLimitedError`` and gives its token back. ``None``: wait it out.
    """

    __slots__ = (
        "_clock",
        "_default_pause",
        "_held",
        "_reacted_rate",
        "_rng",
        "_semaphore",
        "_sleep",
        "families",
        "limit",
        "max_wait",
        "state",
        "strays",
    )

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
        default_pause: float = DEFAULT_PAUSE,
        identity: str = "",
        max_wait: float | None = None,
    ) -> None:
        self.limit = limit
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311
        self._default_pause = default_pause
        cap = limit.max_concurrency
        self._semaphore = asyncio.Semaphore(cap) if cap is not None else None
        self._held = 0
        self._reacted_rate = math.inf  # the rate the last reaction answered
        self.families = FamilyBudgets(clock, sleep)
        #: Which 429s are about rate (see `strays`).
        self.strays = StrayDetector()
        # RateLimit checked the store when it was made, naming it by shape only.
        store = cast(
            "LimiterStore", limit.store if limit.store is not None else MemoryStore()
        )
        self.state: LimiterState = store.open(limit, identity=identity, clock=clock)

    @property
    def rate(self) -> float:
        """The rate in force now (``math.inf``: unlimited)."""
        return self.state.rate

    @property
    def gate(self) -> Gate:
        """This process's view of the 429 gate."""
        return self.state.local_gate

    @property
    def in_flight(self) -> int:
        """Requests holding a slot under the concurrency cap (0 without a cap)."""
        return self._held

    def slot(self, request: Request | None = None) -> "Slot":
        """A slot to send ``request`` in: ``async with limiter.slot(request) as s:``.

        Entering waits for the gate, a token and the concurrency cap, within
        ``request.deadline`` (else ``max_wait``), or raises ``RateLimitedError``;
        leaving releases the cap.
        """
        if request is None:
            return Slot(self, None, None)
        return Slot(self, request.deadline, request.family)

    # -- admission -------------------------------------------------------------------

    async def acquire(self, deadline: float | None = None) -> float:
        """Wait until a request may be sent; pair with `release`.

        Args:
            deadline: the latest time (this limiter's clock) the request may be
                sent; ``None``: ``max_wait`` from now.

        Returns:
            When the request was admitted, by this limiter's clock.

        Raises:
            RateLimitedError: the wait would pass the deadline (nothing is held).
        """
        semaphore = self._semaphore
        if semaphore is not None:
            await semaphore.acquire()
            self._held += 1
        now = self._clock()
        if self.state.take_now(now):  # admitted with no wait nor store call
            self.state.sent(now)
            return now
        try:
            now = await self._wait_turn(self._clock(), deadline)
        except BaseException:
            self.release()
            raise
        self.state.sent(now)
        return now

    async def _wait_turn(self, now: float, deadline: float | None) -> float:
        """Wait at the gate, then for a token; return when admitted."""
        if deadline is None and self.max_wait is not None:
            deadline = now + self.max_wait
        state = self.state
        reservation: Reservation | None = None  # a token taken and not yet used
        try:
            await self._wait_gate(deadline)
            for _ in range(_RENEWALS):  # a token taken before a pause is renewed
                reservation = await state.reserve(self._clock())
                if reservation.delay <= 0.0:
                    break
                self._check_wait(reservation.delay, deadline, "the rate limit")
                await self._sleep(reservation.delay)
                extra = await state.extra_wait(reservation, self._clock())
                if extra > 0.0:  # the rate went down meanwhile
                    await self._sleep(extra)
                waited = await self._wait_gate(deadline)
                # a pause that began after the token was taken voids it
                paused = waited or state.local_gate.until > reservation.at
                if not paused or not state.requeue_after_gate:
                    break
        except BaseException:
            if reservation is not None:  # the request was never sent
                await state.refund(reservation)
            raise
        return self._clock()

    def _check_wait(self, wait: float, deadline: float | None, why: str) -> None:
        """Refuse a wait that would end after ``deadline``."""
        if deadline is None:
            return
        left = deadline - self._clock()
        if wait > left:
            raise RateLimitedError(
                f"not sent: {why} would delay this request {wait:.1f} s, "
                f"longer than the {max(0.0, left):.1f} s it may still wait",
                status=429,
                retry_after=wait,
            )

    async def _wait_gate(self, deadline: float | None) -> bool:
        """Wait while the gate is closed; whether it was."""
        state = self.state
        waited = False
        while True:
            left, spread = await state.gate(self._clock())
            if left <= 0.0:
                return waited
            self._check_wait(left, deadline, "an earlier 429's pause")
            waited = True
            await self._sleep(left + self._rng.uniform(0.0, spread))

    def release(self) -> None:
        """The request finished (answered or failed): free its concurrency slot."""
        if self._semaphore is not None:
            self._held -= 1
            self._semaphore.release()

    # -- feedback ----------------------------------------------------------------------

    def observe(
        self,
        status: int,
        headers: Mapping[str, str],
        sent_at: float | None = None,
        family: str | None = None,
    ) -> GateClosed | None:
        """Learn from one answer: a 429 closes the gate; headers may slow us down.

        A 429 judged stray (see `strays`) holds only its own request.

        Takes effect in this process at once; a shared store publishes it in the
        background (await [`flush`][asyncgroups.transport.limiter.Limiter.flush]). When
        the request named its endpoint family and the headers describe a budget, they
        pace that family alone (a 429 among them holds that family until its reset, not
        the Client).

        Args:
            status: the answer's status.
            headers: its headers (names lower-cased, or a case-insensitive mapping).
            sent_at: when the request was sent (by this limiter's clock).
            family: the request's endpoint family, if it named one.

        Returns:
            How long and what the answer holds back, when it closed the gate (or
            pushed its opening back by a second or more); else ``None``.
        """
        state = self.state
        families = self.families
        if family is not None:
            spent = families.spent_until(family)
            if families.observe(family, status, headers):
                if status != 429:
                    self.strays.answered(sent_at)
                    if state.wants_success:
                        state.succeeded(self._clock())
                    return None
                pause = families.news(family, spent)
                return None if pause is None else GateClosed(pause, family)
        now = self._clock()
        if status != 429:
            self.strays.answered(sent_at)
            if state.wants_success:  # neither changes the gate
                state.succeeded(now)
            if not has_rate_limit_headers(headers):
                return None  # the gate is as it was: no news to look for
        gate = state.local_gate
        was = gate.until
        if status == 429:
            rate = state.rate  # above the last rate throttled: a probe, about rate
            if self.strays.is_about_rate(
                now, sent_at, rate > 1.02 * self._reacted_rate
            ):
                retry_after = parse_retry_after(headers.get("retry-after"))
                pause = retry_after if retry_after is not None else self._default_pause
                state.slow_down(now, sent_at, self.strays.testing, self.strays.burst)
                state.close_gate(now, pause)
                self._reacted_rate = rate
            elif self.strays.spurious:
                # the decreases that tested the evidence were for stray 429s
                state.undo(now, self.strays.spurious)
                self.strays.spurious = 0
        if status != 429 or has_rate_limit_headers(headers):  # non-429s have them
            info = parse_rate_limit_headers(headers)
            if info is not None:
                self._pace(info)
        pause = gate_news(was, gate.until, now)
        return None if pause is None else GateClosed(pause, None)

    def _pace(self, info: RateLimitInfo) -> None:
        """The server reported what is left: pace it when low, stop at 0."""
        if info.reset <= 0:
            return
        now = self._clock()
        low = max(1.0, 0.1 * info.limit) if info.limit else 1.0
        if info.remaining <= 0:
            self.state.close_gate(now, info.reset)
        elif info.remaining <= low:
            self.state.cap(info.remaining / info.reset, now + info.reset, now)

    async def flush(self) -> None:
        """Wait until feedback recorded so far is visible to every sharer."""
        await self.state.flush()

    async def aclose(self) -> None:
        """Release the state's connections; idempotent."""
        await self.state.aclose()


class Slot:
    """One request's admission by a `Limiter` (`Limiter.slot`); ``sent_at``: when."""

    __slots__ = ("_deadline", "_family", "_family_taken", "_limiter", "sent_at")

    def __init__(
        self, limiter: Limiter, deadline: float | None, family: str | None
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
        """Enter at once if nothing is to be waited for (no coroutine); else `enter`."""
        limiter = self._limiter
        family = self._family
        if family is not None and not self._family_taken:
            if not limiter.families.take_now(family):
                return False
            self._family_taken = True
        if limiter._semaphore is not None:
            return False
        now = limiter._clock()  # as acquire admits: no call more
        state = limiter.state
        if not state.take_now(now):
            return False
        state.sent(now)
        self.sent_at = now
        return True

    async def enter(self) -> None:
        """Wait for what `enter_now` could not take; ``RateLimitedError`` past the deadline."""
        limiter = self._limiter
        family = self._family
        if family is not None and not self._family_taken:
            await limiter.families.acquire(family, self._check)
            self._family_taken = True
        try:
            self.sent_at = await limiter.acquire(self._deadline)
        except BaseException:
            if family is not None:  # never sent: its spend is kept, as on a failure
                limiter.families.ended(family, failed=True)
            raise

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
        """Free the cap (a failed request gives its family back); whether to `flush`."""
        limiter = self._limiter
        if limiter._semaphore is not None:  # release(), without its call
            limiter._held -= 1
            limiter._semaphore.release()
        if self._family is not None:
            limiter.families.ended(self._family, failed=failed)
        return limiter.state.shared
