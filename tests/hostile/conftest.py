"""Fixtures for hostile-server tests: a scriptable inline aiohttp app and leak scans."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

Behaviour = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Hostile:
    """An inline server whose every answer comes from :attr:`behaviour`."""

    def __init__(self) -> None:
        self.server: TestServer | None = None
        self.hits: list[web.Request] = []
        self.behaviour: Behaviour = self._ok

    @staticmethod
    async def _ok(request: web.Request) -> web.StreamResponse:
        return web.json_response({})

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request)
        return await self.behaviour(request)


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    state = Hostile()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state.server = server
    yield state
    await server.close()


class Scanner:
    """Collects every text an observer could see and finds credentials in it."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def exception(self, exc: BaseException) -> None:
        """Add ``exc`` and everything chained to it."""
        self.texts.extend(exception_texts(exc))

    def records(self, records: Iterable[logging.LogRecord]) -> None:
        """Add log records (messages, raw args, attached exceptions)."""
        self.texts.extend(record_texts(records))

    def add(self, *texts: object) -> None:
        """Add the ``str`` and ``repr`` of arbitrary objects."""
        for text in texts:
            self.texts.extend((str(text), repr(text)))

    def leaks(self, secrets: Iterable[str]) -> list[str]:
        """The collected texts holding any of ``secrets``."""
        return leaks(self.texts, secrets)


@pytest.fixture
def scanner() -> Scanner:
    return Scanner()


def exception_texts(exc: BaseException) -> Iterator[str]:
    """str/repr/args/attributes/notes of ``exc``, its causes, contexts and members."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(getattr(current, "__dict__", {}))
        yield repr(getattr(current, "__notes__", []))
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                todo.append(nxt)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)


def record_texts(records: Iterable[logging.LogRecord]) -> Iterator[str]:
    """Every log record's message, raw args and attached exception."""
    for record in records:
        yield record.getMessage()
        yield repr(record.args)
        yield str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            yield from exception_texts(record.exc_info[1])
        if record.exc_text:
            yield record.exc_text


def leaks(texts: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """The texts holding any of ``secrets`` (an empty list: no leak)."""
    wanted = [s for s in secrets if s]
    return [t for t in texts if any(s in t for s in wanted)]


@pytest.fixture(scope="module", autouse=True)
def _errors_scrubbed(every_error_scrubbed: None) -> None:
    """Every library error raised in this suite holds no credential, chain and all."""
