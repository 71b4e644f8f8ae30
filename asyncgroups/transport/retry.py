"""RetryingTransport: retries with back-off, Retry-After, one deadline and a shared budget.

Built on tenacity's ``AsyncRetrying`` (the stamina model): the retry predicate decides
from the outcome, the wait honours ``Retry-After`` or a capped exponential back-off
with full jitter, and the stop ends retrying on attempts or the deadline.

Rules:

- ``ConnectError`` (nothing was sent) is re-sent whatever the method.
- A 429 or 503 was not applied by the server: re-sent whatever the method.
- ``ConnectionDroppedError``, ``RequestTimeoutError`` (outcome unknown), 502 and 504
  are re-sent only for a replayable request (idempotent method, or marked
  ``idempotent`` by the backend); otherwise the error or response is returned at
  once and the backend reconciles.
- ``Retry-After`` is honoured: never retried sooner. If it asks for longer than the
  time left before the deadline, the response is returned at once (the backend turns
  a 429 into ``RateLimitedError(retry_after=...)``).
- A retry budget shared by every request of the Client: each retry spends one token,
  each success returns ``budget_refill``; a drained budget means fail fast.

The first attempt runs without tenacity: only a request that needs a retry pays for
building the retry machinery.
"""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from attrs import evolve
from tenacity import AsyncRetrying, RetryCallState

from asyncgroups import _redact
from asyncgroups.config import RetryPolicy
from asyncgroups.errors import ConnectError, TransportError
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups.transport.hooks import (
    Hooks,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    emit,
)
from asyncgroups.transport.retry_after import parse_retry_after
from asyncgroups.transport.stats import TransportStats

__all__ = ["RetryBudget", "RetryingTransport"]

logger = logging.getLogger("asyncgroups.transport")

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


class _Run:
    """The retry state of one request (tenacity callbacks bound to it)."""

    def __init__(
        self, owner: "RetryingTransport", request: Request, started: float
    ) -> None:
        self.owner = owner
        self.request = request
        self.started = started
        self.wait = 0.0

    def retry(self, state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None:  # pragma: no cover - tenacity always sets it
            return False
        owner = self.owner
        if outcome.failed:
            exc = outcome.exception()
            if exc is None or not owner.retryable_error(self.request, exc):
                return False
            wait = owner.backoff(state.attempt_number)
        else:
            response: Response = outcome.result()
            if not owner.retryable_status(response):
                return False
            after = parse_retry_after(response.header("retry-after"))
            wait = after if after is not None else owner.backoff(state.attempt_number)
        budget = owner.budget
        if budget is not None and not budget.can_spend():
            return False
        self.wait = wait
        return True

    def stop(self, state: RetryCallState) -> bool:
        policy = self.owner.policy
        if state.attempt_number >= policy.max_attempts:
            return True
        if policy.deadline is None:
            return False
        elapsed = self.owner.clock() - self.started
        return elapsed + self.wait > policy.deadline

    def next_wait(self, state: RetryCallState) -> float:
        return self.wait

    async def before_sleep(self, state: RetryCallState) -> None:
        owner = self.owner
        if owner.budget is not None:
            owner.budget.spend()
        owner.stats.retries += 1
        outcome = state.outcome
        status: int | None = None
        error: str | None = None
        if outcome is not None and outcome.failed:
            error = type(outcome.exception()).__name__
        elif outcome is not None:
            status = outcome.result().status
        if owner.hooks.on_retry is not None or logger.isEnabledFor(logging.DEBUG):
            url = _redact.url(self.request.url)
            logger.debug(
                "retrying %s %s after attempt %d (%s) in %.3f s",
                self.request.method,
                url,
                state.attempt_number,
                status if status is not None else error,
                self.wait,
            )
            await emit(
                owner.hooks.on_retry,
                RetryEvent(
                    method=self.request.method,
                    url=url,
                    attempt=state.attempt_number,
                    wait=self.wait,
                    status=status,
                    error=error,
                ),
            )

    def give_up(self, state: RetryCallState) -> Any:
        outcome = state.outcome
        if outcome is None:  # pragma: no cover - tenacity always sets it
            return None
        return outcome.result()


class RetryingTransport:
    """Retries failed attempts of the inner transport.

    Args:
        inner: the transport to wrap (normally the rate limiter).
        policy: attempts, back-off, deadline, budget and retried statuses.
        stats: counters; ``retries`` is incremented for each retry.
        clock: monotonic seconds, injectable for tests.
        sleep: async sleep, injectable for tests.
        rng: randomness for the back-off jitter.
        hooks: ``on_request``/``on_response``/``on_retry`` callbacks.
        budget: a budget to share; by default one is built from ``policy``.
    """

    def __init__(
        self,
        inner: AsyncTransport,
        policy: RetryPolicy,
        *,
        stats: TransportStats | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        rng: random.Random | None = None,
        hooks: Hooks | None = None,
        budget: RetryBudget | None = None,
    ) -> None:
        self._inner = inner
        self.policy = policy
        self.stats = stats if stats is not None else TransportStats()
        self.clock = clock
        self._sleep = sleep if sleep is not None else asyncio.sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311
        self.hooks = hooks if hooks is not None else Hooks()
        self._observe = not self.hooks.empty
        if budget is None and policy.budget is not None:
            budget = RetryBudget(policy.budget, policy.budget_refill)
        self.budget = budget
        # Statuses that start retrying (none when only one attempt is allowed).
        self._retry_statuses = (
            policy.statuses if policy.max_attempts > 1 else frozenset()
        )

    # -- decisions -----------------------------------------------------------------

    def retryable_error(self, request: Request, exc: BaseException) -> bool:
        """Whether an attempt that raised ``exc`` may be re-sent."""
        if isinstance(exc, ConnectError):
            return True
        return isinstance(exc, TransportError) and request.replayable

    def retryable_status(self, response: Response) -> bool:
        """Whether an attempt answered with ``response`` may be re-sent."""
        status = response.status
        if status not in self.policy.statuses:
            return False
        return status in _NOT_APPLIED or response.request.replayable

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (capped, full jitter)."""
        policy = self.policy
        ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** min(attempt - 1, 60))
        return self._rng.uniform(0.0, ceiling) if policy.jitter else ceiling

    # -- sending -------------------------------------------------------------------

    async def _attempt(self, request: Request, attempt: int) -> Response:
        observe = self._observe or logger.isEnabledFor(logging.DEBUG)
        if not observe:
            return await self._inner.send(request)
        url = _redact.url(request.url)
        logger.debug("sending %s %s (attempt %d)", request.method, url, attempt)
        await emit(self.hooks.on_request, RequestEvent(request.method, url, attempt))
        response = await self._inner.send(request)
        logger.debug(
            "%s %s -> %d (attempt %d, %.3f s)",
            request.method,
            url,
            response.status,
            attempt,
            response.elapsed,
        )
        await emit(
            self.hooks.on_response,
            ResponseEvent(
                request.method, url, attempt, response.status, response.elapsed
            ),
        )
        return response

    async def send(self, request: Request) -> Response:
        """Send ``request``, retrying what the policy allows.

        Returns:
            The final response: a success, a non-retryable status, or the last
            retryable one (with ``attempts`` and ``elapsed`` set) once retrying ended.

        Raises:
            TransportError: the last attempt got no response; a note says how many
                attempts were made.
        """
        started = self.clock()
        try:
            if self.observing():
                response = await self._attempt(request, 1)
            else:  # the hot path: one await less
                response = await self._inner.send(request)
        except TransportError as exc:
            return await self.carry_on(request, started, exc)
        if self.answered(response):
            return response
        return await self._retry(request, started, response)

    def observing(self) -> bool:
        """Whether attempts are reported (hooks set, or DEBUG logging on)."""
        return self._observe or logger.isEnabledFor(logging.DEBUG)

    def answered(self, response: Response) -> bool:
        """Whether a first attempt's ``response`` ends the request.

        If it does, the retry budget is credited with a success; if not, the
        request is to be retried with :meth:`carry_on`.
        """
        if response.status in self._retry_statuses:
            return False
        budget = self.budget
        if budget is not None and budget.tokens < budget.capacity:
            budget.success()
        return True

    async def carry_on(
        self, request: Request, started: float, first: Response | TransportError
    ) -> Response:
        """Go on from a first attempt made by someone else (a fused stack).

        Args:
            request: the request.
            started: when the first attempt started, by :attr:`clock`.
            first: its answer (one :meth:`answered` declined) or its error.

        Raises:
            TransportError: ``first``, if it may not be retried; or the last error.
        """
        if isinstance(first, TransportError) and (
            self.policy.max_attempts <= 1 or not self.retryable_error(request, first)
        ):
            raise first
        return await self._retry(request, started, first)

    async def _retry(
        self, request: Request, started: float, first: Response | TransportError
    ) -> Response:
        run = _Run(self, request, started)
        pending: list[Response | TransportError] = [first]
        attempt = 0

        async def once() -> Response:
            nonlocal attempt
            attempt += 1
            if pending:
                outcome = pending.pop()
                if isinstance(outcome, TransportError):
                    raise outcome
                return outcome
            return await self._attempt(request, attempt)

        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=run.stop,
            wait=run.next_wait,
            retry=run.retry,
            before_sleep=run.before_sleep,
            retry_error_callback=run.give_up,
        )
        try:
            response: Response = await retrying(once)
        except TransportError as exc:
            if attempt > 1:
                exc.add_note(
                    f"gave up after {attempt} attempts over "
                    f"{self.clock() - started:.1f} s"
                )
            raise
        if self.budget is not None and response.status not in self.policy.statuses:
            self.budget.success()
        if attempt > 1:
            response = evolve(
                response, attempts=attempt, elapsed=self.clock() - started
            )
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
