"""Client policies and credentials: retry, rate limit, and repr-safe secrets.

All are frozen attrs classes validated at construction; a bad number is a
[`ConfigurationError`][asyncgroups.errors.ConfigurationError] at once, not at the first
request.
"""

import math
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from attrs import field, frozen

from asyncgroups.errors import ConfigurationError

__all__ = ["RateLimit", "RetryPolicy", "Secret"]


def _positive(_: Any, attribute: Any, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{attribute.name} must be a number")
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{attribute.name} must be a positive finite number")


def _non_negative(_: Any, attribute: Any, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{attribute.name} must be a number")
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"{attribute.name} must be a finite number >= 0")


def _statuses(value: object) -> frozenset[int]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigurationError(
            f"statuses must be a collection of HTTP status codes, "
            f"not {type(value).__name__}"
        )
    codes = list(value)
    for code in codes:
        if (
            isinstance(code, bool)
            or not isinstance(code, int)
            or not 100 <= code <= 599
        ):
            raise ConfigurationError(
                "statuses must hold HTTP status codes (ints from 100 to 599)"
            )
    return frozenset(codes)


def _boolean(_: Any, attribute: Any, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(
            f"{attribute.name} must be True or False, not {type(value).__name__}"
        )


def _at_least_one(_: Any, attribute: Any, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{attribute.name} must be an integer >= 1")


class StoreFactory(Protocol):
    """What ``RateLimit(store=...)`` takes: a limiter store.

    ``MemoryStore``, ``RedisStore``, or any
    [`LimiterStore`][asyncgroups.transport.limiter_store.LimiterStore]. Named here by
    the one method the configuration needs, so that this module imports nothing of the
    transport (which imports it).
    """

    def open(
        self, limit: "RateLimit", *, identity: str, clock: Callable[[], float]
    ) -> object:
        """The state of one limiter for ``limit``."""
        ...


def _limiter_store(_: Any, attribute: Any, value: object) -> None:
    # A LimiterStore (asyncgroups.transport.limiter_store) is anything with open().
    if value is not None and not callable(getattr(value, "open", None)):
        raise ConfigurationError(
            "RateLimit.store must be a limiter store (MemoryStore, RedisStore)"
        )


class Secret:
    """A credential that never shows itself in a repr or str.

    ``reveal()`` returns the value; only the code that builds the auth header calls it.
    """

    __slots__ = ("_value",)

    def __init__(self, value: "str | Secret") -> None:
        self._value = value.reveal() if isinstance(value, Secret) else value

    def reveal(self) -> str:
        """Return the secret value."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@frozen
class RetryPolicy:
    """How a Client retries failed requests.

    Attributes:
        max_attempts: attempts in all, the first included (1 disables retries).
        base_delay: the first back-off step, in seconds (doubled each attempt).
        max_delay: cap on one back-off wait, in seconds.
        deadline: one overall time budget for a request and all its retries, seconds.
        budget: retry tokens shared by the Client; each retry spends one, each success
            returns ``budget_refill``. A storm drains it and later failures fail fast.
            ``None`` disables the budget.
        budget_refill: tokens a successful request returns to the budget.
        statuses: statuses that are retried.
        jitter: full jitter on back-off waits.
    """

    max_attempts: int = field(default=6, validator=_at_least_one)
    base_delay: float = field(default=0.2, validator=_positive)
    max_delay: float = field(default=60.0, validator=_positive)
    deadline: float | None = field(default=300.0, validator=_positive)
    budget: float | None = field(default=500.0, validator=_positive)
    budget_refill: float = field(default=0.1, validator=_non_negative)
    statuses: frozenset[int] = field(
        default=frozenset({429, 502, 503, 504}), converter=_statuses
    )
    jitter: bool = field(default=True, validator=_boolean)

    @classmethod
    def off(cls) -> "RetryPolicy":
        """A policy that never retries."""
        return cls(max_attempts=1)


@frozen
class RateLimit:
    """How fast a Client may send.

    Attributes:
        per_second: sustained requests per second; ``None`` means unlimited.
        burst: bucket size (requests that may go at once after idling); defaults to
            ``max(1, ceil(per_second))``. Set with ``adaptive``, half of it is kept
            unspent (at least one request), so a server with this very burst keeps
            some in hand for requests that arrive a little early.
        max_concurrency: requests in flight at once; ``None`` means no cap.
        adaptive: lower the rate on throttling (multiplicative decrease), then recover.
        store: where limiter state lives (a ``LimiterStore``: ``MemoryStore``,
            ``RedisStore``); ``None`` is in-process memory.
    """

    per_second: float | None = field(default=None, validator=_positive)
    burst: int | None = field(default=None, validator=_at_least_one)
    max_concurrency: int | None = field(default=None, validator=_at_least_one)
    adaptive: bool = field(default=True, validator=_boolean)
    store: "StoreFactory | None" = field(
        default=None, eq=False, validator=_limiter_store
    )

    @property
    def bucket_size(self) -> int:
        """The effective bucket size."""
        if self.burst is not None:
            return self.burst
        return max(1, math.ceil(self.per_second or 1))

    @classmethod
    def unlimited(cls) -> "RateLimit":
        """No rate limit, no concurrency cap, nothing learned from 429s (the gate stays)."""
        return cls(adaptive=False)
