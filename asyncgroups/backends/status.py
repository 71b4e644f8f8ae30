"""The shared status table and the helpers every backend's ``sansio.decipher`` uses.

An error status decides the exception class (an HTML 502 page is a ``ServerError``);
each backend refines the message and field errors from its own error body. This
module performs no I/O.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from asyncgroups import _redact
from asyncgroups.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    DecodeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RejectedRequestError,
    ServerError,
)
from asyncgroups.transport.base import Response
from asyncgroups.transport.headers import parse_retry_after

__all__ = [
    "STATUS_ERRORS",
    "api_error",
    "error_class",
    "fallback_detail",
    "parse_json",
]

#: Status -> exception class, the one table every backend shares.
STATUS_ERRORS: Mapping[int, type[APIError]] = {
    400: RejectedRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: NotFoundError,
    412: ConflictError,
    422: RejectedRequestError,
    429: RateLimitedError,
}

_DETAIL_LIMIT = 200
#: How much of an error body is read for its detail. A server's error page is
#: attacker-sized (up to the body cap): every scan below is linear and bounded by
#: this, so one answer can never hold the event loop.
_SCAN_LIMIT = 64 * 1024
#: The largest error body read as JSON (error documents are small).
ERROR_JSON_LIMIT = 1024 * 1024


def error_class(status: int) -> type[APIError]:
    """The exception class for an error status."""
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    if status >= 500:
        return ServerError
    return APIError


def fallback_detail(response: Response) -> str:
    """A short, safe description of an error body that no backend rule matched."""
    body = response.body
    if not body:
        return ""
    head = body[:_SCAN_LIMIT]
    ctype = response.header("content-type", "") or ""
    if "html" in ctype or head.lstrip()[:1] == b"<":
        title = _title(head)
        text = (head if title is None else title).decode("utf-8", "replace")
        return "HTML page: " + " ".join(_strip_tags(text).split())
    return " ".join(head.decode("utf-8", "replace").split())


def _title(page: bytes) -> bytes | None:
    """The text of the first ``<title>`` element, found in linear time."""
    lowered = page.lower()
    start = lowered.find(b"<title")
    if start < 0:
        return None
    opened = lowered.find(b">", start)
    if opened < 0:
        return None
    end = lowered.find(b"</title", opened)
    return page[opened + 1 : end if end >= 0 else len(page)]


def _strip_tags(text: str) -> str:
    """``text`` with ``<...>`` tags replaced by spaces (an unclosed one ends it)."""
    parts: list[str] = []
    at = 0
    while True:
        opened = text.find("<", at)
        if opened < 0:
            parts.append(text[at:])
            break
        parts.append(text[at:opened])
        closed = text.find(">", opened)
        if closed < 0:
            break
        parts.append(" ")
        at = closed + 1
    return "".join(parts)


def api_error(
    response: Response,
    *,
    backend: str,
    detail: str = "",
    errors: Mapping[str, Sequence[str]] | None = None,
    kind: type[APIError] | None = None,
) -> APIError:
    """Build the typed error for an error response.

    The detail is scrubbed of every credential the request carried (servers may echo
    headers into bodies) and cut to 200 characters; the URL is redacted.
    A 3xx becomes a plain [`APIError`][asyncgroups.errors.APIError] naming the redirect
    target. `kind` overrides the class the status decides, for an API that answers
    with a status other than its meaning (Graph's 400 for an id that cannot exist).
    """
    request = response.request
    secrets = _redact.secret_values(request.headers)
    status = response.status
    if 300 <= status < 400:
        location = response.header("location")
        target = _redact.url(location) if location else "an unnamed location"
        detail = f"redirect to {target} not followed"
    if not detail:
        detail = fallback_detail(response)
    detail = _redact.scrub(detail, secrets)
    if len(detail) > _DETAIL_LIMIT:
        detail = detail[: _DETAIL_LIMIT - 1] + "…"
    common: dict[str, Any] = {
        "backend": backend,
        "status": status,
        "method": request.method,
        "url": _redact.url(request.url),
        "request_id": response.header("x-request-id"),
        "attempts": response.attempts,
        "elapsed": response.elapsed,
    }
    cls = error_class(status) if kind is None else kind
    if cls is RateLimitedError:
        return RateLimitedError(
            detail,
            retry_after=parse_retry_after(response.header("retry-after")),
            **common,
        )
    if cls is RejectedRequestError:
        scrubbed = {
            _redact.scrub(k, secrets): [_redact.scrub(m, secrets) for m in v]
            for k, v in (errors or {}).items()
        }
        return RejectedRequestError(detail, errors=scrubbed, **common)
    return cls(detail, **common)


def parse_json(response: Response, *, backend: str) -> Any:
    """Decode a success response's JSON body.

    Raises:
        DecodeError: the body is empty, not UTF-8, not JSON, or an HTML page.
    """
    body = response.body
    if not body.strip():
        raise DecodeError(
            f"empty body in {response.status} answer to {_where(response)}",
            backend=backend,
        )
    try:
        try:
            # JSON is UTF-8 (RFC 8259): decoding here spares json.loads its
            # encoding sniffing; anything else (a BOM, UTF-16) gets the sniffing.
            return json.loads(body.decode())
        except ValueError:
            return json.loads(body)
    # ValueError also covers integers over Python's digit limit (CVE-2020-10735).
    except json.JSONDecodeError as exc:
        where = f" ({exc.msg} at line {exc.lineno} column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        where = f" ({type(exc).__name__})"
    kind = "an HTML page" if body.lstrip()[:1] == b"<" else "malformed JSON"
    # Raised outside the handlers, with no cause or context: a JSONDecodeError
    # holds the whole body (``doc``), which may echo the request's credential.
    raise DecodeError(
        f"{kind} in {response.status} answer to {_where(response)}{where}",
        backend=backend,
    )


def _where(response: Response) -> str:
    return f"{response.request.method} {_redact.url(response.request.url)}"


def try_json(response: Response) -> Any:
    """The body as JSON, or ``None`` if it is not JSON (for error bodies).

    Only bodies that can be JSON error documents are decoded: one starting with
    ``{`` or ``[``, of at most `ERROR_JSON_LIMIT` bytes. Decoding a 50 MB
    HTML page only to fail held the event loop for tens of milliseconds.
    """
    body = response.body
    if len(body) > ERROR_JSON_LIMIT or body[:64].lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None
