"""Listings that span many pages: complete, unique, and fetched lazily."""

from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.backends import Capability
from asyncgroups.testing import Emulator


@pytest.mark.requires(Capability.MEMBERS_LIST)
async def test_many_members_are_listed_once_each(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """A group larger than a page lists every member exactly once."""
    keys = emulator.store.seed_users(430)
    gid = emulator.store.seed_group("Big", members=keys)
    members = [m async for m in client.members.list(gid)]
    listed = [m.key for m in members]
    assert len(listed) == len(set(listed))
    assert set(listed) == emulator.store.members(gid)
    assert all(m.group_id == gid for m in members)


async def test_many_groups_are_listed_once_each(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """More groups than a page are listed exactly once each."""
    seeded = {emulator.store.seed_group(f"G{i:03d}") for i in range(230)}
    listed = [g.id async for g in client.groups.list()]
    assert len(listed) == len(set(listed))
    assert seeded <= set(listed)
    assert set(listed) == set(emulator.store.group_ids())


async def test_groups_are_fetched_lazily(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Stopping after the first group fetches no further pages."""
    for i in range(230):
        emulator.store.seed_group(f"G{i:03d}")
    emulator.clear_requests()
    async for _ in client.groups.list():
        break
    assert 1 <= len(emulator.requests) <= 2
