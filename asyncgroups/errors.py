"""The exceptions asyncgroups raises: one root, typed leaves, stdlib mixins.

Everything the library raises derives from
[`AsyncGroupsError`][asyncgroups.errors.AsyncGroupsError]:

    AsyncGroupsError                               root; everything the library raises
    ├── ConfigurationError (+ValueError)           bad setup: base_url, CR/LF in a header value, bad policy numbers
    ├── InvalidInputError (+ValueError)            caught before any I/O: path chars in a name, empty id, bad e-mail
    ├── TransportError                             no usable HTTP response
    │   ├── ConnectError (+ConnectionError)
    │   ├── RequestTimeoutError (+TimeoutError)
    │   └── ConnectionDroppedError                 server closed / reset mid-exchange
    ├── APIError                                   .backend .status .method .url (redacted) .detail
    │   ├── AuthenticationError                    401; a wrong token kind
    │   ├── PermissionDeniedError                  403
    │   ├── NotFoundError (+LookupError)           404; unknown user, group or pid
    │   ├── ConflictError                          409; name taken
    │   ├── RateLimitedError                       429 after retries; .retry_after
    │   ├── RejectedRequestError                   400/422 the server refused the payload; .errors
    │   └── ServerError                            5xx after retries
    ├── DecodeError                                malformed JSON, HTML error page, schema mismatch
    ├── UnsupportedOperationError                  the backend lacks the capability
    ├── ClientClosedError (+RuntimeError)          use after aclose()
    ├── SyncAbortedError                           a sync refused to run: incomplete listing, max_removals, drift
    └── PartialSyncError (ExceptionGroup)          a sync applied some operations and failed others; .report

An error status decides the class (an HTML 502 page is a
[`ServerError`][asyncgroups.errors.ServerError]);
[`DecodeError`][asyncgroups.errors.DecodeError] is for a success status whose body is
not what the API promises. Messages are built from safe fields only: status, method,
redacted URL and the server's own message with any credential scrubbed out.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self

__all__ = [
    "APIError",
    "AsyncGroupsError",
    "AuthenticationError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionDroppedError",
    "DecodeError",
    "InvalidInputError",
    "NotFoundError",
    "PartialSyncError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RejectedRequestError",
    "RequestTimeoutError",
    "ServerError",
    "SyncAbortedError",
    "TransportError",
    "UnsupportedOperationError",
    "outcome_unknown",
]

#: Gateway statuses after which the upstream may or may not have applied a write.
_GATEWAY_STATUSES = frozenset({502, 503, 504})
#: Write methods aiohttp re-sends by itself, once, when a kept-alive connection drops.
_RESENT_BY_AIOHTTP = frozenset({"PUT", "DELETE"})


class AsyncGroupsError(Exception):
    """Root of everything asyncgroups raises."""


class ConfigurationError(AsyncGroupsError, ValueError):
    """Bad setup: a base URL, a CR/LF in a header value, bad policy numbers."""


class InvalidInputError(AsyncGroupsError, ValueError):
    """Bad input caught before any I/O: path characters in a name, an empty id."""


class TransportError(AsyncGroupsError):
    """No usable HTTP response was received.

    Attributes:
        method: the HTTP method of the request, if known.
        url: the request URL with credentials removed, if known.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.url = url

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


class ConnectError(TransportError, ConnectionError):
    """The connection could not be established (nothing was sent)."""


class RequestTimeoutError(TransportError, TimeoutError):
    """The request timed out; whether the server applied it is unknown."""


class ConnectionDroppedError(TransportError):
    """The server closed or reset the connection mid-exchange."""


class APIError(AsyncGroupsError):
    """The server answered with an error status.

    Attributes:
        backend: registry name of the backend ("neuroio", ...).
        status: the HTTP status code.
        method: the HTTP method.
        url: the request URL with credentials removed.
        detail: the server's own message, credentials scrubbed, at most 200 chars.
        request_id: the server's request id header, if any.
        attempts: how many times the request was sent.
    """

    def __init__(
        self,
        detail: str = "",
        *,
        backend: str = "",
        status: int = 0,
        method: str = "",
        url: str = "",
        request_id: str | None = None,
        attempts: int = 1,
        elapsed: float = 0.0,
    ) -> None:
        self.detail = detail
        self.backend = backend
        self.status = status
        self.method = method
        self.url = url
        self.request_id = request_id
        self.attempts = attempts
        self.elapsed = elapsed
        super().__init__(self._message())

    def _message(self) -> str:
        head = " ".join(str(p) for p in (self.status or "", self.method, self.url) if p)
        text = f"{head}: {self.detail}" if head and self.detail else head or self.detail
        if self.backend:
            text = f"[{self.backend}] {text}"
        if self.attempts > 1:
            text += (
                f" (gave up after {self.attempts} attempts over {self.elapsed:.1f} s)"
            )
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


class AuthenticationError(APIError):
    """401, or a token of the wrong kind."""


class PermissionDeniedError(APIError):
    """403: the credentials may not perform this action."""


class NotFoundError(APIError, LookupError):
    """404: an unknown user, group or member key."""


class ConflictError(APIError):
    """409: the name is taken or the object already exists."""


class RateLimitedError(APIError):
    """429 that retrying could not get past.

    Attributes:
        retry_after: seconds the server asked us to wait, if it said.
    """

    def __init__(
        self, detail: str = "", *, retry_after: float | None = None, **kw: Any
    ) -> None:
        self.retry_after = retry_after
        super().__init__(detail, **kw)


class RejectedRequestError(APIError):
    """400/422: the server refused the payload.

    Attributes:
        errors: the server's per-field messages, as ``{field: [messages]}``.
    """

    def __init__(
        self,
        detail: str = "",
        *,
        errors: Mapping[str, Sequence[str]] | None = None,
        **kw: Any,
    ) -> None:
        self.errors: Mapping[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in (errors or {}).items()
        }
        super().__init__(detail, **kw)


class ServerError(APIError):
    """5xx that retrying could not get past."""


class DecodeError(AsyncGroupsError):
    """A success response whose body is not what the API promises.

    Attributes:
        backend: registry name of the backend.
        details: human-readable list of what did not match.
    """

    def __init__(
        self, message: str, *, backend: str = "", details: Sequence[str] = ()
    ) -> None:
        self.backend = backend
        self.details = tuple(details)
        text = f"[{backend}] {message}" if backend else message
        if self.details:
            text += ": " + "; ".join(self.details[:5])
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


class UnsupportedOperationError(AsyncGroupsError):
    """The backend lacks the capability for this operation."""


class ClientClosedError(AsyncGroupsError, RuntimeError):
    """The client was used after ``aclose()``."""


class SyncAbortedError(AsyncGroupsError):
    """A sync refused to run: incomplete listing, ``max_removals``, drift."""


class SyncOutcome(Protocol):
    """What `PartialSyncError` carries: a `SyncReport`.

    Named here by its shape, so that this module imports nothing of the sync
    engine (which imports it).
    """

    @property
    def applied(self) -> int:
        """Changes applied."""
        ...

    @property
    def failed(self) -> int:
        """Changes that failed."""
        ...

    @property
    def skipped(self) -> int:
        """Changes not attempted."""
        ...

    @property
    def unknown(self) -> int:
        """Changes sent whose outcome is unknown (the answer was lost)."""
        ...

    @property
    def converged(self) -> bool:
        """Whether everything asked for is in place."""
        ...

    @property
    def errors(self) -> list["AsyncGroupsError"]:
        """The distinct errors, first seen first."""
        ...

    def to_json(self, *, indent: int | None = None) -> str:
        """The report as JSON."""
        ...


class PartialSyncError(ExceptionGroup[AsyncGroupsError], AsyncGroupsError):
    """A sync applied some operations and failed others.

    Attributes:
        report: the [`SyncReport`][asyncgroups.sync.SyncReport] of what was applied
            (typed by its shape, [`SyncOutcome`][asyncgroups.errors.SyncOutcome]).
    """

    report: SyncOutcome

    def __new__(
        cls,
        message: str,
        exceptions: Sequence[AsyncGroupsError],
        report: SyncOutcome,
    ) -> Self:
        """Create the group and attach the report."""
        self = super().__new__(cls, message, exceptions)
        self.report = report
        return self

    def __init__(
        self,
        message: str,
        exceptions: Sequence[AsyncGroupsError],
        report: SyncOutcome,
    ) -> None:
        super().__init__(message, exceptions)

    def derive(  # type: ignore[override]
        self, excs: Sequence[AsyncGroupsError]
    ) -> "PartialSyncError":
        """Build a group of the same kind holding ``excs`` and the same report."""
        return PartialSyncError(self.message, excs, self.report)


def outcome_unknown(error: BaseException) -> bool:
    """Whether a write that raised ``error`` may or may not have been applied.

    The one rule the library applies everywhere (a create's reconciliation, a
    removal's re-check, a sync report's *unknown* outcome): the request was sent
    but its answer was lost.

    - [`ConnectionDroppedError`][asyncgroups.errors.ConnectionDroppedError]: the
      connection closed mid-exchange, possibly after the server applied the request.
    - [`RequestTimeoutError`][asyncgroups.errors.RequestTimeoutError]: no answer in
      time; the server may still apply it.
    - [`ServerError`][asyncgroups.errors.ServerError] with 502, 503 or 504: a gateway
      answered, and its upstream may have applied the request before the gateway gave
      up.
    - any [`APIError`][asyncgroups.errors.APIError] answering a request that may have
      been sent more than
      once: the answer is the last attempt's, and an earlier one may have been
      applied before its answer was lost (a replayable request is re-sent after a
      dropped connection; the re-send may then meet a 429, or a 400 for a change
      already made). That is ``attempts > 1``, and every ``PUT`` or ``DELETE``:
      aiohttp itself re-sends those once when a kept-alive connection drops
      (RFC 9112 section 9.3.1), which no attempt count sees.

    Everything else is a definite outcome:
    [`ConnectError`][asyncgroups.errors.ConnectError] sent nothing, a 429
    ([`RateLimitedError`][asyncgroups.errors.RateLimitedError]) to a request sent once
    was not applied, other API errors are the server's refusal.
    """
    if isinstance(error, ConnectionDroppedError | RequestTimeoutError):
        return True
    if isinstance(error, APIError) and (
        error.attempts > 1 or error.method in _RESENT_BY_AIOHTTP
    ):
        return True
    return isinstance(error, ServerError) and error.status in _GATEWAY_STATUSES


def _rebuild(
    cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]
) -> Exception:
    exc = Exception.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc
