"""A small forwarding HTTP proxy for tests, on 127.0.0.1, that records what it relays.

It speaks the two ways a client uses an ``http://`` proxy:

- ``CONNECT host:port``: answers ``200`` and tunnels bytes both ways untouched (the
  TLS of an ``https://`` API passes through it);
- an absolute-URI request (``GET http://host:port/path HTTP/1.1``): forwards it to
  the origin in origin form with ``Connection: close``, relays the answer, and
  closes the client's connection after it.

Every request line and header block it receives is kept, and every byte it relays
in either direction (request heads included), so a test can search them. With
``require_auth`` set, a request whose ``Proxy-Authorization`` differs is answered
``407``.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import attrs

_MAX_HEAD = 64 * 1024


@attrs.define
class ForwardProxy:
    """A running proxy and what it saw.

    Attributes:
        url: ``http://127.0.0.1:PORT``.
        request_lines: the first line of every request received, in order.
        headers: the header block of every request received (names lower-cased).
        relayed: every byte received from clients and origins.
        require_auth: the ``Proxy-Authorization`` value to insist on, if any.
    """

    url: str = ""
    request_lines: list[str] = attrs.field(factory=list)
    headers: list[dict[str, str]] = attrs.field(factory=list)
    relayed: bytearray = attrs.field(factory=bytearray, repr=False)
    require_auth: str | None = attrs.field(default=None, repr=False)
    _writers: set[asyncio.StreamWriter] = attrs.field(factory=set, repr=False)

    @property
    def connects(self) -> list[str]:
        """The ``CONNECT`` request lines."""
        return [line for line in self.request_lines if line.startswith("CONNECT ")]

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one client connection."""
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.relayed += head
        line, _, rest = head.decode("latin-1").partition("\r\n")
        self.request_lines.append(line)
        fields: dict[str, str] = {}
        for item in rest.split("\r\n"):
            name, sep, value = item.partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        self.headers.append(fields)
        method, target, _version = line.split(" ", 2)
        if (
            self.require_auth is not None
            and fields.get("proxy-authorization") != self.require_auth
        ):
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            await self._tunnel(reader, writer, host, int(port))
        else:
            await self._forward(reader, writer, method, target, fields)

    async def _open(
        self, writer: asyncio.StreamWriter, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            return await asyncio.open_connection(host, port)
        except OSError:
            writer.write(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                b"Connection: close\r\n\r\n"
            )
            await writer.drain()
            return None

    async def _tunnel(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        port: int,
    ) -> None:
        opened = await self._open(writer, host, port)
        if opened is None:
            return
        up_reader, up_writer = opened
        self._writers.add(up_writer)
        try:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer)
            )
        finally:
            self._writers.discard(up_writer)
            up_writer.close()

    async def _forward(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        target: str,
        fields: dict[str, str],
    ) -> None:
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        body = b""
        length = int(fields.get("content-length", "0"))
        if length:
            body = await reader.readexactly(length)
            self.relayed += body
        opened = await self._open(writer, parts.hostname, parts.port or 80)
        if opened is None:
            return
        up_reader, up_writer = opened
        self._writers.add(up_writer)
        try:
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            skip = {"proxy-authorization", "proxy-connection", "connection"}
            lines = [f"{method} {path} HTTP/1.1"]
            lines += [f"{k}: {v}" for k, v in fields.items() if k not in skip]
            lines.append("connection: close")
            up_writer.write("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body)
            await up_writer.drain()
            await self._pipe(up_reader, writer)
        finally:
            self._writers.discard(up_writer)
            up_writer.close()

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter
    ) -> None:
        try:
            while data := await source.read(65536):
                self.relayed += data
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()

    def close_all(self) -> None:
        """Close every open connection, client side and origin side."""
        for writer in list(self._writers):
            writer.close()


@contextlib.asynccontextmanager
async def serve_forward_proxy(
    require_auth: str | None = None,
) -> AsyncIterator[ForwardProxy]:
    """Run a `ForwardProxy` on a free port of 127.0.0.1."""
    proxy = ForwardProxy(require_auth=require_auth)
    tasks: set[asyncio.Task[None]] = set()

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await proxy.handle(reader, writer)
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=_MAX_HEAD)
    port = server.sockets[0].getsockname()[1]
    proxy.url = f"http://127.0.0.1:{port}"
    try:
        yield proxy
    finally:
        server.close()
        proxy.close_all()
        for task in list(tasks):
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
