"""The rate-limiting layer: every request of a Client goes through one `Limiter`."""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asyncgroups.config import RateLimit
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups.transport.limiter import DEFAULT_PAUSE, Limiter, Slot
from asyncgroups.transport.limiter_store import request_identity
from asyncgroups.transport.observed import Observer

__all__ = ["RateLimitedTransport"]


class RateLimitedTransport:
    """Holds requests back so the Client stays within its rate limit.

    With ``RateLimit(store=RedisStore(...))`` the bucket, gate and adaptive rate are
    shared by every process using the same store and identity.

    Args:
        inner: the transport that sends.
        limit: rate, burst, concurrency cap, adaptive mode and state store.
        clock: monotonic seconds, injectable for tests.
        sleep: async sleep, injectable for tests.
        rng: randomness for the gate's release jitter.
        default_pause: pause after a 429 that has no ``Retry-After``.
        identity: what is limited, for a shared store's keys; ``None`` derives it
            from the first request (origin and a hash of its credentials).
        max_wait: the longest a request without a deadline waits at the gate and
            for a token before failing with ``RateLimitedError`` (nothing is
            sent); ``None``: wait it out.
        observer: told when an answer closes the gate (the Client's; it logs a
            WARNING and fires ``on_gate``); ``None``: nobody is told.
    """

    def __init__(
        self,
        inner: AsyncTransport,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
        default_pause: float = DEFAULT_PAUSE,
        identity: str | None = None,
        max_wait: float | None = None,
        observer: Observer | None = None,
    ) -> None:
        self._inner = inner
        self.observer = observer
        self._limit = limit
        self._settings: dict[str, Any] = {
            "clock": clock,
            "sleep": sleep,
            "rng": rng,
            "default_pause": default_pause,
            "max_wait": max_wait,
        }
        self._limiter: Limiter | None = None
        if identity is not None or limit.store is None:
            self._limiter = Limiter(limit, identity=identity or "", **self._settings)

    @property
    def limiter(self) -> Limiter:
        """The limiter (built at the first request when its identity is derived)."""
        if self._limiter is None:
            self._limiter = Limiter(self._limit, identity="", **self._settings)
        return self._limiter

    def _open(self, request: Request) -> Limiter:
        identity = request_identity(request.url, request.headers)
        self._limiter = Limiter(self._limit, identity=identity, **self._settings)
        return self._limiter

    async def send(self, request: Request) -> Response:
        """Wait for a slot, send, and let the limiter learn from the answer.

        Raises:
            RateLimitedError: the wait for a slot would pass the request's deadline
                (nothing was sent).
        """
        limiter = self._limiter or self._open(request)
        # ``async with limiter.slot(request)``, its steps written out: a request
        # that needs no wait enters and leaves with plain calls, no coroutine for
        # __aenter__/__aexit__. An ``async with`` over such a pair costs 1.03 µs
        # against 0.12 µs without it (best of 5 x 200,000); through the whole
        # Client (callgrind, an in-process base transport) 138.6k -> 135.7k
        # instructions a read (benchmarks/overhead.py: see its README item 1).
        slot = Slot(limiter, request.deadline, request.family)  # limiter.slot's
        if not slot.enter_now():
            await slot.enter()
        try:
            response = await self._inner.send(request)
            # slot.answered's body: a call less a request (with the limiter's
            # plain answer not reading the gate: 104.9k -> 102.7k instructions a
            # client.groups.get, callgrind, an in-process base transport)
            closed = limiter.observe(
                response.status, response.headers, slot.sent_at, request.family
            )
        except BaseException:
            if slot.leave(failed=True):
                await limiter.flush()
            raise
        if slot.leave(failed=False):
            await limiter.flush()
        if closed is not None and self.observer is not None:
            report = self.observer.gate_closed(
                request, response, closed.pause, closed.family
            )
            if report is not None:
                await report
        return response

    async def aclose(self) -> None:
        """Close the inner transport and the limiter's store connections."""
        try:
            if self._limiter is not None:
                await self._limiter.aclose()
        finally:
            await self._inner.aclose()
