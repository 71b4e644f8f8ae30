"""WARNING lines and hook events when a real server throttles: redacted, with the view.

The emulators answer with injected 429s (and rate-limit headers); the Client's one
transport path logs the gate closing, the second and later retries and a request
given up, and its hooks carry the server's rate-limit view and the wait chosen.
"""

import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import asyncgroups as ag
from asyncgroups.testing import Fault, serve_emulator
from asyncgroups.transport import ObservedTransport, Observer, Request
from asyncgroups.transport.aiohttp import AiohttpTransport
from asyncgroups.transport.stack import build_stack

QUICK = ag.RetryPolicy(base_delay=0.01, max_delay=0.02)
VIEW = {
    "X-RateLimit-Limit": "100",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": "0.2",
}


def _secrets(credentials: dict[str, str]) -> list[str]:
    found = [v for v in credentials.values() if len(v) >= 6]
    assert found  # the emulator's token really is a secret worth looking for
    return found


async def test_throttling_is_logged_at_warning_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncgroups")
    async with serve_emulator("neuroio", seed=21) as emu:
        gid = emu.store.seed_group("Eng")
        emu.faults.add(
            Fault.status(429, retry_after=0.05), times=3, route="GET /v1/groups/*"
        )
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, retry=QUICK) as client:
            assert (await client.groups.get(gid)).name == "Eng"
        secrets = _secrets(emu.credentials)
    assert client.stats.throttled == 3
    assert client.stats.retries == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert all(r.name == "asyncgroups.transport" for r in warnings)
    lines = [r.getMessage() for r in warnings]
    host = emu.url.split("://", 1)[1].rstrip("/")
    gate = [m for m in lines if m.startswith("rate-limit gate closed for 0.05 s")]
    # every 429 closes the gate anew (the previous pause is over by then)
    assert len(gate) == 3
    assert all(f"after 429 from {host}: every request waits (GET " in m for m in gate)
    retries = [m for m in lines if m.startswith("retrying GET")]
    # the first retry is DEBUG; the second and the third are warnings
    assert [m.split(" after ")[1].split(" (")[0] for m in retries] == [
        "attempt 2",
        "attempt 3",
    ]
    assert all("(429) in 0.050 s" in m for m in retries)
    assert not any(m.startswith("giving up") for m in lines)
    text = "\n".join(lines)
    for secret in secrets:
        assert secret not in text


async def test_a_request_given_up_is_logged_at_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncgroups")
    async with serve_emulator("neuroio", seed=22) as emu:
        gid = emu.store.seed_group("Eng")
        emu.faults.add(Fault.status(503), route="GET /v1/groups/*")
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        retry = ag.RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
        async with ag.Client(backend, retry=retry) as client:
            with pytest.raises(ag.ServerError):
                await client.groups.get(gid)
        secrets = _secrets(emu.credentials)
        sent = len(emu.requests)
    assert sent == 3
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    given_up = [m for m in lines if m.startswith("giving up on GET ")]
    assert len(given_up) == 1
    assert " after 3 attempts over " in given_up[0]
    assert given_up[0].endswith("s (last: 503)")
    assert sum(m.startswith("retrying GET") for m in lines) == 1  # the second
    text = "\n".join(lines)
    for secret in secrets:
        assert secret not in text


async def test_a_credential_in_the_url_never_reaches_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncgroups")
    secret = "query-secret-value-5f1e0c"

    async def busy(request: web.Request) -> web.Response:
        return web.json_response(
            {"m": "busy"}, status=429, headers={"Retry-After": "0"}
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", busy)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    observer = Observer()
    transport = ObservedTransport(
        build_stack(
            AiohttpTransport(),
            observer=observer,
            retry=ag.RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02),
            rate_limit=ag.RateLimit(),
        ),
        observer,
    )
    url = str(server.make_url(f"/groups/1?token={secret}"))
    url = url.replace("://", f"://user:{secret}@", 1)
    try:
        response = await transport.send(Request("GET", url))
    finally:
        await transport.aclose()
        await server.close()
    assert response.status == 429
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    given_up = [m for m in lines if m.startswith("giving up on GET http://127.0.0.1:")]
    assert len(given_up) == 1
    assert "/groups/1?token=*** after 3 attempts" in given_up[0]
    assert secret not in "\n".join(lines)


async def test_hook_events_carry_the_rate_limit_view_and_the_wait() -> None:
    events: list[Any] = []
    hooks = ag.Hooks(
        on_response=events.append, on_retry=events.append, on_gate=events.append
    )
    async with serve_emulator("neuroio", seed=23) as emu:
        gid = emu.store.seed_group("Eng")
        emu.faults.add(
            Fault.status(429, retry_after=0.05, headers=VIEW),
            times=1,
            route="GET /v1/groups/*",
        )
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, retry=QUICK, hooks=hooks) as client:
            assert (await client.groups.get(gid)).name == "Eng"
    view = ag.RateLimitInfo(limit=100.0, remaining=0.0, reset=0.2)
    kinds = [type(e).__name__ for e in events]
    # the limiter learns from the answer first, then the attempt is reported
    assert kinds == ["GateEvent", "ResponseEvent", "RetryEvent", "ResponseEvent"]
    gate, throttled, retry, done = events
    assert (throttled.status, throttled.rate_limit) == (429, view)
    # remaining 0 holds every request until the reset, longer than Retry-After
    assert isinstance(gate, ag.GateEvent)
    assert gate.family is None
    assert gate.status == 429
    assert gate.rate_limit == view
    assert gate.pause == pytest.approx(0.2, abs=0.05)
    assert gate.host == emu.url.split("://", 1)[1].rstrip("/")
    assert gate.method == "GET"
    assert isinstance(retry, ag.RetryEvent)
    # the wait chosen: the Retry-After (the gate then holds it to the reset)
    assert (retry.status, retry.wait, retry.rate_limit) == (429, 0.05, view)
    assert (done.status, done.rate_limit) == (200, None)
    secrets = _secrets(emu.credentials)
    for event in events:
        for secret in secrets:
            assert secret not in repr(event)


async def test_a_429_about_one_endpoint_family_holds_that_family_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncgroups")
    gates: list[ag.GateEvent] = []
    budget = {
        "X-Rate-Limit-Limit": "50",
        "X-Rate-Limit-Remaining": "0",
        "X-Rate-Limit-Reset": "0.3",
    }
    async with serve_emulator("okta", seed=24) as emu:
        gid = emu.store.seed_group("Eng")
        emu.faults.add(
            Fault.status(429, headers=budget), times=1, route="GET /api/v1/groups/*"
        )
        backend = ag.connect("okta", base_url=emu.url, **emu.credentials)
        hooks = ag.Hooks(on_gate=gates.append)
        async with ag.Client(backend, retry=QUICK, hooks=hooks) as client:
            assert (await client.groups.get(gid)).name == "Eng"
        secrets = _secrets(emu.credentials)
    (gate,) = gates
    assert gate.family == "/api/v1/groups/{id}"
    assert gate.status == 429
    assert gate.rate_limit == ag.RateLimitInfo(limit=50.0, remaining=0.0, reset=0.3)
    assert gate.pause == pytest.approx(0.3, abs=0.05)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    (line,) = [m for m in lines if m.startswith("rate-limit gate closed")]
    assert "endpoint family '/api/v1/groups/{id}' waits (GET " in line
    assert "server says remaining 0 of 50, reset in 0.3 s" in line
    for secret in secrets:
        assert secret not in "\n".join(lines)
