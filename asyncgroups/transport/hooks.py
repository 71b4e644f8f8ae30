"""Observability hooks: frozen event records and the `Hooks` holder.

The transport calls ``on_request`` before every attempt, ``on_response`` after every
attempt that got an HTTP answer, and ``on_retry`` before waiting to retry. Callbacks
may be plain functions or coroutine functions. Events carry the method, the URL with
credentials removed, the attempt number and outcome: never headers or bodies.

Without hooks, the same facts are logged at DEBUG on the ``asyncgroups.transport``
logger.
"""

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from attrs import field, frozen

__all__ = [
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
    """

    method: str
    url: str
    attempt: int
    status: int
    elapsed: float


@frozen
class RetryEvent:
    """An attempt failed and the request will be sent again after ``wait`` seconds.

    Attributes:
        method: the HTTP method.
        url: the redacted URL.
        attempt: the attempt that failed.
        wait: seconds until the next attempt.
        status: the failed attempt's status, if it got an answer.
        error: the exception type name, if it got none.
    """

    method: str
    url: str
    attempt: int
    wait: float
    status: int | None = None
    error: str | None = None


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
    """

    on_request: Hook | None = field(default=None, validator=_callable_or_none)
    on_response: Hook | None = field(default=None, validator=_callable_or_none)
    on_retry: Hook | None = field(default=None, validator=_callable_or_none)

    @property
    def empty(self) -> bool:
        """Whether no callback is set."""
        return (
            self.on_request is None
            and self.on_response is None
            and (self.on_retry is None)
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
