"""Redaction of secrets: the one list of sensitive header and query names.

Everything that might reach a repr, a log line or an exception message passes through
here first. This module performs no I/O.
"""

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "SENSITIVE_HEADERS",
    "SENSITIVE_QUERY",
    "headers",
    "headers_repr",
    "scrub",
    "secret_values",
    "url",
]

REDACTED = "***"

#: Lower-cased header names whose values are credentials.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "http-x-partner-auth",
        "x-api-key",
        "cookie",
        "set-cookie",
    }
)

#: Lower-cased query parameter names whose values are credentials.
SENSITIVE_QUERY = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "password", "secret"}
)


def headers(values: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``values`` with every sensitive header value replaced."""
    return {
        name: (REDACTED if name.lower() in SENSITIVE_HEADERS else value)
        for name, value in values.items()
    }


def headers_repr(values: Mapping[str, str]) -> str:
    """Repr of a header mapping with the credentials hidden (for attrs ``repr=``)."""
    return repr(headers(values))


def url(value: str) -> str:
    """Return ``value`` without user info and with sensitive query values hidden."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "<invalid url>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if k.lower() in SENSITIVE_QUERY else v) for k, v in pairs],
            safe=",*",
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def secret_values(values: Mapping[str, str]) -> frozenset[str]:
    """Every credential carried by ``values``, whole and in its meaningful parts.

    ``Authorization: Token abc`` yields ``"Token abc"`` and ``"abc"``;
    ``HTTP-X-PARTNER-AUTH: site:key`` yields ``"site:key"`` and ``"key"``.
    Parts shorter than 6 characters are not returned: scrubbing them would
    mangle ordinary text while protecting nothing real.
    """
    found: set[str] = set()
    for name, value in values.items():
        if name.lower() not in SENSITIVE_HEADERS or not value:
            continue
        found.add(value)
        _, _, rest = value.partition(" ")
        if rest:
            found.add(rest)
        _, colon, after = value.partition(":")
        if colon and after:
            found.add(after)
    return frozenset(s for s in found if len(s) >= 6)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text`` with ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text
