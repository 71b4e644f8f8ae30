"""Parsing of ``Retry-After`` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date."""

import math
import time
from email.utils import parsedate_to_datetime

__all__ = ["parse_retry_after"]


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
