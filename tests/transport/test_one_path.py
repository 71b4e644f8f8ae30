"""One code path: what a user debugs (DEBUG logging, hooks) is what runs without them."""

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.testing import Fault, serve_emulator
from asyncgroups.transport import ObservedTransport, Observer, Request, Response
from asyncgroups.transport.aiohttp import AiohttpTransport
from asyncgroups.transport.stack import build_stack

# What the scripted server answers, per path, in order (then 200s).
SCRIPT: dict[str, list[Any]] = {
    "/groups/1": [(429, {"Retry-After": "1"}), (503, {}), (503, {}), (200, {})],
    "/groups/2": [(503, {}), (200, {})],
    "/groups": ["drop_after"],  # a POST: applied, answer lost: not re-sent
    "/groups/3": ["drop_after", (200, {})],  # a PUT: replayable, re-sent
}


class ScriptedWire:
    """The far end of the wire on a virtual clock: records every request it gets."""

    def __init__(self, script: dict[str, list[Any]]) -> None:
        self.script = {path: list(answers) for path, answers in script.items()}
        self.log: list[tuple[float, str, str, bytes]] = []

    async def send(self, request: Request) -> Response:
        loop = asyncio.get_running_loop()
        path = request.url.removeprefix("https://api.example.com")
        self.log.append((loop.time(), request.method, path, request.body))
        await asyncio.sleep(0.01)  # the server works
        answers = self.script.get(path, [])
        answer = answers.pop(0) if answers else (200, {})
        if answer == "drop_after":
            raise ag.ConnectionDroppedError("dropped after applying", method="POST")
        status, headers = answer
        return Response(status, headers, b"{}", request)

    async def aclose(self) -> None:
        return None


REQUESTS = [
    Request("GET", "https://api.example.com/groups/1"),
    Request("GET", "https://api.example.com/groups/2"),
    Request("POST", "https://api.example.com/groups", body=b'{"name": "x"}'),
    Request("PUT", "https://api.example.com/groups/3", body=b'{"name": "y"}'),
]


def _conversation(
    virtual: Callable[[Callable[[], Any]], Any], hooks: ag.Hooks | None
) -> tuple[list[Any], list[Any], ag.TransportStats]:
    async def main() -> tuple[list[Any], list[Any], ag.TransportStats]:
        loop = asyncio.get_running_loop()
        wire = ScriptedWire(SCRIPT)
        observer = Observer(hooks=hooks)
        stack = ObservedTransport(
            build_stack(
                wire,
                observer=observer,
                retry=ag.RetryPolicy(base_delay=0.5, max_delay=4.0, deadline=60.0),
                rate_limit=ag.RateLimit(per_second=5, burst=2, adaptive=True),
                clock=loop.time,
                rng=random.Random(11),
            ),
            observer,
        )

        async def one(request: Request, delay: float) -> Any:
            await asyncio.sleep(delay)
            try:
                response = await stack.send(request)
            except ag.AsyncGroupsError as exc:
                return (type(exc).__name__, loop.time())
            return (response.status, response.attempts, loop.time())

        outcomes = await asyncio.gather(
            *(one(r, 0.001 * i) for i, r in enumerate(REQUESTS))
        )
        return wire.log, list(outcomes), observer.stats

    result: tuple[list[Any], list[Any], ag.TransportStats] = virtual(main)
    return result


def test_debug_logging_and_hooks_change_nothing_on_the_wire(
    virtual: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.CRITICAL, logger="asyncgroups"):  # not even warnings
        quiet_wire, quiet_outcomes, quiet_stats = _conversation(virtual, None)
    assert not caplog.records

    events: list[Any] = []

    async def on_response(event: ag.ResponseEvent) -> None:
        events.append(event)

    async def on_retry(event: ag.RetryEvent) -> None:
        events.append(event)

    async def on_gate(event: ag.GateEvent) -> None:
        events.append(event)

    hooks = ag.Hooks(
        on_request=events.append,
        on_response=on_response,
        on_retry=on_retry,
        on_gate=on_gate,
    )
    with caplog.at_level(logging.DEBUG, logger="asyncgroups"):
        loud_wire, loud_outcomes, loud_stats = _conversation(virtual, hooks)

    # the same requests reached the server, in the same order, at the same times
    assert loud_wire == quiet_wire
    assert loud_outcomes == quiet_outcomes
    assert loud_stats == quiet_stats
    # and the conversation was the one scripted: a 429 with Retry-After, 503s, a
    # POST dropped after it was applied (not re-sent), a PUT re-sent, successes
    paths = [path for _, _, path, _ in quiet_wire]
    assert paths.count("/groups/1") == 4
    assert paths.count("/groups") == 1
    assert paths.count("/groups/3") == 2
    first_429 = next(t for t, _, path, _ in quiet_wire if path == "/groups/1")
    resent = [t for t, _, path, _ in quiet_wire if path == "/groups/1"][1]
    assert resent >= first_429 + 0.01 + 1.0  # never sooner than Retry-After
    assert quiet_outcomes[2][0] == "ConnectionDroppedError"
    assert quiet_stats == ag.TransportStats(
        requests=9, retries=5, throttled=1, server_errors=3, transport_errors=2
    )
    # while the loud run really was observed
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("RequestEvent") == 9
    assert kinds.count("ResponseEvent") == 7
    assert kinds.count("RetryEvent") == 5
    messages = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("sending ") for m in messages) == 9
    assert sum(m.startswith("retrying ") for m in messages) == 5
    # the 429 closed the gate; /groups/1's second and third retries are warnings
    assert kinds.count("GateEvent") == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sum(m.startswith("rate-limit gate closed for 1.00 s") for m in warnings) == 1
    assert sum(m.startswith("retrying GET") for m in warnings) == 2


async def _emulator_conversation(debug: bool) -> tuple[list[Any], ag.TransportStats]:
    async with serve_emulator("neuroio", seed=4) as emu:
        keys = emu.store.seed_users(6)
        gid = emu.store.seed_group("Eng", members=keys[:2])
        emu.faults.add(
            Fault.status(429, retry_after=0.05), times=1, route="GET /v1/groups/*"
        )
        emu.faults.add(Fault.status(503), times=2, route="GET /v1/groups/*")
        emu.faults.add(
            Fault.drop(after_apply=True), times=1, route="POST /v1/groups/persons/pids/"
        )
        hooks = ag.Hooks(
            on_request=lambda e: None,
            on_response=lambda e: None,
            on_retry=lambda e: None,
        )
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        retry = ag.RetryPolicy(base_delay=0.01, max_delay=0.02)
        async with ag.Client(
            backend, retry=retry, hooks=hooks if debug else None
        ) as client:
            assert (await client.groups.get(gid)).name == "Eng"
            await client.members.add(gid, keys[2:4])
            assert emu.store.members(gid) == frozenset(keys[:4])
        wire = [(r.method, r.path, r.body) for r in emu.requests]
        return wire, client.stats


async def test_the_same_requests_reach_the_emulator_with_debug_on_or_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_wire, quiet_stats = await _emulator_conversation(debug=False)
    with caplog.at_level(logging.DEBUG, logger="asyncgroups"):
        loud_wire, loud_stats = await _emulator_conversation(debug=True)
    assert loud_wire == quiet_wire
    assert loud_stats == quiet_stats
    assert quiet_stats.throttled == 1
    assert quiet_stats.server_errors == 2
    assert quiet_stats.requests == len(quiet_wire)
    assert any(r.getMessage().startswith("retrying GET") for r in caplog.records)


async def test_an_injected_transport_is_counted_in_the_sync_report() -> None:
    """``Client(transport=AiohttpTransport())``: the report counts what the server saw."""
    async with serve_emulator("neuroio", seed=5) as emu:
        keys = emu.store.seed_users(30)
        gids = [emu.store.seed_group(f"G{n}", members=keys[:2]) for n in range(3)]
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, transport=AiohttpTransport()) as client:
            desired = {f"G{n}": set(keys[n * 5 : n * 5 + 8]) for n in range(3)}
            plan = await client.plan_sync(desired, prune=True)
            before = len(emu.requests)
            emu.faults.add(
                Fault.status(429, retry_after=0),
                times=2,
                route="POST /v1/groups/persons/pids/",
            )
            report = await client.apply(plan)
        sent = emu.requests[before:]
        assert report.requests == len(sent) > 0
        assert report.throttled == 2 == emu.faults.counts["429"]
        assert report.retries == 0  # nothing retries below an AiohttpTransport
        assert client.stats.requests == len(emu.requests)
        assert gids  # the groups the plan worked on


async def test_an_injected_retrying_transport_is_counted_as_its_responses_say() -> None:
    async with serve_emulator("neuroio", seed=6) as emu:
        gid = emu.store.seed_group("Eng")
        emu.faults.add(Fault.status(503), times=2, route="GET /v1/groups/*")
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        injected = ag.transport.RetryingTransport(
            AiohttpTransport(),
            ag.RetryPolicy(base_delay=0.01, max_delay=0.02),
        )
        async with ag.Client(backend, transport=injected) as client:
            assert (await client.groups.get(gid)).name == "Eng"
        assert client.stats.requests == len(emu.requests) == 3
        assert client.stats.retries == 2


def test_a_429_storm_ends_every_call_within_the_deadline(virtual: Any) -> None:
    """50 callers, a server answering only 429 (Retry-After: 1), deadline 5 s."""
    finished: list[float] = []
    outcomes: list[str] = []

    class AlwaysBusy:
        async def send(self, request: Request) -> Response:
            await asyncio.sleep(0.005)
            return Response(429, {"Retry-After": "1"}, b"{}", request)

        async def aclose(self) -> None:
            return None

    async def main() -> None:
        loop = asyncio.get_running_loop()
        observer = Observer()
        stack = ObservedTransport(
            build_stack(
                AlwaysBusy(),
                observer=observer,
                retry=ag.RetryPolicy(max_attempts=100, deadline=5.0),
                rate_limit=ag.RateLimit(adaptive=True),
                clock=loop.time,
                rng=random.Random(3),
            ),
            observer,
        )

        async def caller(n: int) -> None:
            await asyncio.sleep(0.01 * n)
            started = loop.time()
            try:
                response = await stack.send(
                    Request("GET", f"https://api.example.com/groups/{n}")
                )
                outcomes.append(str(response.status))
            except ag.RateLimitedError:
                outcomes.append("RateLimitedError")
            finished.append(loop.time() - started)

        await asyncio.gather(*(caller(n) for n in range(50)))

    virtual(main)
    assert len(outcomes) == 50
    assert set(outcomes) <= {"429", "RateLimitedError"}  # a 429 the backend raises
    assert max(finished) <= 5.0 + 1.0, max(finished)
