"""RateLimitedTransport: every request of a Client goes through one :class:`Limiter`.

A token bucket (``per_second``, ``burst``), a concurrency cap, the shared 429 gate
(after any 429 nobody sends until ``Retry-After`` has passed, then waiters resume
spread with jitter), adaptive rate (multiplicative decrease on 429, CUBIC recovery)
and early slow-down from rate-limit headers. The decisions live in
:mod:`asyncgroups.transport.limiter`; this module only wraps a transport around them.
"""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asyncgroups.config import RateLimit
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups.transport.limiter import DEFAULT_PAUSE, Limiter

__all__ = ["RateLimitedTransport"]


class RateLimitedTransport:
    """Holds requests back so the Client stays within its rate limit.

    Args:
        inner: the transport that sends.
        limit: rate, burst, concurrency cap and adaptive mode.
        clock: monotonic seconds, injectable for tests.
        sleep: async sleep, injectable for tests.
        rng: randomness for the gate's release jitter.
        default_pause: pause after a 429 that has no ``Retry-After``.
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
    ) -> None:
        self._inner = inner
        self._clock = clock
        self.limiter = Limiter(
            limit, clock=clock, sleep=sleep, rng=rng, default_pause=default_pause
        )

    async def send(self, request: Request) -> Response:
        """Wait for the limiter, send, and let the limiter learn from the answer."""
        limiter = self.limiter
        if not limiter.try_admit():
            await limiter.acquire()
        sent_at = self._clock()
        try:
            response = await self._inner.send(request)
        finally:
            limiter.release()
        limiter.observe(response.status, response.headers, sent_at)
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
