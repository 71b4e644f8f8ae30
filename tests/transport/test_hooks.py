"""Hooks fire with frozen events; no credential reaches an event or a DEBUG log."""

import logging
from typing import Any

import attrs
import pytest
from aiohttp import web

import asyncgroups as ag
from asyncgroups.transport import MockTransport, Request, Response

SECRET = "hooks-secret-token-93ab71"


async def test_hooks_fire_with_frozen_redacted_events(
    serve: Any, toy: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncgroups")
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.json_response({"m": f"echo {SECRET}"}, status=503)
        return web.json_response({"id": "1", "name": "g"})

    server = await serve(handler)
    events: list[Any] = []

    async def on_retry(event: ag.RetryEvent) -> None:  # async hooks are awaited
        events.append(event)

    hooks = ag.Hooks(
        on_request=events.append, on_response=events.append, on_retry=on_retry
    )
    retry = ag.RetryPolicy(base_delay=0.01, max_delay=0.02)
    backend = toy(str(server.make_url("/")), token=SECRET, query=f"?token={SECRET}")
    async with ag.Client(backend, retry=retry, hooks=hooks) as client:
        await client.groups.get("1")

    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "RequestEvent",
        "ResponseEvent",
        "RetryEvent",
        "RequestEvent",
        "ResponseEvent",
    ]
    first, answered, retried, second, done = events
    assert (first.attempt, second.attempt) == (1, 2)
    assert (answered.status, done.status) == (503, 200)
    assert retried.status == 503
    assert retried.error is None
    assert retried.wait >= 0
    for event in events:
        assert attrs.has(type(event))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            event.method = "DELETE"
        assert not hasattr(event, "__dict__")  # slotted
        assert SECRET not in repr(event)
        assert event.method == "GET"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "retrying GET" in text
    assert SECRET not in text


async def test_retry_event_names_the_error_type() -> None:
    calls = 0

    def handler(request: Request) -> Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ag.ConnectError("refused", method="GET")
        return Response(200, {}, b'{"id": "1", "name": "g"}', request)

    seen: list[ag.RetryEvent] = []
    transport = ag.transport.RetryingTransport(
        MockTransport(handler),
        ag.RetryPolicy(base_delay=0.001),
        observer=ag.transport.Observer(hooks=ag.Hooks(on_retry=seen.append)),
    )
    response = await transport.send(Request("GET", "https://api.example.com/g"))
    assert response.status == 200
    assert [(e.error, e.status) for e in seen] == [("ConnectError", None)]


async def test_a_failing_hook_never_breaks_a_request() -> None:
    def boom(event: Any) -> None:
        raise RuntimeError("hook bug")

    transport = ag.transport.RetryingTransport(
        MockTransport(lambda r: Response(200, {}, b"", r)),
        ag.RetryPolicy(),
        observer=ag.transport.Observer(hooks=ag.Hooks(on_request=boom)),
    )
    assert (
        await transport.send(Request("GET", "https://api.example.com/g"))
    ).status == 200


def test_hooks_reject_non_callables() -> None:
    with pytest.raises(TypeError):
        ag.Hooks(on_request="print")  # type: ignore[arg-type]


async def test_mock_transport_sync_and_async_handlers() -> None:
    async def handler(request: Request) -> Response:
        return Response(204, {}, b"", request)

    mock = MockTransport(handler)
    request = Request("DELETE", "https://api.example.com/g/1")
    assert (await mock.send(request)).status == 204
    assert mock.requests == [request]
    await mock.aclose()
    with pytest.raises(ag.ClientClosedError):
        await mock.send(request)
