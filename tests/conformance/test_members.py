"""Membership changes and listings, on every backend, from both sides."""

from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.backends import Capability
from asyncgroups.testing import Emulator


async def _listed(client: ag.Client, gid: str) -> list[str]:
    return [m.key async for m in client.members.list(gid)]


@pytest.mark.requires(Capability.MEMBERS_LIST)
async def test_seeded_members_are_listed(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Members seeded on the server are listed, each once."""
    keys = emulator.store.seed_users(12)
    gid = emulator.store.seed_group("Eng", members=keys)
    listed = await _listed(client, gid)
    assert len(listed) == len(set(listed))
    assert set(listed) == emulator.store.members(gid)
    assert set(keys) <= set(listed)


@pytest.mark.requires(Capability.MEMBERS_ADD, Capability.MEMBERS_LIST)
async def test_added_members_are_listed_and_stored(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Members added through the client are listed back and exist on the server."""
    keys = emulator.store.seed_users(5)
    gid = emulator.store.seed_group("Eng")
    baseline = emulator.store.members(gid)
    result = await client.members.add(gid, keys)
    assert result.ok
    assert result.succeeded == frozenset(keys)
    assert emulator.store.members(gid) == baseline | set(keys)
    assert set(await _listed(client, gid)) == baseline | set(keys)


@pytest.mark.requires(Capability.MEMBERS_ADD)
async def test_adding_members_twice_changes_nothing(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Adding keys that are already members succeeds and leaves the group as it was."""
    keys = emulator.store.seed_users(4)
    gid = emulator.store.seed_group("Eng", members=keys)
    before = emulator.store.members(gid)
    result = await client.members.add(gid, keys)
    assert result.ok
    assert emulator.store.members(gid) == before


@pytest.mark.requires(Capability.MEMBERS_ADD)
async def test_large_add_is_batched_and_complete(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """An add larger than one request's worth arrives whole."""
    keys = emulator.store.seed_users(250)
    gid = emulator.store.seed_group("Big")
    baseline = emulator.store.members(gid)
    result = await client.members.add(gid, keys)
    assert result.ok
    assert result.succeeded == frozenset(keys)
    assert emulator.store.members(gid) == baseline | set(keys)


@pytest.mark.requires(Capability.MEMBERS_REMOVE)
async def test_removed_members_leave_the_server(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Removed members are gone from the server; the others stay."""
    keys = emulator.store.seed_users(6)
    gid = emulator.store.seed_group("Eng", members=keys)
    result = await client.members.remove(gid, keys[:4])
    assert result.ok
    held = emulator.store.members(gid)
    assert not held & set(keys[:4])
    assert set(keys[4:]) <= held


@pytest.mark.requires(Capability.MEMBERS_ADD)
async def test_add_many_fills_every_group(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """``add_many`` puts each group's keys into that group and no other."""
    keys = emulator.store.seed_users(9)
    g1 = emulator.store.seed_group("One")
    g2 = emulator.store.seed_group("Two")
    base1, base2 = emulator.store.members(g1), emulator.store.members(g2)
    results = await client.members.add_many({g1: keys[:6], g2: keys[3:]})
    assert results[g1].ok
    assert results[g2].ok
    assert emulator.store.members(g1) == base1 | set(keys[:6])
    assert emulator.store.members(g2) == base2 | set(keys[3:])


@pytest.mark.requires(Capability.MEMBERS_ADD_MANY, Capability.GROUPS_DELETE)
async def test_a_missing_group_fails_only_itself_in_a_shared_request(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Keys bound for a live and a deleted group: the live one takes them all."""
    keys = emulator.store.seed_users(5)
    live = emulator.store.seed_group("Live")
    gone = emulator.store.seed_group("Gone")
    base = emulator.store.members(live)
    await client.groups.delete(gone)
    results = await client.members.add_many({live: keys, gone: keys})
    assert results[live].ok, dict(results[live].failed)
    assert results[live].succeeded == frozenset(keys)
    assert emulator.store.members(live) == base | set(keys)
    assert set(results[gone].failed) == set(keys)
    assert not results[gone].succeeded


@pytest.mark.requires(Capability.MEMBERS_REMOVE)
async def test_remove_many_empties_every_group(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """``remove_many`` takes each group's keys out of that group only."""
    keys = emulator.store.seed_users(6)
    g1 = emulator.store.seed_group("One", members=keys)
    g2 = emulator.store.seed_group("Two", members=keys)
    results = await client.members.remove_many({g1: keys[:3], g2: keys[3:]})
    assert all(r.ok for r in results.values())
    assert not emulator.store.members(g1) & set(keys[:3])
    assert set(keys[3:]) <= emulator.store.members(g1)
    assert not emulator.store.members(g2) & set(keys[3:])
    assert set(keys[:3]) <= emulator.store.members(g2)


@pytest.mark.requires(Capability.MEMBERS_ADD)
async def test_unknown_key_is_isolated(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """A key the server does not know fails alone; the other keys are added."""
    keys = emulator.store.seed_users(7)
    gid = emulator.store.seed_group("Eng")
    baseline = emulator.store.members(gid)
    unknown = "nobody-0000@example.invalid"
    result = await client.members.add(gid, [*keys[:3], unknown, *keys[3:]])
    assert not result.ok
    assert set(result.failed) == {unknown}
    assert isinstance(result.failed[unknown], ag.AsyncGroupsError)
    assert result.succeeded == frozenset(keys)
    assert emulator.store.members(gid) == baseline | set(keys)
