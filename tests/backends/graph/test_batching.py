"""Graph's request packing: 20 members a PATCH, 20 sub-requests a $batch."""

from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.testing import Emulator, RecordedRequest

TOKEN_PATH = "/oauth2/v2.0/token"


def _api(emu: Emulator[Any]) -> list[RecordedRequest]:
    """Every request but token requests."""
    return [r for r in emu.requests if not r.path.endswith(TOKEN_PATH)]


def _subs(emu: Emulator[Any]) -> list[dict[str, Any]]:
    """Every change sent: sub-requests of each $batch, and lone requests."""
    found: list[dict[str, Any]] = []
    for r in _api(emu):
        if r.path == "/$batch":
            found.extend(r.json()["requests"])
        elif r.method != "GET":
            found.append({"method": r.method, "url": r.path, "body": r.json()})
    return found


async def test_ten_thousand_members_in_at_most_500_requests(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """10,000 adds to one group: 500 PATCHes of 20, packed into $batch requests."""
    keys = graph.store.seed_users(10_000)
    gid = graph.store.seed_group("Everyone")
    graph.clear_requests()
    result = await gclient.members.add(gid, keys)
    assert result.ok
    assert graph.store.members(gid) == frozenset(keys)
    assert len(_api(graph)) <= 500
    assert graph.store.token_requests == 1
    subs = _subs(graph)
    assert len(subs) == 500
    assert all(s["method"] == "PATCH" for s in subs)
    assert all(len(s["body"]["members@odata.bind"]) == 20 for s in subs)
    assert all(len(r.json()["requests"]) <= 20 for r in _api(graph))


async def test_fifty_groups_of_twenty_adds_share_batches(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """50 groups x 20 different keys each: at most 55 requests, all $batch."""
    keys = graph.store.seed_users(1_000)
    gids = [graph.store.seed_group(f"G{i}") for i in range(50)]
    wanted = {gid: keys[i * 20 : (i + 1) * 20] for i, gid in enumerate(gids)}
    await gclient.groups.get(gids[0])  # the token, fetched before counting
    graph.clear_requests()
    results = await gclient.members.add_many(wanted)
    assert all(r.ok for r in results.values())
    for gid, members in wanted.items():
        assert graph.store.members(gid) == frozenset(members)
    sent = _api(graph)
    assert len(sent) <= 55
    assert len(sent) < 50  # packing: fewer requests than groups
    assert {r.path for r in sent} == {"/$batch"}


async def test_fifty_groups_of_twenty_removals_fit_55_requests(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """1,000 removals (one DELETE each) over 50 groups: 50 $batch requests of 20."""
    keys = graph.store.seed_users(1_000)
    wanted = {}
    for i in range(50):
        chunk = keys[i * 20 : (i + 1) * 20]
        wanted[graph.store.seed_group(f"G{i}", members=chunk)] = chunk
    await gclient.groups.get(next(iter(wanted)))
    graph.clear_requests()
    results = await gclient.members.remove_many(wanted)
    assert all(r.ok for r in results.values())
    assert all(graph.store.members(gid) == frozenset() for gid in wanted)
    sent = _api(graph)
    assert len(sent) <= 55
    assert sum(len(r.json()["requests"]) for r in sent) == 1_000


async def test_sync_of_fifty_groups_with_twenty_changes_each(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """A sync applying 10 adds and 10 removals in each of 50 groups: <= 55 writes."""
    keys = graph.store.seed_users(2_000)
    desired: dict[str, set[str]] = {}
    gids: dict[str, str] = {}
    for i in range(50):
        own = keys[i * 40 : (i + 1) * 40]
        gids[f"G{i}"] = graph.store.seed_group(f"G{i}", members=own[:20])
        desired[f"G{i}"] = set(own[10:30])
    plan = await gclient.plan_sync(desired, prune=True)
    assert plan.operations == 50 * 20
    graph.clear_requests()
    report = await gclient.apply(plan)
    assert report.converged, str(report)
    for name, gid in gids.items():
        assert graph.store.members(gid) == desired[name]
    writes = [r for r in _api(graph) if r.method != "GET"]
    assert len(writes) <= 55
    assert {r.path for r in writes} == {"/$batch"}


async def test_a_throttled_sub_request_is_retried_alone_after_its_retry_after(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """One sub-request answered 429 in a $batch: only it is re-sent, after the wait."""
    keys = graph.store.seed_users(60)
    gids = [graph.store.seed_group(f"G{i}") for i in range(3)]
    wanted = {gid: keys[i * 20 : (i + 1) * 20] for i, gid in enumerate(gids)}
    await gclient.groups.get(gids[0])
    throttled = gids[1]
    graph.store.fail_subrequest(
        429,
        retry_after=0.2,
        times=1,
        match=lambda method, url: method == "PATCH" and throttled in url,
    )
    graph.clear_requests()
    results = await gclient.members.add_many(wanted)
    assert all(r.ok for r in results.values())
    for gid, members in wanted.items():
        assert graph.store.members(gid) == frozenset(members)
    first, *rest = _api(graph)
    assert first.path == "/$batch"
    assert len(first.json()["requests"]) == 3
    # the retry: one request, the throttled PATCH alone, sent after Retry-After
    assert len(rest) == 1
    (retry,) = rest
    assert (retry.method, retry.path) == ("PATCH", f"/groups/{throttled}")
    assert retry.time - first.time >= 0.2
    sent = _subs(graph)
    assert sum(throttled in s["url"] for s in sent) == 2
    assert sum(throttled not in s["url"] for s in sent) == 2


async def test_existing_members_and_absent_ones_are_success(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """Adding a member twice and removing a non-member both succeed (set semantics)."""
    keys = graph.store.seed_users(30)
    gid = graph.store.seed_group("Eng", members=keys[:5])
    added = await gclient.members.add(gid, keys[:20])
    assert added.ok
    assert added.succeeded == frozenset(keys[:20])
    assert graph.store.members(gid) == frozenset(keys[:20])
    # Graph refused the PATCH (already exist); the keys went one by one by $ref
    refs = [s for s in _subs(graph) if s["url"].endswith("/members/$ref")]
    assert len(refs) == 20
    removed = await gclient.members.remove(gid, keys[15:30])
    assert removed.ok
    assert graph.store.members(gid) == frozenset(keys[:15])


async def test_unknown_key_fails_alone_and_the_rest_apply(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """A key no user has fails with NotFoundError; every other key is added."""
    keys = graph.store.seed_users(25)
    gid = graph.store.seed_group("Eng")
    ghost = "00000000-0000-4000-8000-000000000000"
    result = await gclient.members.add(gid, [*keys, ghost])
    assert set(result.failed) == {ghost}
    assert isinstance(result.failed[ghost], ag.NotFoundError)
    assert graph.store.members(gid) == frozenset(keys)


async def test_a_missing_group_fails_only_its_own_changes(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """In one $batch, a sub-request for a deleted group fails only that group."""
    keys = graph.store.seed_users(40)
    live = graph.store.seed_group("Live")
    gone = graph.store.seed_group("Gone")
    del graph.store.groups[gone]
    results = await gclient.members.add_many({live: keys[:20], gone: keys[20:]})
    assert results[live].ok
    assert graph.store.members(live) == frozenset(keys[:20])
    assert set(results[gone].failed) == set(keys[20:])
    assert all(isinstance(e, ag.NotFoundError) for e in results[gone].failed.values())


async def test_path_characters_in_ids_are_refused_before_io(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """An id holding / ? # or % can never be a Graph id: nothing is sent."""
    graph.clear_requests()
    for bad in ("a/b", "x?y", "../groups", "%2F"):
        with pytest.raises(ag.InvalidInputError):
            await gclient.members.add(bad, ["k"])
        with pytest.raises(ag.InvalidInputError):
            await gclient.groups.get(bad)
    result = await gclient.members.add(graph.store.seed_group("Eng"), ["a/b"])
    assert isinstance(result.failed["a/b"], ag.InvalidInputError)
    assert graph.requests == []
