"""Assembly of a Client's transport stack: Observed( Retrying( RateLimited( base ) ) ).

Retry sits outside the rate limiter so every attempt spends a token, and the
adaptive limiter sees every 429. The observing layer goes around everything, and
around a transport the Client was given alike; the retrying layer reports each of
its attempts to the same [`Observer`][asyncgroups.transport.observed.Observer].
"""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asyncgroups.config import RateLimit, RetryPolicy
from asyncgroups.transport.base import AsyncTransport
from asyncgroups.transport.limited import RateLimitedTransport
from asyncgroups.transport.observed import Observer
from asyncgroups.transport.retry import RetryingTransport

__all__ = ["build_stack"]


def build_stack(
    base: AsyncTransport,
    *,
    observer: Observer,
    retry: RetryPolicy | None,
    rate_limit: RateLimit | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> RetryingTransport:
    """Wrap ``base`` in the rate-limiting and retrying layers.

    Args:
        base: the transport that performs I/O.
        observer: the Client's counters and hooks; the retrying layer reports each
            attempt to it, the rate-limiting layer each closing of its gate. Wrap the result in an
            [`ObservedTransport`][asyncgroups.transport.observed.ObservedTransport] with
            it.
        retry: the retry policy; ``None`` uses the default policy.
        rate_limit: the rate limit; ``None`` means unlimited.
        clock: monotonic seconds for both layers, injectable for tests.
        sleep: async sleep for both layers, injectable for tests.
        rng: randomness for back-off and gate jitter, injectable for tests.

    Returns:
        ``Retrying(RateLimited(base))``.
    """
    policy = retry if retry is not None else RetryPolicy()
    # Without a deadline of its own (a first attempt), a request never waits at
    # the 429 gate, or for a token, longer than it may take in all.
    limited = RateLimitedTransport(
        base,
        rate_limit if rate_limit is not None else RateLimit(),
        max_wait=policy.deadline,
        observer=observer,
        clock=clock,
        sleep=sleep,
        rng=rng,
    )
    return RetryingTransport(
        limited, policy, observer=observer, clock=clock, sleep=sleep, rng=rng
    )
