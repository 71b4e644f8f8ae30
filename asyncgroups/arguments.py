"""Checks of arguments at the public boundary, each naming the argument it refuses.

The Client, the policies, the namespaces, planning, applying and the desired-state
sources call these before any I/O, so a wrong type or value is a
[`ConfigurationError`][asyncgroups.errors.ConfigurationError] (setup) or an
[`InvalidInputError`][asyncgroups.errors.InvalidInputError] (input) that says which
argument is wrong and what it should be, never a ``TypeError`` from deep inside.
Messages quote the type of a wrong value, never the value (it may be huge, or a secret).
"""

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from asyncgroups.errors import AsyncGroupsError, InvalidInputError

__all__ = [
    "check_bool",
    "check_callable",
    "check_choice",
    "check_count",
    "check_instance",
    "check_key_map",
    "check_proxy_url",
    "check_seconds",
]

Error = type[AsyncGroupsError]


def _kind(value: object) -> str:
    return type(value).__name__


def check_bool(value: object, name: str, error: Error = InvalidInputError) -> None:
    """Refuse anything but ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise error(f"{name} must be True or False, not {_kind(value)}")


def check_count(
    value: object,
    name: str,
    *,
    minimum: int = 1,
    optional: bool = False,
    error: Error = InvalidInputError,
) -> None:
    """Refuse anything but an ``int`` (not a bool) of at least ``minimum``."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{name} must be an int >= {minimum}, not {_kind(value)}")
    if value < minimum:
        raise error(f"{name} must be an int >= {minimum}, not {value}")


def check_seconds(
    value: object, name: str, *, optional: bool = True, error: Error = InvalidInputError
) -> None:
    """Refuse anything but a positive, finite number of seconds (or ``None``)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{name} must be a number of seconds, not {_kind(value)}")
    if not math.isfinite(value) or value <= 0:
        raise error(f"{name} must be a positive, finite number of seconds")


def check_instance(
    value: object,
    name: str,
    kind: type[Any] | tuple[type[Any], ...],
    *,
    optional: bool = True,
    error: Error = InvalidInputError,
) -> None:
    """Refuse a value that is not a ``kind`` (``None`` passes when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        wanted = " or ".join(k.__name__ for k in kinds)
        raise error(f"{name} must be a {wanted}, not {_kind(value)}")


def check_callable(
    value: object, name: str, *, optional: bool = True, error: Error = InvalidInputError
) -> None:
    """Refuse a value that cannot be called (``None`` passes when ``optional``)."""
    if value is None and optional:
        return
    if not callable(value):
        raise error(f"{name} must be callable, not {_kind(value)}")


def check_choice(
    value: object, name: str, choices: Iterable[str], error: Error = InvalidInputError
) -> None:
    """Refuse a value that is not one of ``choices``."""
    allowed = tuple(choices)
    if not isinstance(value, str) or value not in allowed:
        raise error(f"{name} must be one of {', '.join(map(repr, allowed))}")


_UNSAFE_URL_CHARACTERS = re.compile(r"[\x00-\x20\x7f]")


def check_proxy_url(
    value: object,
    name: str = "proxy",
    *,
    optional: bool = True,
    error: Error = InvalidInputError,
) -> None:
    """Refuse anything but an ``http://`` proxy URL with a host (``None`` passes).

    ``http://user:password@host:port`` is accepted. The messages quote no part
    of the value: it may carry the proxy's password.
    """
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise error(f"{name} must be a str URL, not {_kind(value)}")
    if _UNSAFE_URL_CHARACTERS.search(value):
        raise error(f"{name} must not contain spaces, CR, LF or control characters")
    parts: SplitResult | None
    port: int | None = None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts = None
    if parts is None:  # raised outside the handler: no context quoting the value
        raise error(f"{name} is not a valid URL (check its host and port)")
    if parts.scheme.lower() != "http":
        raise error(
            f"{name} must be an http:// URL, e.g. http://proxy.example:3128 "
            "(the tunnel to an https:// API is still TLS end to end)"
        )
    if not parts.hostname:
        raise error(f"{name} must name a host, e.g. http://proxy.example:3128")
    if port == 0:
        raise error(f"{name} has port 0")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise error(f"{name} must not have a path, query or fragment")


def check_key_map(value: object, name: str = "key_map") -> None:
    """Refuse a key map that is neither a mapping nor a callable (``None`` passes)."""
    if value is None or isinstance(value, Mapping) or callable(value):
        return
    raise InvalidInputError(
        f"{name} must be a mapping or a callable, not {_kind(value)}"
    )


def mapped_key(key: str, result: object, name: str = "key_map") -> str | None:
    """Check what a key map gave for ``key``: a non-empty string, or ``None``.

    Raises:
        InvalidInputError: naming ``key_map`` and the key it mistranslated.
    """
    if result is None or (isinstance(result, str) and result):
        return result
    raise InvalidInputError(
        f"{name} must give a non-empty str or None for each key; for {key!r} it "
        f"gave {_kind(result)}"
    )


def call_key_map(
    key: str, key_map: Callable[[str], object] | Mapping[str, object]
) -> str | None:
    """Translate ``key`` through a mapping or a callable, checking the result."""
    result = key_map.get(key) if isinstance(key_map, Mapping) else key_map(key)
    return mapped_key(key, result)
