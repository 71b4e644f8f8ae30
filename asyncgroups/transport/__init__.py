"""The transport stack: Retrying( RateLimited( Aiohttp ) ), held as a StackTransport.

Transports know HTTP, not groups. Every layer satisfies
:class:`~asyncgroups.transport.base.AsyncTransport`.
"""

from asyncgroups.transport.base import (
    IDEMPOTENT_METHODS,
    AsyncTransport,
    Request,
    Response,
)
from asyncgroups.transport.hooks import Hooks, RequestEvent, ResponseEvent, RetryEvent
from asyncgroups.transport.mock import MockTransport
from asyncgroups.transport.ratelimit import RateLimitedTransport
from asyncgroups.transport.retry import RetryBudget, RetryingTransport
from asyncgroups.transport.stack import CountingTransport, StackTransport, build_stack
from asyncgroups.transport.stats import TransportStats

__all__ = [
    "IDEMPOTENT_METHODS",
    "AsyncTransport",
    "CountingTransport",
    "Hooks",
    "MockTransport",
    "RateLimitedTransport",
    "Request",
    "RequestEvent",
    "Response",
    "ResponseEvent",
    "RetryBudget",
    "RetryEvent",
    "RetryingTransport",
    "StackTransport",
    "TransportStats",
    "build_stack",
]
