"""The observing layer: counting, hooks and logs, in one place.

[`Observer`][asyncgroups.transport.observed.Observer] is where a Client's counters
([`TransportStats`][asyncgroups.TransportStats]) change, where
``on_request``/``on_response``/``on_retry``/``on_gate`` hooks fire and where each
attempt is logged at DEBUG. A rate-limit gate closing, a second or later retry of a
request and a request given up are logged at WARNING. It runs the same code whether
hooks are set and logging is on or not: only the reporting itself is skipped when
nobody listens. Log lines and events carry redacted URLs, never headers or bodies.

[`ObservedTransport`][asyncgroups.transport.observed.ObservedTransport] is the layer the
Client always installs, around the stack it builds or a transport it was given. A
retrying layer built with the same observer reports each of its attempts and retries to
it; any other transport is observed one ``send`` at a time (a response that says it took
several attempts is counted as that many requests and retries).
"""

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from asyncgroups import _redact
from asyncgroups.errors import ConfigurationError, TransportError
from asyncgroups.stats import TransportStats
from asyncgroups.transport.base import AsyncTransport, Request, Response
from asyncgroups.transport.headers import (
    RateLimitInfo,
    has_rate_limit_headers,
    parse_rate_limit_headers,
)
from asyncgroups.transport.hooks import (
    GateEvent,
    Hooks,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    emit,
)

__all__ = ["ObservedTransport", "Observer"]

logger = logging.getLogger("asyncgroups.transport")

Send = Callable[[Request], Awaitable[Response]]

#: From this retry of a request on (its second), each retry is logged at WARNING.
WARN_FROM_RETRY = 2


def rate_limit_view(response: Response | None) -> RateLimitInfo | None:
    """What ``response``'s rate-limit headers say, or ``None`` if nothing."""
    if response is None or not has_rate_limit_headers(response.headers):
        return None
    return parse_rate_limit_headers(response.headers)


def _host(url: str) -> str:
    """The host (and port) of an already redacted URL."""
    try:
        return urlsplit(url).netloc or "?"
    except ValueError:
        return "?"


class Observer:
    """Counts, reports and logs the attempts of one Client's requests.

    Args:
        stats: the counters to keep (a fresh set by default).
        hooks: ``on_request``/``on_response``/``on_retry`` callbacks.

    Raises:
        ConfigurationError: ``hooks`` is not a [`Hooks`][asyncgroups.Hooks].
    """

    __slots__ = ("hooks", "stats")

    def __init__(
        self, stats: TransportStats | None = None, hooks: Hooks | None = None
    ) -> None:
        if hooks is not None and not isinstance(hooks, Hooks):
            raise ConfigurationError("hooks must be an asyncgroups.Hooks instance")
        self.stats = stats if stats is not None else TransportStats()
        self.hooks = hooks if hooks is not None else Hooks()

    async def attempt(self, send: Send, request: Request, number: int) -> Response:
        """Make attempt ``number`` of ``request`` with ``send``, observing it.

        The same as [`sending`][asyncgroups.transport.observed.Observer.sending],
        ``send``, then [`answered`][asyncgroups.transport.observed.Observer.answered] or
        [`failed`][asyncgroups.transport.observed.Observer.failed].

        Raises:
            TransportError: as ``send`` raised it (counted).
        """
        report = self.sending(request, number)
        if report is not None:
            await report
        try:
            response = await send(request)
        except TransportError:
            self.failed()
            raise
        report = self.answered(request, number, response)
        if report is not None:
            await report
        return response

    def sending(self, request: Request, number: int) -> Awaitable[None] | None:
        """Attempt ``number`` of ``request`` is about to be sent: count it.

        Returns:
            The report to await before sending (DEBUG log, ``on_request``), or
            ``None`` when nobody listens.
        """
        self.stats.requests += 1
        hook = self.hooks.on_request
        if hook is None and not logger.isEnabledFor(logging.DEBUG):
            return None
        url = _redact.url(request.url)
        logger.debug("sending %s %s (attempt %d)", request.method, url, number)
        return emit(hook, RequestEvent(request.method, url, number))

    def failed(self) -> None:
        """The attempt got no usable response (a ``TransportError``)."""
        self.stats.transport_errors += 1

    def answered(
        self, request: Request, number: int, response: Response
    ) -> Awaitable[None] | None:
        """Attempt ``number`` got ``response``: count it.

        Returns:
            The report to await (DEBUG log, ``on_response``), or ``None`` when
            nobody listens.
        """
        status = response.status
        if status >= 429:
            if status == 429:
                self.stats.throttled += 1
            elif status >= 500:
                self.stats.server_errors += 1
        hook = self.hooks.on_response
        if hook is None and not logger.isEnabledFor(logging.DEBUG):
            return None
        url = _redact.url(request.url)
        logger.debug(
            "%s %s -> %d (attempt %d, %.3f s)",
            request.method,
            url,
            status,
            number,
            response.elapsed,
        )
        if hook is None:
            return None
        return emit(
            hook,
            ResponseEvent(
                request.method,
                url,
                number,
                status,
                response.elapsed,
                rate_limit_view(response),
            ),
        )

    async def retrying(
        self,
        request: Request,
        number: int,
        wait: float,
        status: int | None,
        error: str | None,
        response: Response | None = None,
    ) -> None:
        """Attempt ``number`` failed; the next one follows in ``wait`` seconds.

        The first retry of a request is logged at DEBUG, each later one at WARNING.

        Args:
            request: the request.
            number: the attempt that failed (so this is retry ``number``).
            wait: seconds until the next attempt.
            status: the failed attempt's status, if it got an answer.
            error: the exception type name, if it got none.
            response: the failed attempt's answer, if it got one (for its
                rate-limit headers).
        """
        self.stats.retries += 1
        hook = self.hooks.on_retry
        level = logging.WARNING if number >= WARN_FROM_RETRY else logging.DEBUG
        if hook is None and not logger.isEnabledFor(level):
            return
        url = _redact.url(request.url)
        logger.log(
            level,
            "retrying %s %s after attempt %d (%s) in %.3f s",
            request.method,
            url,
            number,
            status if status is not None else error,
            wait,
        )
        if hook is None:
            return
        await emit(
            hook,
            RetryEvent(
                request.method,
                url,
                number,
                wait,
                status,
                error,
                rate_limit_view(response),
            ),
        )

    def gave_up(
        self,
        request: Request,
        attempts: int,
        elapsed: float,
        status: int | None,
        error: str | None,
    ) -> None:
        """Retrying ``request`` ended without success: logged at WARNING.

        Args:
            request: the request.
            attempts: attempts made.
            elapsed: seconds from the first attempt to the last outcome.
            status: the last attempt's status, if it got an answer.
            error: the exception type name, if it got none.
        """
        if not logger.isEnabledFor(logging.WARNING):
            return
        logger.warning(
            "giving up on %s %s after %d attempt%s over %.1f s (last: %s)",
            request.method,
            _redact.url(request.url),
            attempts,
            "" if attempts == 1 else "s",
            elapsed,
            status if status is not None else error,
        )

    def gate_closed(
        self,
        request: Request,
        response: Response,
        pause: float,
        family: str | None,
    ) -> Awaitable[None] | None:
        """``response`` closed the rate-limit gate for ``pause`` seconds.

        Logged at WARNING (host, family, pause; the URL redacted).

        Args:
            request: the request answered.
            response: the answer that closed it.
            pause: seconds requests are held back from now.
            family: the endpoint family held back, or ``None``: the whole Client.

        Returns:
            The ``on_gate`` report to await, or ``None`` when nobody listens.
        """
        hook = self.hooks.on_gate
        if hook is None and not logger.isEnabledFor(logging.WARNING):
            return None
        url = _redact.url(request.url)
        host = _host(url)
        view = rate_limit_view(response)
        logger.warning(
            "rate-limit gate closed for %.2f s after %d from %s: %s waits (%s %s%s)",
            pause,
            response.status,
            host,
            f"endpoint family {family!r}" if family is not None else "every request",
            request.method,
            url,
            "" if view is None else f"; server says {_describe(view)}",
        )
        if hook is None:
            return None
        return emit(
            hook,
            GateEvent(host, family, pause, response.status, request.method, url, view),
        )


def _describe(view: RateLimitInfo) -> str:
    """``remaining 0 of 100, reset in 30.0 s``."""
    limit = "" if view.limit is None else f" of {view.limit:g}"
    return f"remaining {view.remaining:g}{limit}, reset in {view.reset:.1f} s"


class ObservedTransport:
    """The observing layer: every request of a Client is counted and reported here.

    Args:
        inner: the transport observed: the stack the Client built (whose retrying
            layer reports to ``observer``) or one the Client was given.
        observer: the counters and hooks; a fresh
            [`Observer`][asyncgroups.transport.observed.Observer] by default.
    """

    def __init__(self, inner: AsyncTransport, observer: Observer | None = None) -> None:
        self._inner = inner
        self.observer = observer if observer is not None else Observer()
        #: Whether ``inner`` reports each attempt to ``observer`` itself.
        self.reported = getattr(inner, "observer", None) is self.observer
        if self.reported:  # nothing left to do here: no coroutine around each send
            self.send = inner.send  # type: ignore[method-assign]

    @property
    def stats(self) -> TransportStats:
        """The counters."""
        return self.observer.stats

    async def send(self, request: Request) -> Response:
        """Send ``request`` through the inner transport, observed."""
        response = await self.observer.attempt(self._inner.send, request, 1)
        extra = response.attempts - 1
        if extra > 0:  # retried below us, out of sight: counted as it says
            self.observer.stats.requests += extra
            self.observer.stats.retries += extra
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
