"""RetryingTransport: Retry-After, idempotency, the deadline and the retry budget."""

import asyncio
import email.utils
import math
import time
from typing import Any

import pytest
from aiohttp import web

import asyncgroups as ag
from asyncgroups.transport import (
    MockTransport,
    Observer,
    RateLimitedTransport,
    Request,
    Response,
    RetryingTransport,
)
from asyncgroups.transport.aiohttp import AiohttpTransport


class FakeClock:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def answer(
    request: Request, status: int, headers: dict[str, str] | None = None
) -> Response:
    return Response(status, headers or {}, b'{"id": "1", "name": "g"}', request)


GET = Request("GET", "https://api.example.com/groups/1")
POST = Request("POST", "https://api.example.com/groups", body=b"{}")


async def test_retry_after_http_date_is_waited_out(serve: Any, toy: Any) -> None:
    hits: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(time.time())
        if len(hits) == 1:
            # a whole second 3-4 s ahead: an HTTP-date cannot carry fractions
            when = email.utils.formatdate(math.floor(time.time()) + 4, usegmt=True)
            return web.json_response(
                {"m": "busy"}, status=429, headers={"Retry-After": when}
            )
        return web.json_response({"id": "1", "name": "g"})

    server = await serve(handler)
    clock = FakeClock()
    base = AiohttpTransport()
    limited = RateLimitedTransport(base, ag.RateLimit(), clock=clock, sleep=clock.sleep)
    transport = RetryingTransport(
        limited, ag.RetryPolicy(), clock=clock, sleep=clock.sleep
    )
    try:
        response = await transport.send(
            Request("GET", str(server.make_url("/groups/1")))
        )
    finally:
        await transport.aclose()
    assert response.status == 200
    assert response.attempts == 2
    assert len(hits) == 2
    # 3-4 s ahead when sent, less however long the answer took to be read (a
    # loaded machine): at least 2 s, and nowhere near max_delay (60 s)
    assert 2.0 <= clock.sleeps[0] <= 4.0
    assert response.elapsed >= clock.sleeps[0]


async def test_429_on_a_post_is_re_sent(serve: Any, toy: Any) -> None:
    posts = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal posts
        posts += 1
        if posts == 1:
            return web.json_response(
                {"m": "busy"}, status=429, headers={"Retry-After": "0"}
            )
        return web.json_response({"id": "7", "name": "Eng"}, status=201)

    server = await serve(handler)
    retry = ag.RetryPolicy(base_delay=0.01, max_delay=0.05)
    async with ag.Client(toy(str(server.make_url("/"))), retry=retry) as client:
        group = await client.groups.create("Eng")
    assert group.id == "7"
    assert posts == 2
    assert client.stats.retries == 1


async def test_post_dropped_after_sending_is_not_blindly_re_sent(
    serve: Any, toy: Any
) -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request.method)
        await request.read()
        if len(seen) == 1 or request.method == "POST":
            assert request.transport is not None
            request.transport.close()  # the server got it; the answer never comes
            await asyncio.sleep(0.05)
        return web.json_response({"id": "1", "name": "g"})

    server = await serve(handler)
    retry = ag.RetryPolicy(base_delay=0.01, max_delay=0.05)
    async with ag.Client(toy(str(server.make_url("/"))), retry=retry) as client:
        # a GET whose connection dropped is replayable: re-sent, and it succeeds
        assert (await client.groups.get("1")).id == "1"
        assert seen == ["GET", "GET"]
        with pytest.raises(ag.ConnectionDroppedError):
            await client.groups.create("Eng")
    assert seen.count("POST") == 1


async def test_connect_error_is_re_sent_even_for_a_post() -> None:
    calls = 0

    def handler(request: Request) -> Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ag.ConnectError("refused", method="POST")
        return answer(request, 201)

    clock = FakeClock()
    transport = RetryingTransport(
        MockTransport(handler), ag.RetryPolicy(), clock=clock, sleep=clock.sleep
    )
    response = await transport.send(POST)
    assert response.status == 201
    assert response.attempts == 3
    assert calls == 3


async def test_the_deadline_ends_retrying() -> None:
    clock = FakeClock()
    mock = MockTransport(lambda r: answer(r, 503))
    policy = ag.RetryPolicy(
        max_attempts=1000, base_delay=1.0, max_delay=2.0, deadline=10.0, jitter=False
    )
    transport = RetryingTransport(
        mock, policy, clock=clock, sleep=clock.sleep, budget=None
    )
    response = await transport.send(GET)
    assert response.status == 503
    assert response.elapsed <= 10.0
    # waits 1, 2, 2, 2, 2 = 9 s; one more would pass the deadline
    assert clock.sleeps == [1.0, 2.0, 2.0, 2.0, 2.0]
    assert response.attempts == len(mock.requests) == 6
    error = ag.ServerError(
        status=503, attempts=response.attempts, elapsed=response.elapsed
    )
    assert "gave up after 6 attempts over 9.0 s" in str(error)


async def test_retry_after_longer_than_the_time_left_returns_the_429_at_once() -> None:
    clock = FakeClock()
    mock = MockTransport(lambda r: answer(r, 429, {"Retry-After": "120"}))
    transport = RetryingTransport(
        mock, ag.RetryPolicy(deadline=60.0), clock=clock, sleep=clock.sleep
    )
    response = await transport.send(GET)
    assert response.status == 429
    assert len(mock.requests) == 1
    assert clock.sleeps == []


async def test_a_drained_budget_fails_fast() -> None:
    clock = FakeClock()
    mock = MockTransport(lambda r: answer(r, 503))
    policy = ag.RetryPolicy(
        max_attempts=5, base_delay=0.1, budget=3.0, budget_refill=1.0
    )
    observer = Observer()
    transport = RetryingTransport(
        mock, policy, observer=observer, clock=clock, sleep=clock.sleep
    )
    first = await transport.send(GET)
    assert first.attempts == 4  # the budget paid for 3 retries
    second = await transport.send(GET)
    assert second.attempts == 1  # nothing left: no retry at all
    assert len(mock.requests) == 5
    assert observer.stats.retries == 3


async def test_successes_refill_the_budget() -> None:
    clock = FakeClock()
    statuses = iter([503, 200, 200, 503, 200])
    mock = MockTransport(lambda r: answer(r, next(statuses)))
    policy = ag.RetryPolicy(budget=1.0, budget_refill=0.5)
    observer = Observer()
    transport = RetryingTransport(
        mock, policy, observer=observer, clock=clock, sleep=clock.sleep
    )
    assert (await transport.send(GET)).status == 200  # spends the only token
    assert (await transport.send(GET)).status == 200  # refills half a token
    assert (await transport.send(GET)).status == 200  # retried: 1 token again
    assert observer.stats.retries == 2


async def test_a_final_transport_error_says_how_many_attempts() -> None:
    clock = FakeClock()

    def refuse(request: Request) -> Response:
        raise ag.ConnectError("refused", method=request.method)

    policy = ag.RetryPolicy(max_attempts=4, base_delay=0.5)
    transport = RetryingTransport(
        MockTransport(refuse), policy, clock=clock, sleep=clock.sleep
    )
    with pytest.raises(ag.ConnectError) as info:
        await transport.send(GET)
    notes = getattr(info.value, "__notes__", [])
    assert any(note.startswith("gave up after 4 attempts over") for note in notes)


async def test_non_retryable_statuses_and_errors_return_at_once() -> None:
    clock = FakeClock()
    mock = MockTransport(lambda r: answer(r, 404))
    transport = RetryingTransport(
        mock, ag.RetryPolicy(), clock=clock, sleep=clock.sleep
    )
    assert (await transport.send(GET)).status == 404
    # 502 on a POST: the gateway may have passed it on, so no blind re-send
    mock502 = MockTransport(lambda r: answer(r, 502))
    transport = RetryingTransport(
        mock502, ag.RetryPolicy(), clock=clock, sleep=clock.sleep
    )
    assert (await transport.send(POST)).status == 502
    assert len(mock502.requests) == 1
    idempotent_post = Request("POST", "https://api.example.com/x", idempotent=True)
    assert (await transport.send(idempotent_post)).attempts == 6


async def test_rate_limited_error_carries_retry_after(serve: Any, toy: Any) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(
            {"m": "busy"}, status=429, headers={"Retry-After": "500"}
        )

    server = await serve(handler)
    async with ag.Client(
        toy(str(server.make_url("/"))), retry=ag.RetryPolicy(deadline=10.0)
    ) as client:
        with pytest.raises(ag.RateLimitedError) as info:
            await client.groups.get("1")
    assert info.value.retry_after == 500.0
    assert client.stats.requests == 1
