"""RateLimitedTransport: every request of a Client goes through one :class:`Limiter`.

A token bucket (``per_second``, ``burst``), a concurrency cap, the shared 429 gate
(after any 429 nobody sends until ``Retry-After`` has passed, then waiters resume
spread with jitter), adaptive rate (multiplicative decrease on 429, CUBIC recovery)
and early slow-down from rate-limit headers. The decisions live in
:mod:`asyncgroups.transport.limiter`; this module only wraps a transport around them.
With ``RateLimit(store=RedisStore(...))`` the bucket, gate and adaptive rate are
shared by every process using the same store and identity.
"""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asyncgroups.config import RateLimit
from asyncgroups.errors import ConfigurationError, TransportError
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups.transport.limiter import DEFAULT_PAUSE, Limiter
from asyncgroups.transport.limiter_store import LimiterStore, request_identity
from asyncgroups.transport.stats import TransportStats

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
        identity: what is limited, for a shared store's keys; ``None`` derives it
            from the first request (origin and a hash of its credentials).
        max_wait: the longest a request waits at a closed 429 gate or for a token
            before failing with ``RateLimitedError`` (no request is sent);
            ``None``: wait it out.
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
        stats: TransportStats | None = None,
    ) -> None:
        self._inner = inner
        self._stats = stats
        self._settings: dict[str, Any] = {
            "clock": clock,
            "sleep": sleep,
            "rng": rng,
            "default_pause": default_pause,
            "max_wait": max_wait,
        }
        if limit.store is not None and not isinstance(limit.store, LimiterStore):
            raise ConfigurationError(
                "RateLimit.store must be a limiter store (MemoryStore, RedisStore)"
            )
        self._limit = limit
        self._limiter: Limiter | None = None
        if identity is not None or limit.store is None:
            self._limiter = Limiter(limit, identity=identity or "", **self._settings)

    @property
    def limiter(self) -> Limiter:
        """The limiter (built at the first request when its identity is derived)."""
        if self._limiter is None:
            self._limiter = Limiter(self._limit, identity="", **self._settings)
        return self._limiter

    def open_limiter(self, request: Request) -> Limiter:
        """The limiter, built for ``request``'s origin and credentials if not yet."""
        limiter = self._limiter
        if limiter is None:
            identity = request_identity(request.url, request.headers)
            limiter = self._limiter = Limiter(
                self._limit, identity=identity, **self._settings
            )
        return limiter

    async def send(self, request: Request) -> Response:
        """Wait for the limiter, send, and let the limiter learn from the answer."""
        limiter = self._limiter or self.open_limiter(request)
        sent_at = limiter.try_admit()
        if sent_at is None:
            sent_at = await limiter.acquire()
        stats = self._stats
        try:
            if stats is not None:
                stats.requests += 1
            response = await self._inner.send(request)
        except TransportError:
            if stats is not None:
                stats.transport_errors += 1
            raise
        finally:
            limiter.release()
        self.settle(limiter, response, sent_at)
        if limiter.shared:
            await limiter.flush()
        return response

    def settle(self, limiter: Limiter, response: Response, sent_at: float) -> None:
        """Count an answered attempt and let ``limiter`` learn from it.

        Args:
            limiter: the limiter that admitted the attempt (already released).
            response: the answer.
            sent_at: when the attempt was admitted, by the limiter's clock.
        """
        status = response.status
        stats = self._stats
        if stats is not None and status >= 429:
            if status == 429:
                stats.throttled += 1
            elif status >= 500:
                stats.server_errors += 1
        limiter.observe(status, response.headers, sent_at)

    async def aclose(self) -> None:
        """Close the inner transport and the limiter's store connections."""
        try:
            if self._limiter is not None:
                await self._limiter.aclose()
        finally:
            await self._inner.aclose()
