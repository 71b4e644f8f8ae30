"""Observability hooks: frozen event records and the `Hooks` holder.

The transport calls ``on_request`` before every attempt, ``on_response`` after every
attempt that got an HTTP answer, ``on_retry`` before waiting to retry, and ``on_gate``
when an answer closes the rate-limit gate (a 429, or a window the server says is
spent). Callbacks may be plain functions or coroutine functions. Events carry the
method, the URL with credentials removed, the attempt number, the outcome and the
server's rate-limit view ([`RateLimitInfo`][asyncgroups.RateLimitInfo], read from
its rate-limit headers): never headers or bodies.

Without hooks, the same facts are logged on the ``asyncgroups.transport`` logger: each
attempt at DEBUG; a gate closing, a second or later retry and a request given up at
WARNING.
"""

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from attrs import field, frozen

from asyncgroups.transport.headers import RateLimitInfo

__all__ = [
    "GateEvent",
    "Hook",
    "Hooks",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "emit",
]

logger = logging.getLogger("asyncgroups.transport")

E = TypeVar("E")

#: A hook: a sync or async callable receiving one event.
Hook = Callable[[Any], Awaitable[None] | None]


@frozen
class RequestEvent:
    """An attempt is about to be sent.

    Attributes:
        method: the HTTP method.
        url: the URL with user info and credential query values removed.
        attempt: 1 for the first attempt, 2 for the first retry, ...
    """

    method: str
    url: str
    attempt: int


@frozen
class ResponseEvent:
    """An attempt got an HTTP answer (any status).

    Attributes:
        method: the HTTP method.
        url: the redacted URL.
        attempt: the attempt number.
        status: the status code.
        elapsed: seconds the attempt took.
        rate_limit: what the answer's rate-limit headers say (limit, remaining,
            reset in seconds), or ``None`` when it has none.
    """

    method: str
    url: str
    attempt: int
    status: int
    elapsed: float
    rate_limit: RateLimitInfo | None = None


@frozen
class RetryEvent:
    """An attempt failed and the request will be sent again after ``wait`` seconds.

    Attributes:
        method: the HTTP method.
        url: the redacted URL.
        attempt: the attempt that failed.
        wait: seconds until the next attempt: the answer's ``Retry-After``, else
            the back-off.
        status: the failed attempt's status, if it got an answer.
        error: the exception type name, if it got none.
        rate_limit: the failed answer's rate-limit headers, read (``None``: none,
            or no answer).
    """

    method: str
    url: str
    attempt: int
    wait: float
    status: int | None = None
    error: str | None = None
    rate_limit: RateLimitInfo | None = None


@frozen
class GateEvent:
    """An answer closed the rate-limit gate: requests are held back for ``pause``.

    A 429 about the rate closes the Client's gate for its ``Retry-After`` (or a
    default pause); a window the server reports spent (remaining 0) closes it until
    the reset. When the request named an endpoint family whose budget the headers
    describe, only that family waits (``family`` is set). Fired when the gate goes
    from open to closed, or its closing is pushed back by a second or more.

    Attributes:
        host: the host (and port) the answer came from.
        family: the endpoint family held back, or ``None``: the whole Client.
        pause: seconds requests are held back from now.
        status: the answer's status (429, or e.g. 200 with remaining 0).
        method: the HTTP method of the request answered.
        url: its redacted URL.
        rate_limit: the answer's rate-limit headers, read, if it had any.
    """

    host: str
    family: str | None
    pause: float
    status: int
    method: str
    url: str
    rate_limit: RateLimitInfo | None = None


def _callable_or_none(_: Any, attribute: Any, value: Any) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{attribute.name} must be callable or None")


@frozen
class Hooks:
    """Callbacks for transport events; each may be sync or async.

    Args:
        on_request: called with a [`RequestEvent`][asyncgroups.RequestEvent] before
            every attempt.
        on_response: called with a [`ResponseEvent`][asyncgroups.ResponseEvent] after
            every answered attempt.
        on_retry: called with a [`RetryEvent`][asyncgroups.RetryEvent] before each retry
            wait.
        on_gate: called with a [`GateEvent`][asyncgroups.GateEvent] when an answer
            closes the rate-limit gate.
    """

    on_request: Hook | None = field(default=None, validator=_callable_or_none)
    on_response: Hook | None = field(default=None, validator=_callable_or_none)
    on_retry: Hook | None = field(default=None, validator=_callable_or_none)
    on_gate: Hook | None = field(default=None, validator=_callable_or_none)

    @property
    def empty(self) -> bool:
        """Whether no callback is set."""
        return (
            self.on_request is None
            and self.on_response is None
            and self.on_retry is None
            and self.on_gate is None
        )


async def emit(hook: Hook | None, event: object) -> None:
    """Call ``hook`` with ``event``, awaiting it if it is async.

    A failing hook is logged and otherwise ignored: observability never breaks a
    request.
    """
    if hook is None:
        return
    try:
        result = hook(event)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("transport hook %r failed", getattr(hook, "__name__", hook))
