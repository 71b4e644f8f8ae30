"""aiohttp's exceptions mapped to the typed errors of `asyncgroups.errors`, most specific first.

Every message names the method and the redacted URL only: a credential in a query,
a proxy's user and password, or bytes the server echoed never reach it.
"""

from http import HTTPStatus

import aiohttp
import aiohttp.http_exceptions

from asyncgroups import _redact
from asyncgroups.errors import (
    ConfigurationError,
    ConnectError,
    ConnectionDroppedError,
    DecodeError,
    RequestTimeoutError,
    TransportError,
)
from asyncgroups.transport.base import Request

__all__ = ["translate"]


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "unknown status"


def translate(exc: aiohttp.ClientError, request: Request) -> Exception:
    """Map an aiohttp exception to the typed error, most specific first."""
    method, safe_url = request.method, _redact.url(request.url)
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        # host and port of the proxy only: its credentials are not in them
        return ConnectError(
            f"cannot connect to the proxy {exc.host}:{exc.port} for {safe_url}: "
            f"{exc.os_error.strerror or exc.os_error}",
            method=method,
            url=safe_url,
        )
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        # the proxy's own reason phrase is not quoted: a hostile proxy chooses it
        phrase = _status_phrase(exc.status)
        if exc.status == HTTPStatus.PROXY_AUTHENTICATION_REQUIRED:
            return ConfigurationError(
                f"the proxy refused its credentials for {safe_url} "
                f"({exc.status} {phrase}): check the user and password in the "
                "proxy URL"
            )
        return ConnectError(
            f"the proxy refused the tunnel to {safe_url}: {exc.status} {phrase}",
            method=method,
            url=safe_url,
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ConnectError(
            f"TLS certificate verification failed for {safe_url}: "
            f"{exc.certificate_error}",
            method=method,
            url=safe_url,
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(
            f"cannot connect to {safe_url}: {exc.os_error.strerror or exc.os_error}",
            method=method,
            url=safe_url,
        )
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectError(
            f"timed out connecting to {safe_url}", method=method, url=safe_url
        )
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return RequestTimeoutError(
            f"{method} {safe_url} timed out", method=method, url=safe_url
        )
    if isinstance(exc, aiohttp.ClientPayloadError):
        cause = exc.__cause__
        if isinstance(cause, aiohttp.http_exceptions.DecompressSizeError):
            # aiohttp refused to inflate past its own limit: a re-send won't help
            return DecodeError(
                f"response to {method} {safe_url} decompresses past aiohttp's limit"
            )
        if isinstance(cause, aiohttp.http_exceptions.ContentEncodingError):
            # cut short or corrupt: the two look alike here, so it is retried as
            # a dropped connection would be (replayable requests only)
            return ConnectionDroppedError(
                f"response to {method} {safe_url} could not be decompressed "
                "(cut short or corrupt)",
                method=method,
                url=safe_url,
            )
    if isinstance(
        exc,
        aiohttp.ServerDisconnectedError
        | aiohttp.ClientPayloadError
        | aiohttp.ClientOSError
        | aiohttp.ClientConnectionResetError,
    ):
        return ConnectionDroppedError(
            f"connection dropped during {method} {safe_url}: {type(exc).__name__}",
            method=method,
            url=safe_url,
        )
    if isinstance(exc, aiohttp.InvalidURL):
        return ConfigurationError(f"invalid URL {safe_url}")
    if isinstance(exc, aiohttp.ClientResponseError):
        # the parser's message may quote the server's bytes: an echoed credential
        detail = _redact.scrub(exc.message, _redact.secret_values(request.headers))
        return ConnectionDroppedError(
            f"malformed HTTP response to {method} {safe_url}: {detail}",
            method=method,
            url=safe_url,
        )
    return TransportError(
        f"{method} {safe_url} failed: {type(exc).__name__}", method=method, url=safe_url
    )
