"""Checks a backend makes before any I/O: unknown fields, path-safe ids, numbers.

Pure functions, re-exported by [`asyncgroups.backends._kit`][asyncgroups.backends._kit].
"""

from collections.abc import Iterable, Mapping

from asyncgroups import validation
from asyncgroups.errors import ConfigurationError, InvalidInputError, NotFoundError

__all__ = ["PATH_CHARS", "int_id", "path_id", "positive_int", "refuse_unknown"]


def refuse_unknown(
    extra: Mapping[str, object], known: Iterable[str], *, backend: str, what: str
) -> None:
    """Refuse backend-specific fields this backend does not know, before any I/O.

    Args:
        extra: the ``**extra`` fields a caller passed.
        known: the field names the backend accepts.
        backend: the backend's name, for the message.
        what: the kind of record ("group", "user").

    Raises:
        InvalidInputError: naming every unknown field and the known ones.
    """
    allowed = frozenset(known)
    unknown = sorted(set(extra) - allowed)
    if unknown:
        listed = ", ".join(sorted(allowed)) or "none"
        raise InvalidInputError(
            f"unknown {backend} {what} field(s): {', '.join(map(repr, unknown))} (known: {listed})"
        )


#: Refused in ids that become one URL path segment: they would address another
#: path or a query.
PATH_CHARS = frozenset("/?#%\\ ")


def path_id(value: str, what: str, *, api: str) -> str:
    """An id that becomes one URL path segment, checked before any I/O.

    Args:
        value: the id.
        what: what it names ("group id"), for the message.
        api: the API's ids, for the message ("a Graph", "an Okta").

    Raises:
        InvalidInputError: the id is empty, holds control, path, query or space
            characters, or is ``.``/``..``.
    """
    validation.check_id(value, what)
    bad = sorted(PATH_CHARS.intersection(value))
    if bad:
        raise InvalidInputError(
            f"{what} {value!r} can never be {api} id (holds {' '.join(bad)})"
        )
    if value in {".", ".."}:
        raise InvalidInputError(f"{what} must not be a relative path segment")
    return value


def int_id(value: str | int, what: str, *, backend: str) -> int:
    """An id an API numbers with integers, checked before anything is sent.

    Raises:
        NotFoundError: the id is not a non-negative decimal integer, so nothing can
            have it.
    """
    if type(value) is str and value.isdigit() and value.isascii():
        return int(value)  # what the checks below let through, in C calls
    text = str(value).strip()
    if isinstance(value, bool) or not text.isascii() or not text.isdigit():
        raise NotFoundError(
            f"no {what} {value!r}: {backend} ids are integers", backend=backend
        )
    return int(text)


def positive_int(value: object, what: str, *, most: int | None = None) -> int:
    """A set-up number that must be an ``int`` of at least 1 (and at most ``most``).

    Raises:
        ConfigurationError: it is not.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{what} must be an integer >= 1")
    if most is not None and value > most:
        raise ConfigurationError(f"{what} must be at most {most}")
    return value
