"""The client-side limiter: token bucket, concurrency cap, the 429 gate, adaptive rate.

:class:`Limiter` combines a :class:`~asyncgroups.transport.limiter_store.LimiterState`
(bucket, gate and adaptive rate, in memory or shared through a store) with a
concurrency cap and rate-limit headers; it takes an injectable clock and sleep, so
tests can run it on a virtual clock.

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
from asyncgroups.errors import ConfigurationError, RateLimitedError
from asyncgroups.transport.limiter_store import (
    MAX_SPREAD,
    Gate,
    LimiterState,
    LimiterStore,
    MemoryState,
    MemoryStore,
    Reservation,
    TokenBucket,
)
from asyncgroups.transport.ratelimit_headers import (
    RateLimitInfo,
    has_rate_limit_headers,
    parse_rate_limit_headers,
)
from asyncgroups.transport.retry_after import parse_retry_after

__all__ = ["DEFAULT_PAUSE", "MAX_SPREAD", "Gate", "Limiter", "TokenBucket"]

#: Pause after a 429 without ``Retry-After``, in seconds.
DEFAULT_PAUSE = 1.0


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
        max_wait: the longest a request waits at a closed 429 gate or for a token;
            a longer wait (a ``Retry-After`` of days, a long queue at a low rate)
            fails the request at once with ``RateLimitedError`` instead of
            blocking it, and gives its token back. ``None``: wait it out.

    Raises:
        ConfigurationError: ``limit.store`` is not a limiter store.
    """

    __slots__ = (
        "_clock",
        "_default_pause",
        "_memory",
        "_rng",
        "_semaphore",
        "_sleep",
        "in_flight",
        "limit",
        "max_wait",
        "shared",
        "state",
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
        self._semaphore = (
            asyncio.Semaphore(limit.max_concurrency)
            if limit.max_concurrency is not None
            else None
        )
        store = limit.store if limit.store is not None else MemoryStore()
        if not isinstance(store, LimiterStore):
            raise ConfigurationError(
                "RateLimit.store must be a limiter store (MemoryStore, RedisStore)"
            )
        self.state: LimiterState = store.open(limit, identity=identity, clock=clock)
        self._memory = self.state if isinstance(self.state, MemoryState) else None
        #: Whether the state lives in a shared store (feedback needs a :meth:`flush`).
        self.shared = self._memory is None
        self.in_flight = 0

    @property
    def rate(self) -> float:
        """The rate in force now (``math.inf``: unlimited)."""
        return self.state.rate

    @property
    def gate(self) -> Gate:
        """This process's view of the 429 gate (in-memory state only)."""
        state = self.state
        if isinstance(state, MemoryState):
            return state.gate_state
        local = getattr(state, "local", None)
        if isinstance(local, MemoryState):
            return local.gate_state
        raise AttributeError("this limiter's state has no local gate")

    # -- admission -------------------------------------------------------------------

    def try_admit(self) -> float | None:
        """Admit at once, if nothing can make this request wait.

        Returns:
            When the request was admitted (by this limiter's clock), or ``None``
            if it must :meth:`acquire` instead.
        """
        if self._semaphore is not None:
            return None
        now = self._clock()
        memory = self._memory
        if memory is None:
            if not self.state.admits_at_once(now):
                return None
            self.state.sent(now)
        else:  # MemoryState.admits_at_once and .sent, inlined: the hot path
            if memory.bucket.rate != math.inf or memory.gate_state.until > now:
                return None
            if memory.adaptive is not None:
                memory.adaptive.sent(now)
        self.in_flight += 1
        return now

    async def acquire(self) -> float:
        """Wait until this request may be sent; pair with :meth:`release`.

        Returns:
            When the request was admitted, by this limiter's clock.
        """
        semaphore = self._semaphore
        if semaphore is not None:
            await semaphore.acquire()
        state = self.state
        reservation: Reservation | None = None  # a token taken and not yet used
        try:
            await self._wait_gate()
            requeue = getattr(state, "requeue_after_gate", False)
            for _ in range(8):  # bounded: a token taken before a pause is renewed
                reservation = await state.reserve(self._clock())
                if reservation.delay <= 0.0:
                    break
                self._check_token_wait(reservation.delay)
                await self._sleep(reservation.delay)
                extra = await state.extra_wait(reservation, self._clock())
                if extra > 0.0:  # the rate went down meanwhile
                    await self._sleep(extra)
                if not await self._wait_gate() or not requeue:
                    break
        except BaseException:
            if semaphore is not None:
                semaphore.release()
            if reservation is not None:  # the request was never sent
                await state.refund(reservation)
            raise
        now = self._clock()
        self.state.sent(now)
        self.in_flight += 1
        return now

    def _check_token_wait(self, delay: float) -> None:
        """Refuse a token wait longer than ``max_wait`` (the request's deadline)."""
        if self.max_wait is not None and delay > self.max_wait:
            raise RateLimitedError(
                "not sent: the rate limit would delay this request "
                f"{delay:.1f} s, longer than the {self.max_wait:.1f} s it may wait",
                status=429,
                retry_after=delay,
            )

    async def _wait_gate(self) -> bool:
        """Wait while the gate is closed; whether it was."""
        state = self.state
        waited = False
        while True:
            left, spread = await state.gate(self._clock())
            if left <= 0.0:
                return waited
            if self.max_wait is not None and left > self.max_wait:
                raise RateLimitedError(
                    "not sent: the client is paused by an earlier 429 for "
                    f"{left:.0f} s more, longer than the {self.max_wait:.0f} s "
                    "it may wait",
                    status=429,
                    retry_after=left,
                )
            waited = True
            await self._sleep(left + self._rng.uniform(0.0, spread))

    def release(self) -> None:
        """The request finished (answered or failed)."""
        self.in_flight -= 1
        if self._semaphore is not None:
            self._semaphore.release()

    def answered(self, status: int, headers: Mapping[str, str], sent_at: float) -> None:
        """:meth:`release`, then :meth:`observe`, in one call (the hot path).

        Args:
            status: the answer's status.
            headers: its headers (names lower-cased, or a case-insensitive mapping).
            sent_at: when the request was admitted, by this limiter's clock.
        """
        self.release()
        memory = self._memory
        if (
            status == 429
            or memory is None
            or memory.wants_success
            or has_rate_limit_headers(headers)
        ):
            self.observe(status, headers, sent_at)

    # -- feedback ----------------------------------------------------------------------

    def observe(
        self, status: int, headers: Mapping[str, str], sent_at: float | None = None
    ) -> None:
        """Learn from one answer: a 429 closes the gate; headers may slow us down.

        Takes effect in this process at once; a shared store publishes it in the
        background (await :meth:`flush`).

        Args:
            status: the answer's status.
            headers: its headers (names lower-cased, or a case-insensitive mapping).
            sent_at: when the request was sent (by this limiter's clock).
        """
        if status == 429:
            self.throttled(parse_retry_after(headers.get("retry-after")), sent_at)
        elif self._memory is None or self._memory.wants_success:
            self.state.succeeded(self._clock())
        if has_rate_limit_headers(headers):
            info = parse_rate_limit_headers(headers)
            if info is not None:
                self.budget(info)

    def throttled(
        self, retry_after: float | None, sent_at: float | None = None
    ) -> None:
        """A 429 arrived: close the gate and, if adaptive, lower the rate."""
        now = self._clock()
        pause = retry_after if retry_after is not None else self._default_pause
        self.state.close_gate(now, pause)
        self.state.throttled(now, sent_at)

    def budget(self, info: RateLimitInfo) -> None:
        """The server reported its remaining budget: pace it when low, stop at 0."""
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
