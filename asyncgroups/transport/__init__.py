"""The transport stack: Observed( Retrying( RateLimited( Aiohttp ) ) ), one code path.

Transports know HTTP, not groups. Every layer satisfies
[`AsyncTransport`][asyncgroups.transport.base.AsyncTransport]; a Client builds the
stack, or takes one (``Client(transport=...)``) and still puts the observing layer
around it. The base transport is
[`AiohttpTransport`][asyncgroups.transport.aiohttp.AiohttpTransport].
"""

from asyncgroups.transport.base import (
    IDEMPOTENT_METHODS,
    AsyncTransport,
    Request,
    Response,
)
from asyncgroups.transport.hooks import (
    GateEvent,
    Hooks,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
)
from asyncgroups.transport.limited import RateLimitedTransport
from asyncgroups.transport.mock import MockTransport
from asyncgroups.transport.observed import ObservedTransport, Observer
from asyncgroups.transport.retry import RetryingTransport

__all__ = [
    "IDEMPOTENT_METHODS",
    "AsyncTransport",
    "GateEvent",
    "Hooks",
    "MockTransport",
    "ObservedTransport",
    "Observer",
    "RateLimitedTransport",
    "Request",
    "RequestEvent",
    "Response",
    "ResponseEvent",
    "RetryEvent",
    "RetryingTransport",
]
