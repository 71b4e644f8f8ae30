"""Reading the response headers that pace a client: ``Retry-After`` and rate limits.

``Retry-After`` (RFC 9110 §10.2.3) is delay-seconds or an HTTP-date. Rate-limit
families understood (how much is left and when the window resets):

- ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (GitHub style; reset may be
  seconds or a Unix time);
- ``RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` and ``RateLimit-Policy`` (IETF
  draft; reset in seconds), and the combined ``RateLimit: limit=, remaining=, reset=``
  or ``"name";r=..;t=..`` field;
- Okta's ``X-Rate-Limit-Limit`` / ``-Remaining`` / ``-Reset`` (reset a Unix time).

Pure functions, as gidgethub's ``RateLimit.from_http``; no I/O.
"""

import math
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from attrs import frozen
from multidict import istr

__all__ = [
    "RateLimitInfo",
    "has_rate_limit_headers",
    "parse_rate_limit_headers",
    "parse_retry_after",
]

_FAMILIES = (
    ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"),
    ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"),
    ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"),
)
#: A reset value above this is a Unix time, not a number of seconds.
_EPOCH_THRESHOLD = 1e8
_PARAM = re.compile(r"\b([a-z]+)\s*=\s*\"?([0-9]+(?:\.[0-9]+)?)")
_NUMBER = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)")


@frozen
class RateLimitInfo:
    """What the server said about its rate limit.

    Attributes:
        limit: requests allowed per window, if said.
        remaining: requests left in the current window.
        reset: seconds until the window resets.
    """

    limit: float | None
    remaining: float
    reset: float

    @classmethod
    def from_http(
        cls, headers: Mapping[str, str], *, now: float | None = None
    ) -> "RateLimitInfo | None":
        """The budget the headers describe; see `parse_rate_limit_headers`."""
        return parse_rate_limit_headers(headers, now=now)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` value asks for, or ``None``.

    Args:
        value: the header value: ``"120"``, ``"1.5"`` or an HTTP-date.
        now: the current Unix time (for an HTTP-date); defaults to ``time.time()``.

    Returns:
        A non-negative number of seconds, or ``None`` if absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    match = _NUMBER.match(value.split(",")[0])
    if match is None:
        return None
    number = float(match.group(1))
    return number if math.isfinite(number) else None


def _reset_seconds(value: float, now: float) -> float:
    if value > _EPOCH_THRESHOLD:
        return max(0.0, value - now)
    return value


def _structured(value: str) -> tuple[float | None, float | None, float | None]:
    params = {k: float(v) for k, v in _PARAM.findall(value.lower())}
    limit = params.get("limit", params.get("q"))
    remaining = params.get("remaining", params.get("r"))
    reset = params.get("reset", params.get("t"))
    return limit, remaining, reset


def parse_rate_limit_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> RateLimitInfo | None:
    """Read the remaining budget and reset time from lower-cased ``headers``.

    Args:
        headers: response headers, names lower-cased.
        now: the current Unix time (for reset values that are timestamps).

    Returns:
        The budget, or ``None`` if the headers do not say both what is left and
        when it resets.
    """
    wall = time.time() if now is None else now
    for limit_name, remaining_name, reset_name in _FAMILIES:
        remaining = _number(headers.get(remaining_name))
        if remaining is None:
            continue
        reset = _number(headers.get(reset_name))
        if reset is None:
            continue
        limit = _number(headers.get(limit_name))
        if limit is None and limit_name == "ratelimit-limit":
            limit = _number(headers.get("ratelimit-policy"))
        return RateLimitInfo(limit, remaining, _reset_seconds(reset, wall))
    combined = headers.get("ratelimit")
    if combined:
        limit, remaining, reset = _structured(combined)
        if remaining is not None and reset is not None:
            if limit is None and "ratelimit-policy" in headers:
                limit, _, _ = _structured(headers["ratelimit-policy"])
            return RateLimitInfo(limit, remaining, _reset_seconds(reset, wall))
    return None


def has_rate_limit_headers(headers: Mapping[str, str]) -> bool:
    """Whether ``headers`` may say something about the rate limit (a cheap test).

    Works on lower-cased names and on case-insensitive mappings alike.
    """
    # istr keys are case-folded once, here, not at every lookup in aiohttp's
    # case-insensitive mapping (and compare equal to plain lower-case names).
    return (
        _X_RATELIMIT_REMAINING in headers
        or _RATELIMIT_REMAINING in headers
        or _X_RATE_LIMIT_REMAINING in headers
        or _RATELIMIT in headers
    )


_X_RATELIMIT_REMAINING = istr("x-ratelimit-remaining")
_RATELIMIT_REMAINING = istr("ratelimit-remaining")
_X_RATE_LIMIT_REMAINING = istr("x-rate-limit-remaining")
_RATELIMIT = istr("ratelimit")
