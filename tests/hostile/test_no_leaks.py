"""No credential reaches anything observable, on any path, for any backend.

One run per backend (against its emulator) goes through successes, every error type
and retries, with DEBUG logging, hooks, an aiohttp TraceConfig and the CLI; then
every text an observer could see is scanned for the credentials used.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import pytest

import asyncgroups as ag
from asyncgroups.cli.main import amain
from asyncgroups.testing import Fault, serve_emulator
from asyncgroups.transport.base import AsyncTransport, Request, Response

BACKENDS = [
    pytest.param(n, id=n)
    for n in ("snip", "neuroio", "periscope", "scim", "graph", "okta")
]
RETRY = ag.RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01, budget=None)
SECRET_ARGS = frozenset(
    {"token", "api_key", "password", "secret", "client_secret", "api_token"}
)
CLI_FLAGS = frozenset({"token", "api_key", "site"})
WRONG = "wrong-SECRETVALUE-00112233445566"


class Spy:
    """Sits between a backend and its transport stack, keeping every exchange."""

    def __init__(self, inner: AsyncTransport) -> None:
        self.inner = inner
        self.seen: list[Request | Response] = []

    async def send(self, request: Request) -> Response:
        self.seen.append(request)
        response = await self.inner.send(request)
        self.seen.append(response)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _drain(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


@pytest.mark.parametrize("name", BACKENDS)
async def test_no_credential_is_observable_anywhere(
    name: str,
    scanner: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Logs, hooks, traces, errors, reprs and CLI output never hold a credential."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="asyncgroups")
    events: list[object] = []
    traced: list[str] = []

    async def on_trace(_: Any, __: Any, params: Any) -> None:
        traced.append(str(params.url))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_trace)
    hooks = ag.Hooks(
        on_request=events.append, on_response=events.append, on_retry=events.append
    )
    outcomes: list[str] = []

    async with serve_emulator(name, seed=11) as emu:
        secrets = [str(v) for k, v in emu.credentials.items() if k in SECRET_ARGS]
        assert secrets
        keys = emu.store.seed_users(4)
        gid = emu.store.seed_group("Leakproof", members=keys[:2])
        backend = ag.connect(name, base_url=emu.url, **emu.credentials)
        async with ag.Client(
            backend, retry=RETRY, hooks=hooks, trace_configs=[trace]
        ) as observed:
            # The same backend object opened again by a second Client, whose
            # transport is a spy around the first Client's stack.
            spy = Spy(observed.transport)
            client = ag.Client(backend, transport=spy)
            caps = client.capabilities

            async def attempt(op: Callable[[], Awaitable[Any]]) -> None:
                try:
                    result = await op()
                except ag.AsyncGroupsError as exc:
                    outcomes.append(type(exc).__name__)
                    scanner.exception(exc)
                    return
                outcomes.append("ok")
                scanner.add(result)
                failed = getattr(result, "failed", None)
                if isinstance(failed, Mapping):
                    for error in failed.values():
                        scanner.exception(error)

            # successes
            await attempt(lambda: client.groups.get(gid))
            await attempt(lambda: _drain(client.groups.list()))
            await attempt(lambda: _drain(client.members.list(gid)))
            if ag.Capability.USERS_LIST in caps:
                await attempt(lambda: _drain(client.users.list()))
            if ag.Capability.MEMBERS_ADD in caps:
                await attempt(lambda: client.members.add(gid, keys[2:]))
            await attempt(lambda: client.members.remove(gid, keys[:1]))
            plan = await client.plan_sync({"Leakproof": set(keys[1:3])}, prune=True)
            scanner.add(plan)
            await attempt(lambda: client.apply(plan))
            # 404, 403, 409, 400, 429 after retries, HTML 5xx, decode errors, drops
            await attempt(lambda: client.groups.get("999999"))
            for fault in (
                Fault.status(403),
                Fault.status(409),
                Fault.status(400),
                Fault.status(429, retry_after=0.001),
                Fault.status(503, html=True),
                Fault.status(502),
                Fault.malformed(200),
                Fault.drop(),
            ):
                emu.faults.clear()
                emu.faults.add(fault, when=lambda r: r.method == "GET")
                await attempt(lambda: client.groups.get(gid))
                await attempt(lambda: _drain(client.groups.list()))
            emu.faults.clear()
            # retries that succeed
            emu.faults.add(Fault.status(503), times=1)
            emu.faults.add(Fault.drop(), times=1)
            await attempt(lambda: client.groups.get(gid))
            emu.faults.clear()
            await client.aclose()
            scanner.add(client, client.session, backend, client.transport, *spy.seen)

        # 401: a wrong credential (itself a secret not to show)
        wrong = {
            k: (WRONG if k in SECRET_ARGS else v) for k, v in emu.credentials.items()
        }
        async with ag.Client(
            ag.connect(name, base_url=emu.url, **wrong), retry=RETRY, hooks=hooks
        ) as bad:
            await attempt(lambda: bad.groups.get(gid))
            scanner.add(bad, bad.backend)

        # the CLI, success and failure, JSON output
        def argv(creds: dict[str, Any], *command: str) -> list[str]:
            args = [*command, "--json", "--backend", name, "--base-url", emu.url]
            for key, value in creds.items():
                if key in CLI_FLAGS:
                    args += [f"--{key.replace('_', '-')}", str(value)]
                else:
                    monkeypatch.setenv(f"ASYNCGROUPS_{key.upper()}", str(value))
            return args

        assert await amain(argv(emu.credentials, "groups", "list")) == 0
        assert await amain(argv(wrong, "groups", "list")) != 0
        emu.faults.add(Fault.status(403))
        assert await amain(argv(emu.credentials, "groups", "list")) != 0
        out, err = capsys.readouterr()
        scanner.add(out, err)

    for wanted in ("ok", "NotFoundError", "PermissionDeniedError", "RateLimitedError"):
        assert wanted in outcomes, (wanted, outcomes)
    for wanted in ("ServerError", "DecodeError", "ConnectionDroppedError"):
        assert wanted in outcomes, (wanted, outcomes)
    assert "AuthenticationError" in outcomes
    assert any(isinstance(e, ag.RetryEvent) for e in events)
    assert traced
    scanner.add(*events, *traced)
    scanner.records(caplog.records)
    scanner.add(caplog.text)
    # Tokens the server issued (Graph's bearer tokens) are credentials too.
    issued = [t for t in getattr(emu.store, "tokens", {}) if isinstance(t, str)]
    assert scanner.leaks([*secrets, *issued, WRONG]) == []
