"""asyncgroups: an async client for group, user and membership management APIs.

One interface (groups, users, memberships) over pluggable backends, a polite
transport (retries, rate limits, the shared 429 gate), and a bulk membership sync
engine (plan -> apply -> verify).
"""

from typing import TYPE_CHECKING, Any

from asyncgroups import backends, errors
from asyncgroups.backends import connect
from asyncgroups.backends.base import BackendSession, GroupBackend
from asyncgroups.capabilities import Capability
from asyncgroups.client import Client
from asyncgroups.config import RateLimit, RetryPolicy, Secret
from asyncgroups.errors import (
    APIError,
    AsyncGroupsError,
    AuthenticationError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ConnectionDroppedError,
    DecodeError,
    InvalidInputError,
    NotFoundError,
    PartialSyncError,
    PermissionDeniedError,
    RateLimitedError,
    RejectedRequestError,
    RequestTimeoutError,
    ServerError,
    SyncAbortedError,
    TransportError,
    UnsupportedOperationError,
)
from asyncgroups.fanout import FanOut
from asyncgroups.models import BatchResult, Group, Member, User
from asyncgroups.stats import TransportStats
from asyncgroups.sync import SyncPlan, SyncReport
from asyncgroups.transport.headers import RateLimitInfo
from asyncgroups.transport.hooks import (
    GateEvent,
    Hooks,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
)
from asyncgroups.transport.limiter_store import MemoryStore
from asyncgroups.transport.redis_store import RedisStore

__all__ = [
    "APIError",
    "AsyncGroupsError",
    "AuthenticationError",
    "BackendSession",
    "BatchResult",
    "Capability",
    "Client",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionDroppedError",
    "DecodeError",
    "FanOut",
    "GateEvent",
    "Group",
    "GroupBackend",
    "Hooks",
    "InvalidInputError",
    "Member",
    "MemoryStore",
    "NotFoundError",
    "PartialSyncError",
    "PeriscopeSites",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitInfo",
    "RateLimitedError",
    "RedisStore",
    "RejectedRequestError",
    "RequestEvent",
    "RequestTimeoutError",
    "ResponseEvent",
    "RetryEvent",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "SyncAbortedError",
    "SyncPlan",
    "SyncReport",
    "TransportError",
    "TransportStats",
    "UnsupportedOperationError",
    "User",
    "backends",
    "connect",
    "errors",
    "testing",
]


if TYPE_CHECKING:
    from asyncgroups import testing
    from asyncgroups.sites import PeriscopeSites


def __getattr__(name: str) -> Any:
    # ``testing`` (emulators, aiohttp.web) loads on first use: an application that
    # only talks to APIs never imports a web server.
    if name == "testing":
        import importlib

        return importlib.import_module("asyncgroups.testing")
    # Likewise Periscope's several sites, which load that backend.
    if name == "PeriscopeSites":
        from asyncgroups.sites import PeriscopeSites

        return PeriscopeSites
    if name == "__version__":
        from importlib.metadata import version

        return version("asyncgroups")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
