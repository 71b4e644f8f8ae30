"""Graph's OAuth2 token: fetched once, cached, renewed once per expiry, never shown."""

import asyncio
import itertools
from typing import Any

import pytest
from aiohttp import web

import asyncgroups as ag
from asyncgroups.testing import Emulator, Fault

TOKEN_PATH = "/oauth2/v2.0/token"


def _refused(emu: Emulator[Any]) -> int:
    """Requests the emulator saw with a token that had expired (answered 401)."""
    return sum(
        1
        for r in emu.requests
        if not r.path.endswith(TOKEN_PATH)
        and r.headers.get("Authorization", "").removeprefix("Bearer ")
        in emu.store.tokens
        and emu.store.tokens[r.headers["Authorization"].removeprefix("Bearer ")]
        <= emu.store.now
    )


async def test_one_token_request_per_expiry_for_64_callers(
    graph: Emulator[Any],
) -> None:
    """64 concurrent calls: one token request; after expiry, exactly one more."""
    gid = graph.store.seed_group("Eng")
    backend = ag.connect("graph", base_url=graph.url, **graph.credentials)
    async with ag.Client(
        backend, rate_limit=ag.RateLimit(per_second=10_000, max_concurrency=64)
    ) as client:
        first = await asyncio.gather(*(client.groups.get(gid) for _ in range(64)))
        assert graph.store.token_requests == 1
        graph.store.expire_tokens()
        graph.clear_requests()
        second = await asyncio.gather(*(client.groups.get(gid) for _ in range(64)))
        assert graph.store.token_requests == 2
        refused = _refused(graph)
        graph.store.expire_tokens()
        third = await asyncio.gather(*(client.groups.get(gid) for _ in range(64)))
        assert graph.store.token_requests == 3
    assert {g.id for g in [*first, *second, *third]} == {gid}
    # the old token was really refused (the refresh was not pre-emptive)
    assert refused >= 1
    assert sum(r.path.endswith(TOKEN_PATH) for r in graph.requests) == 2


async def test_token_expiring_mid_sync_costs_one_request_per_expiry(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """Tokens expire twice during a sync: two renewals, no failure, exact result."""
    keys = graph.store.seed_users(1_200)
    desired: dict[str, set[str]] = {}
    gids: dict[str, str] = {}
    for i in range(40):
        own = keys[i * 30 : (i + 1) * 30]
        gids[f"G{i}"] = graph.store.seed_group(f"G{i}", members=own[:15])
        desired[f"G{i}"] = set(own[5:30])
    counter = itertools.count(1)

    def expire_at_some_requests(_: web.Request) -> bool:
        if next(counter) in (15, 60):
            graph.store.expire_tokens()
        return False

    graph.faults.add(Fault.latency(0), when=expire_at_some_requests)
    plan = await gclient.plan_sync(desired, prune=True)
    report = await gclient.apply(plan)
    assert next(counter) > 60  # both expiries happened during the sync
    assert report.failed == 0, str(report)
    assert report.converged, str(report)
    for name, gid in gids.items():
        assert graph.store.members(gid) == desired[name]
    assert graph.store.token_requests == 3


async def test_the_token_is_renewed_before_it_expires(graph: Emulator[Any]) -> None:
    """Near its expiry (client clock) the token is renewed without a 401."""
    now = [0.0]
    gid = graph.store.seed_group("Eng")
    backend = ag.connect(
        "graph", base_url=graph.url, clock=lambda: now[0], **graph.credentials
    )
    async with ag.Client(backend) as client:
        await client.groups.get(gid)
        now[0] = 3000.0  # the token still works for the server, not for long
        await client.groups.get(gid)
        assert graph.store.token_requests == 1
        now[0] = 3400.0  # inside the renewal margin
        await client.groups.get(gid)
        assert graph.store.token_requests == 2
    statuses = [r.path for r in graph.requests]
    assert statuses.count(f"/groups/{gid}") == 3


async def test_wrong_secret_is_an_authentication_error_without_the_secret(
    graph: Emulator[Any],
) -> None:
    """The token endpoint's 401 becomes AuthenticationError; no secret in it."""
    creds = dict(graph.credentials, client_secret="not-the-SECRET-value")
    async with ag.Client(ag.connect("graph", base_url=graph.url, **creds)) as client:
        with pytest.raises(ag.AuthenticationError) as caught:
            await client.groups.get(graph.store.seed_group("Eng"))
    text = f"{caught.value!s} {caught.value!r}"
    assert "AADSTS7000215" in text
    assert "not-the-SECRET-value" not in text
    assert graph.credentials["client_secret"] not in text


async def test_unknown_tenant_is_an_authentication_error(graph: Emulator[Any]) -> None:
    """Entra's 400 for an unknown tenant is an AuthenticationError too."""
    creds = dict(graph.credentials, tenant_id="contoso.example")
    async with ag.Client(ag.connect("graph", base_url=graph.url, **creds)) as client:
        with pytest.raises(ag.AuthenticationError) as caught:
            await client.groups.get(graph.store.seed_group("Eng"))
    assert caught.value.status == 400
    assert "AADSTS90002" in str(caught.value)


async def test_the_token_and_secret_never_show(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """Reprs of the backend, session and token provider hide the credentials."""
    await gclient.groups.get(graph.store.seed_group("Eng"))
    (token,) = graph.store.tokens
    session: Any = gclient.session
    texts = [repr(gclient.backend), repr(session), repr(session.tokens), str(gclient)]
    for text in texts:
        assert token not in text
        assert graph.credentials["client_secret"] not in text
