"""Assembly of a Client's transport stack: Retrying( RateLimited( Aiohttp ) ).

Retry sits outside the rate limiter so every attempt spends a token, and the
adaptive limiter sees every 429. :class:`StackTransport` holds the three layers and
sends the common request (admitted at once, answered without a retry) in one
coroutine instead of three, with the same decisions.
"""

from asyncgroups.config import RateLimit, RetryPolicy
from asyncgroups.errors import ConfigurationError, TransportError
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups.transport.hooks import Hooks
from asyncgroups.transport.limiter import Limiter
from asyncgroups.transport.ratelimit import RateLimitedTransport
from asyncgroups.transport.retry import RetryingTransport
from asyncgroups.transport.stats import TransportStats

__all__ = ["CountingTransport", "StackTransport", "build_stack"]


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


class StackTransport:
    """``Retrying(RateLimited(base))``, with the common case in one coroutine.

    A first attempt that the limiter admits at once (state in this process, no
    hooks, no DEBUG logging) goes straight to ``base``; its answer is then handled
    exactly as the layers would: counted, learnt from by the limiter (a 429 closes
    the gate), and either returned (crediting the retry budget) or handed to the
    retrying layer to carry on. Everything else -- a wait for a token or at the
    gate, a shared store, hooks, every retry -- goes through the layers.

    Args:
        retrying: the outer layer.
        limited: the rate limiter it wraps.
        base: the transport the rate limiter wraps.
        stats: the counters ``limited`` counts into.
    """

    def __init__(
        self,
        retrying: RetryingTransport,
        limited: RateLimitedTransport,
        base: AsyncTransport,
        stats: TransportStats,
    ) -> None:
        self._inner = retrying
        self._limited = limited
        self._base = base
        self._stats = stats
        self._limiter: Limiter | None = None  # once known to be in this process

    @property
    def retrying(self) -> RetryingTransport:
        """The retrying layer (its ``policy``, ``budget`` and ``hooks``)."""
        return self._inner

    @property
    def rate_limited(self) -> RateLimitedTransport:
        """The rate-limiting layer (its ``limiter``)."""
        return self._limited

    async def send(self, request: Request) -> Response:
        """Send ``request`` as ``Retrying(RateLimited(base))`` would."""
        retrying = self._inner
        limiter = self._limiter
        if limiter is None:
            limiter = self._limited.open_limiter(request)
            if limiter.shared:
                return await retrying.send(request)
            self._limiter = limiter
        if retrying.observing():
            return await retrying.send(request)  # it reports each attempt
        started = retrying.clock()
        sent_at = limiter.try_admit()
        if sent_at is None:
            return await retrying.send(request)
        stats = self._stats
        stats.requests += 1
        try:
            response = await self._base.send(request)
        except BaseException as exc:
            limiter.release()
            if not isinstance(exc, TransportError):
                raise
            stats.transport_errors += 1
            return await retrying.carry_on(request, started, exc)
        status = response.status
        if status < 429:
            limiter.answered(status, response.headers, sent_at)
        else:
            limiter.release()
            self._limited.settle(limiter, response, sent_at)  # counts it, too
        if retrying.answered(response):
            return response
        return await retrying.carry_on(request, started, response)

    async def aclose(self) -> None:
        """Close the layers (and so the base transport)."""
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
        ``Retrying(RateLimited(base))`` as a :class:`StackTransport`; the rate
        limiter also counts every attempt into ``stats``.

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
    retrying = RetryingTransport(limited, policy, stats=stats, hooks=hooks)
    return StackTransport(retrying, limited, base, stats)
