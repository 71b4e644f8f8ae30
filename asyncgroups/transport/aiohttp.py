"""AiohttpTransport: the one place that performs HTTP I/O and maps aiohttp's exceptions.

It owns one ``aiohttp.ClientSession`` (connection reuse, ``ClientTimeout``, TLS
verification on by default, redirects never followed), or borrows one it never closes.
A proxy, if any, is given to every request, so an owned and a borrowed session reach
the API the same way; the environment's proxies and ``.netrc`` are read only when
asked (``trust_env``).
aiohttp exceptions are translated (`asyncgroups.transport.translate`) into
[`asyncgroups.errors`][asyncgroups.errors]; nothing above this module sees an aiohttp
type.
"""

import asyncio
import logging
import re
import ssl
import time
import warnings
from collections.abc import Sequence
from typing import Any

import aiohttp
import aiohttp.http_exceptions

from asyncgroups import _redact
from asyncgroups.arguments import check_bool, check_proxy_url, check_seconds
from asyncgroups.errors import (
    ClientClosedError,
    ConfigurationError,
    DecodeError,
    RequestTimeoutError,
)
from asyncgroups.transport.base import Request, Response
from asyncgroups.transport.translate import translate as _translate

__all__ = ["DEFAULT_MAX_BODY", "AiohttpTransport"]

logger = logging.getLogger("asyncgroups.transport")

_NO_BODY_AUTO_HEADERS = ("Content-Type",)
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
_BAD_HEADER_NAME = re.compile(r"[\x00-\x1f\x7f]")

#: Default cap on one response body: far above the largest real page.
DEFAULT_MAX_BODY = 64 * 1024 * 1024


class AiohttpTransport:
    """Sends requests over aiohttp with connection reuse.

    Args:
        session: a session to borrow (a web app's); it is never closed here.
        timeout: total seconds for one attempt (connect, send, read): a positive,
            finite number. An attempt without an end is refused (``None``, NaN,
            infinity), so every request ends.
        connect_timeout: seconds to establish a connection; defaults to ``timeout``.
        read_timeout: seconds the server may stay silent while answering;
            ``None`` leaves only ``timeout``.
        verify: verify TLS certificates (default). ``False`` is logged as a warning.
        ssl_context: a custom context, e.g. one trusting a private CA.
        limit: connection pool size of an owned session.
        trace_configs: aiohttp ``TraceConfig`` objects for an owned session.
        max_body: largest response body read, in bytes; larger raises ``DecodeError``.
        proxy: an ``http://[user:password@]host:port`` proxy for every request,
            borrowed session or not (``https://`` APIs are reached through a
            ``CONNECT`` tunnel, TLS end to end); it wins over the environment's.
            Its credentials are sent as ``Proxy-Authorization`` and never logged.
        trust_env: let an owned session read ``HTTP_PROXY``/``HTTPS_PROXY``/
            ``NO_PROXY`` and ``.netrc``, as aiohttp does. A borrowed session keeps
            its own setting, so ``True`` with ``session`` is refused.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        verify: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        limit: int = 100,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        max_body: int = DEFAULT_MAX_BODY,
        proxy: str | None = None,
        trust_env: bool = False,
    ) -> None:
        check_seconds(timeout, "timeout", optional=False, error=ConfigurationError)
        check_proxy_url(proxy, "proxy", error=ConfigurationError)
        check_bool(trust_env, "trust_env", ConfigurationError)
        check_seconds(connect_timeout, "connect_timeout", error=ConfigurationError)
        check_seconds(read_timeout, "read_timeout", error=ConfigurationError)
        if max_body < 1:
            raise ConfigurationError("max_body must be positive")
        if session is not None and trace_configs:
            raise ConfigurationError(
                "trace_configs apply to a session the client creates; "
                "give them to the borrowed session instead"
            )
        if session is not None and trust_env:
            raise ConfigurationError(
                "trust_env applies to a session the client creates; create the "
                "borrowed session with trust_env=True instead"
            )
        self._borrowed = session
        self._session: aiohttp.ClientSession | None = session
        self._timeout = aiohttp.ClientTimeout(
            total=timeout,
            connect=connect_timeout,
            sock_read=read_timeout,
        )
        if not verify and ssl_context is None:
            logger.warning("TLS certificate verification is OFF for this client")
        self._ssl: ssl.SSLContext | bool = (
            ssl_context if ssl_context is not None else verify
        )
        self._limit = limit
        self._trust_env = trust_env
        self._trace_configs = list(trace_configs)
        self._max_body = max_body
        # Take a body that has fully arrived straight from the stream (see send);
        # a traced session gets every body through resp.read(), which sends its
        # chunk event.
        self._take_received = not (
            session.trace_configs if session is not None else self._trace_configs
        )
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # Per request, so a borrowed session gets the Client's settings too; an
        # owned session (and its connector) already has them.
        self._request_kwargs: dict[str, Any] = {"allow_redirects": False}
        if proxy is not None:
            # aiohttp turns the URL's user:password into Proxy-Authorization
            self._request_kwargs["proxy"] = proxy
            logger.debug("requests go through the proxy %s", _redact.url(proxy))
        if session is not None:
            self._request_kwargs.update(
                ssl=self._ssl, timeout=self._timeout, raise_for_status=False
            )
        # aiohttp would label an empty POST body application/octet-stream.
        self._empty_body_kwargs = {
            **self._request_kwargs,
            "skip_auto_headers": _NO_BODY_AUTO_HEADERS,
        }

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` was called."""
        return self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this client is closed; create a new one")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise ConfigurationError(
                "this client is bound to another event loop; create one per loop"
            )
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limit, ssl=self._ssl, enable_cleanup_closed=False
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                trace_configs=self._trace_configs or None,
                auto_decompress=True,
                trust_env=self._trust_env,
            )
        return self._session

    async def send(self, request: Request) -> Response:
        """Send one request; any status is returned, never raised.

        Raises:
            ConfigurationError: a header value holds CR/LF, or the URL is invalid.
            ConnectError: the connection could not be made (nothing was sent).
            RequestTimeoutError: the attempt timed out.
            ConnectionDroppedError: the connection closed mid-exchange.
            ConnectionDroppedError: also a compressed body that could not be
                decompressed (cut short or corrupt).
            DecodeError: the body exceeded ``max_body`` (counted as it is
                decompressed) or aiohttp's own decompression limit.
            ConnectError: also a proxy that cannot be reached or refused the
                tunnel to an ``https://`` API (nothing reached the API).
            ConfigurationError: also the proxy's 407 (its credentials were
                refused), and settings aiohttp refuses (with ``trust_env``, a
                ``.netrc`` entry for a host the backend authenticates to itself).
            ClientClosedError: the transport was closed.
        """
        for name, value in request.headers.items():
            if value.isprintable() and name.isprintable():
                continue  # no control character: the all-clear in C (0.24 vs 0.53 µs)
            if "\r" in value or "\n" in value or "\x00" in value:
                raise _bad_header(name)
            if _BAD_HEADER_NAME.search(name):
                raise _bad_header(name)
        session = self._session
        if (
            session is None
            or self._closed
            or self._loop is not asyncio.get_running_loop()
        ):
            session = self._get_session()
        kwargs = self._request_kwargs
        if request.body:
            kwargs = {**kwargs, "data": request.body}
        elif request.method not in _BODYLESS:
            kwargs = self._empty_body_kwargs
        started = time.monotonic()
        try:
            resp = await session.request(
                request.method, request.url, headers=request.headers, **kwargs
            )
            try:
                content = resp.content
                if self._take_received and content.is_eof() and not request.body:
                    # The whole body is here and aiohttp has given the connection
                    # back: take the bytes without resp.read(), which also waits
                    # for the request writer. Measured with
                    # benchmarks/transport_overhead.py (this ÷ the same through
                    # resp.read(), client CPU per GET, medians of 15 rounds):
                    # 0.905, 0.945, 0.931, 0.958 in four runs, 1.015 in a fifth;
                    # 10-25 µs of 200-270 µs a request.
                    if content.total_bytes > self._max_body:  # before any copy
                        raise self._too_big(request, content.total_bytes)
                    body = content.read_nowait()
                else:
                    length = resp.content_length
                    if (
                        length is not None
                        and length <= self._max_body
                        and "Content-Encoding" not in resp.headers
                    ):
                        body = await resp.read()
                    else:
                        body = await self._read_capped(resp, request)
            finally:
                resp.release()
            return Response(
                resp.status, resp.headers, body, request, 1, time.monotonic() - started
            )
        except aiohttp.ClientError as exc:
            error = _translate(exc, request)
        except ValueError:
            # aiohttp's own argument checks, e.g. a .netrc login (trust_env) for a
            # request that already carries an Authorization header
            safe_url = _redact.url(request.url)
            error = ConfigurationError(
                f"{request.method} {safe_url} could not be sent: aiohttp refused "
                "its settings"
                + (
                    " (with trust_env, a .netrc entry for this host conflicts with "
                    "the backend's own Authorization header)"
                    if self._trust_env
                    else ""
                )
            )
        except TimeoutError:
            safe_url = _redact.url(request.url)
            error = RequestTimeoutError(
                f"{request.method} {safe_url} timed out",
                method=request.method,
                url=safe_url,
            )
        # Raised outside the handlers, so the typed error has neither a cause nor a
        # context: aiohttp's exceptions carry the raw URL and the request headers
        # (``request_info``), and ``from None`` only hides a context, it keeps it
        # for any error reporter walking the chain.
        raise error

    def _too_big(self, request: Request, length: int) -> DecodeError:
        safe_url = _redact.url(request.url)
        return DecodeError(
            f"response to {request.method} {safe_url} is {length} bytes, "
            f"over the {self._max_body}-byte cap"
        )

    async def _read_capped(
        self, resp: aiohttp.ClientResponse, request: Request
    ) -> bytes:
        """Read a body of unknown, excessive or compressed length, up to ``max_body``.

        A compressed body is counted as it is decompressed: a small gzip bomb is
        stopped at the cap, not read whole.
        """
        length = resp.content_length
        if length is not None and length > self._max_body:
            raise self._too_big(request, length)
        safe_url = _redact.url(request.url)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > self._max_body:
                raise DecodeError(
                    f"response to {request.method} {safe_url} exceeds the "
                    f"{self._max_body}-byte cap"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Close the owned session (a borrowed one is left open); idempotent."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is not None and session is not self._borrowed:
            await session.close()

    def __del__(self, _warnings: Any = warnings) -> None:
        session = getattr(self, "_session", None)
        if session is not None and session is not self._borrowed and not session.closed:
            _warnings.warn(
                f"unclosed {type(self).__name__}; use 'async with Client(...)' "
                "or await client.aclose()",
                ResourceWarning,
                stacklevel=1,
            )


def _bad_header(name: str) -> ConfigurationError:
    # the name only: the value may be a credential
    return ConfigurationError(
        f"header {name!r} must not contain CR, LF or NUL characters"
    )
