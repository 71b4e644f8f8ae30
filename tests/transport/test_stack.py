"""The assembled stack: the one-coroutine common path decides exactly as the layers do."""

import asyncio
import gzip
import logging
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import asyncgroups as ag
from asyncgroups.transport import MockTransport, Request, Response
from asyncgroups.transport.aiohttp import AiohttpTransport
from asyncgroups.transport.limiter_store import LimiterState, MemoryState, MemoryStore
from asyncgroups.transport.stack import StackTransport, build_stack
from asyncgroups.transport.stats import TransportStats

URL = "http://127.0.0.1:9/groups/1"
FAST_RETRY = ag.RetryPolicy(base_delay=0.001, max_delay=0.01, deadline=10.0)


def _answer(request: Request, status: int, **headers: str) -> Response:
    return Response(status, headers, b"{}", request)


def _stack(
    handler: Any,
    *,
    retry: ag.RetryPolicy = FAST_RETRY,
    rate_limit: ag.RateLimit | None = None,
    hooks: ag.Hooks | None = None,
) -> tuple[StackTransport, MockTransport, TransportStats]:
    mock = MockTransport(handler)
    stats = TransportStats()
    stack = build_stack(
        mock, stats=stats, retry=retry, rate_limit=rate_limit, hooks=hooks
    )
    assert isinstance(stack, StackTransport)
    return stack, mock, stats


def _limiter(stack: StackTransport) -> Any:
    return stack.rate_limited.limiter


async def test_a_plain_answer_is_counted_once_and_returned() -> None:
    stack, mock, stats = _stack(lambda r: _answer(r, 200))
    for _ in range(3):
        response = await stack.send(Request("GET", URL))
        assert response.status == 200
        assert response.attempts == 1
    assert len(mock.requests) == 3
    assert stats == TransportStats(requests=3)
    assert _limiter(stack).in_flight == 0
    assert stack.retrying.budget is not None
    assert stack.retrying.budget.tokens == stack.retrying.budget.capacity


async def test_a_429_on_the_common_path_closes_the_gate_and_is_retried() -> None:
    answers = iter([429, 200])
    stack, mock, stats = _stack(
        lambda r: _answer(r, next(answers), **{"Retry-After": "0.2"})
    )
    started = time.monotonic()
    response = await stack.send(Request("POST", URL, body=b"{}"))
    waited = time.monotonic() - started

    assert response.status == 200
    assert response.attempts == 2
    assert waited >= 0.2  # the retry waited at the gate for Retry-After
    assert len(mock.requests) == 2  # a 429 was not applied: re-sent even for POST
    assert stats == TransportStats(requests=2, retries=1, throttled=1)
    assert _limiter(stack).gate.until > 0.0


async def test_a_connect_error_is_retried_but_a_dropped_post_is_not() -> None:
    failures: list[Exception] = [ag.ConnectError("refused")]

    def handler(request: Request) -> Response:
        if failures:
            raise failures.pop()
        return _answer(request, 201)

    stack, mock, stats = _stack(handler)
    response = await stack.send(Request("POST", URL, body=b"{}"))
    assert response.status == 201
    assert response.attempts == 2
    assert stats == TransportStats(requests=2, retries=1, transport_errors=1)

    failures.append(ag.ConnectionDroppedError("dropped after sending"))
    with pytest.raises(ag.ConnectionDroppedError):
        await stack.send(Request("POST", URL, body=b"{}"))
    assert len(mock.requests) == 3  # the ambiguous POST was sent once, not again
    assert stats.transport_errors == 2
    assert stats.retries == 1
    assert _limiter(stack).in_flight == 0


async def test_a_retryable_status_with_one_attempt_is_returned_as_is() -> None:
    stack, mock, stats = _stack(
        lambda r: _answer(r, 503), retry=ag.RetryPolicy(max_attempts=1)
    )
    response = await stack.send(Request("GET", URL))
    assert response.status == 503
    assert len(mock.requests) == 1
    assert stats == TransportStats(requests=1, server_errors=1)


async def test_other_exceptions_release_the_limiter_and_propagate() -> None:
    def handler(request: Request) -> Response:
        raise ValueError("a bug in a custom transport")

    stack, _, stats = _stack(handler)
    with pytest.raises(ValueError, match="custom transport"):
        await stack.send(Request("GET", URL))
    assert _limiter(stack).in_flight == 0
    assert stats.transport_errors == 0


async def test_cancellation_on_the_common_path_releases_the_limiter() -> None:
    started = asyncio.Event()

    async def handler(request: Request) -> Response:
        started.set()
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    stack, _, _ = _stack(handler, rate_limit=ag.RateLimit.unlimited())
    task = asyncio.create_task(stack.send(Request("GET", URL)))
    await started.wait()
    assert _limiter(stack).in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _limiter(stack).in_flight == 0


async def test_hooks_and_debug_logging_still_see_every_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[Any] = []
    hooks = ag.Hooks(on_request=events.append, on_response=events.append)
    answers = iter([503, 200])
    stack, _, _ = _stack(lambda r: _answer(r, next(answers)), hooks=hooks)
    await stack.send(Request("GET", URL))
    assert [(type(e).__name__, e.attempt) for e in events] == [
        ("RequestEvent", 1),
        ("ResponseEvent", 1),
        ("RequestEvent", 2),
        ("ResponseEvent", 2),
    ]

    plain, _, _ = _stack(lambda r: _answer(r, 200))
    with caplog.at_level(logging.DEBUG, logger="asyncgroups.transport"):
        await plain.send(Request("GET", URL))
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("sending GET") and "attempt 1" in m for m in messages)
    assert any("-> 200" in m for m in messages)


class _SharedLike(MemoryStore):
    """A store whose state is not a MemoryState: as a shared store looks."""

    def __init__(self) -> None:
        self.flushes = 0
        self.gate_checks = 0

    def open(self, limit: ag.RateLimit, *, identity: str = "", clock: Any) -> Any:
        store = self
        inner = MemoryState(limit, clock())

        class State:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            def admits_at_once(self, now: float) -> bool:
                return False

            async def gate(self, now: float) -> tuple[float, float]:
                store.gate_checks += 1
                return await inner.gate(now)

            async def flush(self) -> None:
                store.flushes += 1

        state: LimiterState = State()
        return state


async def test_a_shared_store_takes_the_layered_path_every_time() -> None:
    store = _SharedLike()
    stack, _, stats = _stack(
        lambda r: _answer(r, 200), rate_limit=ag.RateLimit(store=store)
    )
    for _ in range(4):
        assert (await stack.send(Request("GET", URL))).status == 200
    assert store.gate_checks == 4  # the shared gate was asked before each send
    assert store.flushes == 4  # and feedback published after each answer
    assert stats.requests == 4


async def test_a_rate_limited_client_waits_for_tokens() -> None:
    stack, mock, _ = _stack(
        lambda r: _answer(r, 200), rate_limit=ag.RateLimit(per_second=20, burst=1)
    )
    started = time.monotonic()
    for _ in range(5):
        await stack.send(Request("GET", URL))
    assert time.monotonic() - started >= 0.18  # 4 waits of 1/20 s (minus slack)
    assert len(mock.requests) == 5


# -- over real HTTP --------------------------------------------------------------------


async def test_response_headers_are_case_insensitive_and_steer_the_limiter(
    serve: Any,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True},
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
        )

    server = await serve(handler)
    stack = build_stack(
        AiohttpTransport(), stats=TransportStats(), retry=None, rate_limit=None
    )
    assert isinstance(stack, StackTransport)
    try:
        response = await stack.send(Request("GET", str(server.make_url("/x"))))
        assert response.header("x-ratelimit-remaining") == "0"
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers["content-type"] == response.header("CONTENT-TYPE")
        # budget exhausted: the limiter closed the gate for the reset time
        left, _ = await stack.rate_limited.limiter.state.gate(time.monotonic())
        assert 0.5 < left <= 1.0
    finally:
        await stack.aclose()


async def test_bodies_arrive_whole_on_every_read_path(serve: Any) -> None:
    """Known length, chunked, gzip, large and traced bodies all come back intact."""
    small = b'{"id": 1}'
    large = bytes(range(256)) * 8192  # 2 MiB: still arriving when the headers are read

    async def handler(request: web.Request) -> web.StreamResponse:
        kind = request.match_info["tail"]
        if kind == "small":
            return web.Response(body=small, content_type="application/json")
        if kind == "large":
            return web.Response(body=large)
        if kind == "gzip":
            return web.Response(
                body=gzip.compress(small), headers={"Content-Encoding": "gzip"}
            )
        response = web.StreamResponse()  # chunked: no Content-Length
        await response.prepare(request)
        for part in (small[:4], small[4:]):
            await response.write(part)
        await response.write_eof()
        return response

    chunks: list[bytes] = []

    async def on_chunk(_: Any, __: Any, params: Any) -> None:
        chunks.append(params.chunk)

    trace = aiohttp.TraceConfig()
    trace.on_response_chunk_received.append(on_chunk)
    server = await serve(handler)
    for transport in (AiohttpTransport(), AiohttpTransport(trace_configs=[trace])):
        try:
            for kind, expected in [
                ("small", small),
                ("large", large),
                ("gzip", small),
                ("chunked", small),
                ("small", small),  # again, on a reused connection
            ]:
                url = str(server.make_url(f"/{kind}"))
                response = await transport.send(Request("GET", url))
                assert response.status == 200
                assert response.body == expected, kind
        finally:
            await transport.aclose()
    # the traced transport reported every body read whole (aiohttp sends the chunk
    # event from resp.read(); chunked and compressed bodies are streamed under the
    # size cap instead)
    assert b"".join(chunks).count(small) == 2
    assert large in b"".join(chunks)


async def test_a_header_cap_slows_the_common_path_and_then_expires() -> None:
    first = [True]

    def handler(request: Request) -> Response:
        if first:
            first.clear()  # one request left in a 0.3 s window
            return _answer(
                request,
                200,
                **{"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "0.3"},
            )
        return _answer(request, 200)

    stack, mock, _ = _stack(handler, rate_limit=ag.RateLimit.unlimited())
    await stack.send(Request("GET", URL))
    limiter = _limiter(stack)
    assert limiter.rate < 10  # capped to what is left of the window
    started = time.monotonic()
    await stack.send(Request("GET", URL))
    await stack.send(Request("GET", URL))
    assert time.monotonic() - started >= 0.2  # paced, not sent at once
    await asyncio.sleep(0.35)
    await stack.send(Request("GET", URL))  # the first answer after the window
    assert limiter.rate == float("inf")  # the cap expired: unlimited again
    assert limiter.state.wants_success is False
    started = time.monotonic()
    for _ in range(20):
        await stack.send(Request("GET", URL))
    assert time.monotonic() - started < 0.2  # no pacing left
    assert len(mock.requests) == 24
