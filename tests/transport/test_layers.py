"""The assembled layers: counting, the limiter's slot, shared stores, header pacing."""

import asyncio
import gzip
import random
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import asyncgroups as ag
from asyncgroups.transport import (
    MockTransport,
    ObservedTransport,
    Observer,
    Request,
    Response,
)
from asyncgroups.transport.aiohttp import AiohttpTransport
from asyncgroups.transport.limiter_store import MemoryState, MemoryStore
from asyncgroups.transport.retry import RetryingTransport
from asyncgroups.transport.stack import build_stack

URL = "http://127.0.0.1:9/groups/1"
FAST_RETRY = ag.RetryPolicy(base_delay=0.001, max_delay=0.01, deadline=10.0)


def _answer(request: Request, status: int, **headers: str) -> Response:
    return Response(status, headers, b"{}", request)


def _stack(
    inner: Any,
    *,
    retry: ag.RetryPolicy = FAST_RETRY,
    rate_limit: ag.RateLimit | None = None,
    **kwargs: Any,
) -> ObservedTransport:
    observer = Observer()
    built = build_stack(
        inner, observer=observer, retry=retry, rate_limit=rate_limit, **kwargs
    )
    return ObservedTransport(built, observer)


def _retrying(stack: ObservedTransport) -> RetryingTransport:
    inner = stack._inner
    assert isinstance(inner, RetryingTransport)
    return inner


def _limiter(stack: ObservedTransport) -> Any:
    return _retrying(stack)._inner.limiter  # type: ignore[attr-defined]


async def test_a_plain_answer_is_counted_once_and_returned() -> None:
    mock = MockTransport(lambda r: _answer(r, 200))
    stack = _stack(mock)
    for _ in range(3):
        response = await stack.send(Request("GET", URL))
        assert response.status == 200
        assert response.attempts == 1
    assert len(mock.requests) == 3
    assert stack.stats == ag.TransportStats(requests=3)
    budget = _retrying(stack).budget
    assert budget is not None
    assert budget.tokens == budget.capacity


async def test_a_connect_error_is_retried_but_a_dropped_post_is_not() -> None:
    failures: list[Exception] = [ag.ConnectError("refused")]

    def handler(request: Request) -> Response:
        if failures:
            raise failures.pop()
        return _answer(request, 201)

    mock = MockTransport(handler)
    stack = _stack(mock)
    response = await stack.send(Request("POST", URL, body=b"{}"))
    assert response.status == 201
    assert response.attempts == 2
    assert stack.stats == ag.TransportStats(requests=2, retries=1, transport_errors=1)

    failures.append(ag.ConnectionDroppedError("dropped after sending"))
    with pytest.raises(ag.ConnectionDroppedError):
        await stack.send(Request("POST", URL, body=b"{}"))
    assert len(mock.requests) == 3  # the ambiguous POST was sent once, not again
    assert stack.stats.transport_errors == 2
    assert stack.stats.retries == 1


async def test_a_retryable_status_with_one_attempt_is_returned_as_is() -> None:
    mock = MockTransport(lambda r: _answer(r, 503))
    stack = _stack(mock, retry=ag.RetryPolicy(max_attempts=1))
    response = await stack.send(Request("GET", URL))
    assert response.status == 503
    assert len(mock.requests) == 1
    assert stack.stats == ag.TransportStats(requests=1, server_errors=1)


async def test_other_exceptions_free_the_slot_and_propagate() -> None:
    def handler(request: Request) -> Response:
        raise ValueError("a bug in a custom transport")

    stack = _stack(MockTransport(handler), rate_limit=ag.RateLimit(max_concurrency=2))
    for _ in range(3):  # more than the cap: each slot was given back
        with pytest.raises(ValueError, match="custom transport"):
            await stack.send(Request("GET", URL))
    assert _limiter(stack).in_flight == 0
    assert stack.stats.transport_errors == 0
    assert stack.stats.requests == 3


async def test_cancellation_mid_request_frees_the_slot() -> None:
    started = asyncio.Event()

    async def handler(request: Request) -> Response:
        started.set()
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    stack = _stack(MockTransport(handler), rate_limit=ag.RateLimit(max_concurrency=1))
    task = asyncio.create_task(stack.send(Request("GET", URL)))
    await started.wait()
    assert _limiter(stack).in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _limiter(stack).in_flight == 0


class _SharedLike(MemoryStore):
    """A store whose state says it is shared: as a Redis store looks to the limiter."""

    def __init__(self) -> None:
        self.flushes = 0
        self.gate_checks = 0

    def open(self, limit: ag.RateLimit, *, identity: str = "", clock: Any) -> Any:
        store = self

        class State(MemoryState):
            shared = True

            def take_now(self, now: float) -> bool:
                return False  # a shared store must always be asked

            async def gate(self, now: float) -> tuple[float, float]:
                store.gate_checks += 1
                return await super().gate(now)

            async def flush(self) -> None:
                store.flushes += 1

        return State(limit, clock())


async def test_a_shared_store_is_asked_before_and_told_after_every_request() -> None:
    store = _SharedLike()
    stack = _stack(
        MockTransport(lambda r: _answer(r, 200)), rate_limit=ag.RateLimit(store=store)
    )
    for _ in range(4):
        assert (await stack.send(Request("GET", URL))).status == 200
    assert store.gate_checks == 4  # the shared gate was asked before each send
    assert store.flushes == 4  # and feedback published after each answer
    assert stack.stats.requests == 4


def test_a_rate_limited_client_waits_for_tokens(virtual: Any) -> None:
    sent: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def handler(request: Request) -> Response:
            sent.append(loop.time())
            return _answer(request, 200)

        stack = _stack(
            MockTransport(handler),
            rate_limit=ag.RateLimit(per_second=20, burst=1),
            clock=loop.time,
        )
        for _ in range(5):
            await stack.send(Request("GET", URL))

    virtual(main)
    assert sent == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])


def test_a_header_cap_paces_requests_and_then_expires(virtual: Any) -> None:
    sent: list[float] = []
    rates: dict[str, float] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def handler(request: Request) -> Response:
            sent.append(loop.time())
            if len(sent) == 1:  # one request left in a 0.3 s window
                return _answer(
                    request,
                    200,
                    **{"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "0.3"},
                )
            return _answer(request, 200)

        stack = _stack(
            MockTransport(handler), rate_limit=ag.RateLimit.unlimited(), clock=loop.time
        )
        limiter = _limiter(stack)
        await stack.send(Request("GET", URL))
        rates["capped"] = limiter.rate
        await stack.send(Request("GET", URL))
        await stack.send(Request("GET", URL))
        await asyncio.sleep(0.35)
        await stack.send(Request("GET", URL))  # the first answer after the window
        rates["after"] = limiter.rate
        rates["wants_success"] = float(limiter.state.wants_success)
        for _ in range(20):
            await stack.send(Request("GET", URL))

    virtual(main)
    assert rates["capped"] < 10  # capped to what is left of the window
    assert sent[2] - sent[1] >= 0.3 - 1e-9  # paced, not sent at once
    assert rates["after"] == float("inf")  # the cap expired: unlimited again
    assert rates["wants_success"] == 0.0
    assert sent[-1] == sent[-20]  # no pacing left: twenty at the same instant
    assert len(sent) == 24


def test_a_429_closes_the_gate_for_every_request_of_the_client(virtual: Any) -> None:
    sent: list[tuple[float, str]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def handler(request: Request) -> Response:
            sent.append((loop.time(), request.url))
            await asyncio.sleep(0.01)
            if len(sent) == 1:
                return _answer(request, 429, **{"Retry-After": "2"})
            return _answer(request, 200)

        stack = _stack(MockTransport(handler), clock=loop.time, rng=random.Random(1))
        first = asyncio.create_task(stack.send(Request("POST", URL, body=b"{}")))
        await asyncio.sleep(0.5)
        other = await stack.send(Request("GET", URL + "?other"))
        assert other.status == 200
        response = await first
        assert response.status == 200
        assert response.attempts == 2  # a 429 was not applied: re-sent for a POST

    virtual(main)
    assert sent[0][0] == 0.0
    assert all(t >= 2.01 for t, _ in sent[1:])  # nothing went while the gate was shut


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
    stack = _stack(AiohttpTransport(), retry=ag.RetryPolicy())
    try:
        sent = time.monotonic()
        response = await stack.send(Request("GET", str(server.make_url("/x"))))
        assert response.header("x-ratelimit-remaining") == "0"
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers["content-type"] == response.header("CONTENT-TYPE")
        # nothing left: the limiter closed the gate for the reset time, from the
        # moment the answer arrived
        assert sent < _limiter(stack).gate.until <= time.monotonic() + 1.0
        assert _limiter(stack).gate.until >= sent + 1.0
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


async def test_a_header_with_cr_lf_or_nul_is_refused_on_every_request(
    serve: Any,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({})

    server = await serve(handler)
    url = str(server.make_url("/x"))
    transport = AiohttpTransport()
    try:
        good = {"Authorization": "Token abc"}
        assert (await transport.send(Request("GET", url, headers=good))).status == 200
        for bad in ({"X-A": "a\r\nX-B: b"}, {"X-A": "a\x00"}, {"X\nA": "a"}):
            for _ in range(2):  # the same bad header is refused every time
                with pytest.raises(ag.ConfigurationError, match="CR, LF or NUL"):
                    await transport.send(Request("GET", url, headers=bad))
    finally:
        await transport.aclose()
