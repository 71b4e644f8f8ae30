"""Injected 429s, 503s and dropped connections: retried, honoured, nothing lost or doubled."""

import itertools
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.backends import Capability
from asyncgroups.testing import Emulator, Fault


def _gets(emulator: Emulator[Any]) -> list[float]:
    return [r.time for r in emulator.requests if r.method == "GET"]


async def test_429_is_retried_after_retry_after(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Two 429s with Retry-After are waited out; the third attempt succeeds."""
    gid = emulator.store.seed_group("Eng")
    emulator.faults.add(
        Fault.status(429, retry_after=0.05), times=2, when=lambda r: r.method == "GET"
    )
    emulator.clear_requests()
    group = await client.groups.get(gid)
    assert group.name == "Eng"
    times = _gets(emulator)
    assert len(times) == 3
    assert all(b - a >= 0.045 for a, b in itertools.pairwise(times))
    assert emulator.faults.counts["429"] == 2


async def test_html_503_is_retried(client: ag.Client, emulator: Emulator[Any]) -> None:
    """HTML 503 pages are retried until the server answers."""
    gid = emulator.store.seed_group("Eng")
    emulator.faults.add(Fault.status(503, html=True), times=3)
    group = await client.groups.get(gid)
    assert group.id == gid
    assert emulator.faults.counts["503"] == 3


@pytest.mark.requires(Capability.MEMBERS_ADD)
async def test_dropped_add_is_not_lost_or_doubled(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """An add whose connection dropped after applying ends applied exactly once."""
    keys = emulator.store.seed_users(5)
    gid = emulator.store.seed_group("Eng")
    baseline = emulator.store.members(gid)
    emulator.faults.add(
        Fault.drop(after_apply=True), times=1, when=lambda r: r.method != "GET"
    )
    result = await client.members.add(gid, keys)
    assert result.ok
    assert emulator.store.members(gid) == baseline | set(keys)
    assert emulator.faults.counts["drop"] == 1


@pytest.mark.requires(Capability.GROUPS_CREATE)
async def test_dropped_create_makes_one_group(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """A create whose connection dropped after applying leaves exactly one group."""
    emulator.faults.add(
        Fault.drop(after_apply=True), times=1, when=lambda r: r.method == "POST"
    )
    before = set(emulator.store.group_ids())
    group = await client.groups.create("Reconciled")
    created = set(emulator.store.group_ids()) - before
    assert created == {group.id}
    assert group.name == "Reconciled"


async def test_seeded_random_faults_lose_nothing(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Under seeded random 429/503 faults every group is still listed once."""
    seeded = {emulator.store.seed_group(f"G{i:03d}") for i in range(120)}
    emulator.faults.random(seed=3, p429=0.2, p503=0.1, retry_after=0.05)
    listed = [g.id async for g in client.groups.list()]
    assert len(listed) == len(set(listed))
    assert seeded <= set(listed)
