"""RetryingTransport: retries on tenacity, with Retry-After, one deadline and a budget.

Built as stamina builds retries on tenacity's ``AsyncRetrying``: tenacity's own
``stop_after_attempt | stop_before_delay`` stop and ``wait_random_exponential``
(capped exponential back-off, full jitter) wait, a wait that honours the
``Retry-After`` of the answer the predicate retried, the retry budget and the hooks
in ``before_sleep``, and ``reraise=True``; the final error carries the attempt count
and elapsed time.

Rules:

- ``ConnectError`` (nothing was sent) is re-sent whatever the method.
- A 429 was not applied by the server: re-sent whatever the method.
- ``ConnectionDroppedError``, ``RequestTimeoutError`` (outcome unknown), 502, 503 and
  504 (a gateway may answer after its upstream applied the request) are re-sent only
  for a replayable request (idempotent method, or marked ``idempotent`` by the
  backend); otherwise the error or response is returned at once and the backend
  reconciles.
- ``Retry-After`` is honoured: never retried sooner. If it asks for longer than the
  time left before the deadline, the response is returned at once (the backend turns
  a 429 into ``RateLimitedError(retry_after=...)``).
- A retry budget shared by every request of the Client: each retry spends one token,
  each success returns ``budget_refill``; a drained budget means fail fast.

Tenacity takes over from the first retry on: building its machinery costs about
55 µs a request on the benchmark machine (a fifth of a request's client CPU), so a
request answered at once never pays for it. The first attempt's outcome is handed
to tenacity's loop as the outcome of its attempt 1, decided by the same predicate.
"""

import asyncio
import functools
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from attrs import evolve
from tenacity import (
    AsyncRetrying,
    DoAttempt,
    DoSleep,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
)
from tenacity.stop import stop_base

from asyncgroups.config import RetryPolicy
from asyncgroups.errors import ConnectError, TransportError
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups.transport.headers import parse_retry_after
from asyncgroups.transport.observed import Observer

__all__ = ["RetryBudget", "RetryingTransport"]

#: Statuses the server did not apply: re-sent for any method. Only 429: a gateway
#: may answer 502/503/504 after its upstream applied the request.
_NOT_APPLIED = frozenset({429})


class RetryBudget:
    """Retry tokens shared by every request of a Client.

    Args:
        capacity: the most tokens the budget holds (and starts with).
        refill: tokens returned by each success.
    """

    __slots__ = ("_refill", "capacity", "tokens")

    def __init__(self, capacity: float, refill: float) -> None:
        self.capacity = capacity
        self._refill = refill
        self.tokens = capacity

    def can_spend(self) -> bool:
        """Whether one retry may be spent."""
        return self.tokens >= 1.0

    def spend(self) -> None:
        """Spend one retry token."""
        self.tokens -= 1.0

    def success(self) -> None:
        """Return ``refill`` tokens after a success."""
        if self.tokens < self.capacity:
            self.tokens = min(self.capacity, self.tokens + self._refill)

    def __repr__(self) -> str:
        return f"RetryBudget(tokens={self.tokens:.1f}/{self.capacity:g})"


class _RetryableStatusError(Exception):
    """An answer with a retried status, carried through tenacity as an outcome."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response
        #: The wait the server asked for, if it did.
        self.retry_after = parse_retry_after(response.header("retry-after"))


class _FullJitter(wait_exponential):
    """``wait_random_exponential`` drawing from an injectable random generator."""

    def __init__(self, rng: random.Random, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        return self._rng.uniform(0.0, super().__call__(retry_state))


class RetryingTransport:
    """Retries failed attempts of the inner transport.

    Args:
        inner: the transport to wrap (normally the rate limiter).
        policy: attempts, back-off, deadline, budget and retried statuses.
        observer: counts and reports each attempt and retry (the Client's); a
            fresh one by default.
        clock: monotonic seconds, injectable for tests.
        sleep: async sleep, injectable for tests.
        rng: randomness for the back-off jitter.
        budget: a budget to share; by default one is built from ``policy``.
    """

    def __init__(
        self,
        inner: AsyncTransport,
        policy: RetryPolicy,
        *,
        observer: Observer | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        rng: random.Random | None = None,
        budget: RetryBudget | None = None,
    ) -> None:
        self._inner = inner
        self.policy = policy
        self.observer = observer if observer is not None else Observer()
        self.clock = clock
        if budget is None and policy.budget is not None:
            budget = RetryBudget(policy.budget, policy.budget_refill)
        self.budget = budget
        # Statuses that start retrying (none when only one attempt is allowed).
        self._retry_statuses = (
            policy.statuses if policy.max_attempts > 1 else frozenset()
        )
        stop: stop_base = stop_after_attempt(policy.max_attempts)
        if policy.deadline is not None:
            stop = stop | stop_before_delay(policy.deadline)
        backoff = (
            _FullJitter(
                rng if rng is not None else random.Random(),  # noqa: S311
                multiplier=policy.base_delay,
                max=policy.max_delay,
            )
            if policy.jitter
            else wait_exponential(multiplier=policy.base_delay, max=policy.max_delay)
        )
        self._backoff = backoff
        # A template: each request that retries runs a copy with its own predicate
        # (tenacity keeps its loop state on the object).
        self._retrying = AsyncRetrying(
            sleep=sleep if sleep is not None else asyncio.sleep,
            stop=stop,
            wait=self._wait,
            before_sleep=self._before_sleep,
            reraise=True,
        )

    # -- decisions (tenacity's predicate, wait and before_sleep) ----------------------

    def _retryable(self, request: Request, exc: BaseException) -> bool:
        """Whether an attempt of ``request`` that ended in ``exc`` may be re-sent."""
        if isinstance(exc, _RetryableStatusError):
            status = exc.response.status
            if status not in self._retry_statuses or not (
                status in _NOT_APPLIED or request.replayable
            ):
                return False
        elif isinstance(exc, TransportError):
            if self.policy.max_attempts <= 1:
                return False
            if not isinstance(exc, ConnectError) and not request.replayable:
                return False
        else:
            return False
        budget = self.budget
        return budget is None or budget.can_spend()

    def _wait(self, state: RetryCallState) -> float:
        """The ``Retry-After`` the retried answer asked for, else the back-off."""
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, _RetryableStatusError) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._backoff(state))

    async def _before_sleep(self, state: RetryCallState) -> None:
        """Spend a retry token; report the retry."""
        if self.budget is not None:
            self.budget.spend()
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        response = exc.response if isinstance(exc, _RetryableStatusError) else None
        status = response.status if response is not None else None
        error = type(exc).__name__ if status is None and exc is not None else None
        await self.observer.retrying(
            state.args[0],
            state.attempt_number,
            state.upcoming_sleep,
            status,
            error,
            response,
        )

    # -- sending -------------------------------------------------------------------

    async def send(self, request: Request) -> Response:
        """Send ``request``, retrying what the policy allows.

        Returns:
            The final response: a success, a non-retryable status, or the last
            retryable one (with ``attempts`` and ``elapsed`` set) once retrying ended.

        Raises:
            TransportError: the last attempt got no response; a note says how many
                attempts were made over how long.
        """
        started = self.clock()
        observer = self.observer
        first: BaseException
        # Observer.attempt, inlined: one coroutine less around every request.
        report = observer.sending(request, 1)
        if report is not None:
            await report
        try:
            response = await self._inner.send(request)
        except TransportError as exc:
            observer.failed()
            if not self._retryable(request, exc):
                raise
            first = exc
        else:
            report = observer.answered(request, 1, response)
            if report is not None:
                await report
            if response.status not in self._retry_statuses:
                if self.budget is not None:
                    self.budget.success()
                return response
            first = _RetryableStatusError(response)
            if not self._retryable(request, first):
                return response
        return await self._retry(request, started, first)

    async def _retry(
        self, request: Request, started: float, first: BaseException
    ) -> Response:
        """Carry on in tenacity's loop from attempt 1's outcome ``first``."""
        retrying = self._retrying.copy(
            retry=retry_if_exception(functools.partial(self._retryable, request))
        )
        retrying.begin()
        state = RetryCallState(retrying, fn=None, args=(request,), kwargs={})
        state.start_time = started  # tenacity's own clock is time.monotonic
        state.set_exception((type(first), first, first.__traceback__))
        state.outcome_timestamp = self.clock()
        if self.policy.deadline is not None:
            request = evolve(request, deadline=started + self.policy.deadline)
        try:
            response = await self._loop(retrying, state, request)
        except _RetryableStatusError as final:
            response = final.response
        except TransportError as exc:
            elapsed = self.clock() - started
            if state.attempt_number > 1:
                exc.add_note(
                    f"gave up after {state.attempt_number} attempts over "
                    f"{elapsed:.1f} s"
                )
            self.observer.gave_up(
                request, state.attempt_number, elapsed, None, type(exc).__name__
            )
            raise
        elapsed = self.clock() - started
        if response.status in self._retry_statuses:
            self.observer.gave_up(
                request, state.attempt_number, elapsed, response.status, None
            )
        elif self.budget is not None and response.status not in self.policy.statuses:
            self.budget.success()
        return evolve(response, attempts=state.attempt_number, elapsed=elapsed)

    async def _loop(
        self, retrying: AsyncRetrying, state: RetryCallState, request: Request
    ) -> Response:
        """Tenacity's ``AsyncRetrying.__call__`` loop, entered with attempt 1 made."""
        send = self._inner.send
        while True:
            do = await retrying.iter(retry_state=state)
            if isinstance(do, DoAttempt):
                try:
                    response = await self.observer.attempt(
                        send, request, state.attempt_number
                    )
                    if response.status in self._retry_statuses:
                        raise _RetryableStatusError(response)  # noqa: TRY301
                except BaseException:  # as tenacity's own loop does
                    state.set_exception(sys.exc_info())  # type: ignore[arg-type]
                else:
                    state.set_result(response)
                state.outcome_timestamp = self.clock()
            elif isinstance(do, DoSleep):
                state.prepare_for_next_attempt()
                await retrying.sleep(do)  # type: ignore[misc]
            else:
                return do  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
