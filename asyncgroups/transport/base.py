"""The transport contract: frozen Request/Response values and the AsyncTransport Protocol.

Transports know HTTP, not groups. Backends build
[`Request`][asyncgroups.transport.base.Request] values (pure) and decipher
[`Response`][asyncgroups.transport.base.Response] values (pure); only transports perform
I/O.
"""

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from attrs import field, frozen
from multidict import CIMultiDictProxy

from asyncgroups import _redact

__all__ = ["IDEMPOTENT_METHODS", "AsyncTransport", "Request", "Response"]

#: RFC 9110 §9.2.2: methods whose repetition has the same effect as one request.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


def _response_headers(value: Mapping[str, str]) -> Mapping[str, str]:
    # aiohttp's headers (multidict, which aiohttp depends on) already look names up
    # case-insensitively: kept as they are, with no copy on the hot path.
    if type(value) is CIMultiDictProxy:
        return value
    return {k.lower(): v for k, v in value.items()}


# Request and Response are made once per attempt: frozen, but without __slots__,
# whose frozen __init__ goes through object.__setattr__ for every field (about
# twice the cost of the instance-dict stores used here).
@frozen(slots=False)
class Request:
    """One HTTP request, built by a backend's ``sansio`` module.

    Attributes:
        method: the HTTP method.
        url: the absolute URL, query string included.
        headers: request headers (credentials hidden in the repr). The mapping is
            held as given, not copied: build a fresh one for each request and do
            not change it afterwards (it may be sent again by a retry).
        body: the encoded body.
        idempotent: safe to re-send after an unknown outcome even if the method is
            not idempotent by RFC 9110 (e.g. a set-style membership POST).
        deadline: the latest time, on the transport stack's monotonic clock, this
            request may still be sent; set by the retrying layer on retries so
            that waits for the rate limiter stay within the request's deadline.
        family: the endpoint family whose rate-limit budget this request spends
            (e.g. ``"GET /api/v1/groups/{id}/users"``), named by the backend where
            the API keeps one budget per family; the rate-limit headers of its
            answers then pace that family alone. ``None``: the Client's budget.
    """

    # str.upper itself (a C method), not a wrapper: this runs for every request.
    method: str = field(converter=str.upper)  # type: ignore[misc]
    url: str = field(repr=_redact.url)
    headers: Mapping[str, str] = field(factory=dict, repr=_redact.headers_repr)
    body: bytes = field(default=b"", repr=lambda b: f"<{len(b)} bytes>")
    idempotent: bool = False
    deadline: float | None = field(default=None, eq=False, repr=False)
    family: str | None = field(default=None, repr=False)

    @property
    def replayable(self) -> bool:
        """Whether re-sending after an unknown outcome cannot apply it twice."""
        return self.idempotent or self.method in IDEMPOTENT_METHODS


@frozen(slots=False)
class Response:
    """One HTTP response.

    Attributes:
        status: the status code.
        headers: response headers, looked up case-insensitively. aiohttp's
            mapping is kept as it is (names keep the server's case when iterated;
            a repeated header reads as its first value); any other mapping given
            is copied with lower-cased names.
        body: the whole body.
        request: the request this answers.
        attempts: how many times the request was sent to get this response.
        elapsed: seconds from the first attempt to this response.
    """

    status: int
    headers: Mapping[str, str] = field(converter=_response_headers, repr=False)
    body: bytes = field(repr=lambda b: f"<{len(b)} bytes>")
    request: Request
    attempts: int = 1
    elapsed: float = 0.0

    def header(self, name: str, default: str | None = None) -> str | None:
        """A response header by case-insensitive name."""
        return self.headers.get(name.lower(), default)


@runtime_checkable
class AsyncTransport(Protocol):
    """Sends requests. Every layer of the transport stack has this shape."""

    async def send(self, request: Request) -> Response:
        """Send ``request`` and return the response (any status).

        Raises:
            TransportError: no usable HTTP response was received.
            ClientClosedError: the transport was closed.
        """
        ...

    async def aclose(self) -> None:
        """Release the transport's resources; idempotent."""
        ...
