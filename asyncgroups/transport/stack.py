"""Assembly of a Client's transport stack: Retrying( RateLimited( Aiohttp ) ).

Retry sits outside the rate limiter so every attempt spends a token, and the
adaptive limiter sees every 429.
"""

from asyncgroups.config import RateLimit, RetryPolicy
from asyncgroups.errors import ConfigurationError, TransportError
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups.transport.hooks import Hooks
from asyncgroups.transport.ratelimit import RateLimitedTransport
from asyncgroups.transport.retry import RetryingTransport
from asyncgroups.transport.stats import TransportStats

__all__ = ["CountingTransport", "build_stack"]


class CountingTransport:
    """Counts every attempt and its outcome into a :class:`TransportStats`."""

    def __init__(self, inner: AsyncTransport, stats: TransportStats) -> None:
        self._inner = inner
        self._stats = stats

    async def send(self, request: Request) -> Response:
        """Send through the inner transport, counting the outcome."""
        self._stats.requests += 1
        try:
            response = await self._inner.send(request)
        except TransportError:
            self._stats.transport_errors += 1
            raise
        if response.status == 429:
            self._stats.throttled += 1
        elif response.status >= 500:
            self._stats.server_errors += 1
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()


def build_stack(
    base: AsyncTransport,
    *,
    stats: TransportStats,
    retry: RetryPolicy | None,
    rate_limit: RateLimit | None,
    hooks: Hooks | None = None,
) -> AsyncTransport:
    """Wrap ``base`` in the counting, rate-limiting and retrying layers.

    Args:
        base: the transport that performs I/O.
        stats: the Client's counters.
        retry: the retry policy; ``None`` uses the default policy.
        rate_limit: the rate limit; ``None`` means unlimited.
        hooks: ``on_request``/``on_response``/``on_retry`` callbacks.

    Returns:
        ``Retrying(RateLimited(base))``; the rate limiter also counts every attempt
        into ``stats`` (one layer less on the hot path than a separate
        :class:`CountingTransport`).

    Raises:
        ConfigurationError: ``hooks`` is not a :class:`Hooks`.
    """
    if hooks is not None and not isinstance(hooks, Hooks):
        raise ConfigurationError("hooks must be an asyncgroups.Hooks instance")
    policy = retry if retry is not None else RetryPolicy()
    # A request never waits at the 429 gate, or for a token, longer than it may
    # take in all: a longer wait fails it at once, unsent.
    limited = RateLimitedTransport(
        base,
        rate_limit if rate_limit is not None else RateLimit(),
        max_wait=policy.deadline,
        stats=stats,
    )
    return RetryingTransport(
        limited,
        policy,
        stats=stats,
        hooks=hooks,
    )
