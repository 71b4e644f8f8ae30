"""Group CRUD and listing, on every backend, asserted from the client and the server."""

from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.backends import Capability
from asyncgroups.testing import Emulator


@pytest.mark.requires(Capability.GROUPS_CREATE)
async def test_created_group_is_returned_and_stored(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """A created group comes back with its name and exists on the server."""
    before = set(emulator.store.group_ids())
    group = await client.groups.create("Engineering")
    assert group.name == "Engineering"
    assert group.id in emulator.store.group_ids()
    assert set(emulator.store.group_ids()) - before == {group.id}
    assert (await client.groups.get(group.id)).name == "Engineering"


async def test_seeded_group_is_fetched(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """A group seeded on the server is fetched by its id."""
    gid = emulator.store.seed_group("Sales")
    group = await client.groups.get(gid)
    assert group.id == gid
    assert group.name == "Sales"


@pytest.mark.requires(Capability.GROUPS_UPDATE)
async def test_renamed_group_is_returned_and_stored(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """A rename is returned and is what the server now holds."""
    gid = emulator.store.seed_group("Old name")
    group = await client.groups.update(gid, name="New name")
    assert group.name == "New name"
    assert group.id in emulator.store.group_ids()
    assert (await client.groups.get(group.id)).name == "New name"


@pytest.mark.requires(Capability.GROUPS_DELETE)
async def test_deleted_group_is_gone(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """A deleted group leaves the server, and fetching it is a NotFoundError."""
    gid = emulator.store.seed_group("Doomed")
    keep = emulator.store.seed_group("Kept")
    await client.groups.delete(gid)
    assert gid not in emulator.store.group_ids()
    assert keep in emulator.store.group_ids()
    with pytest.raises(ag.NotFoundError):
        await client.groups.get(gid)


async def test_list_returns_every_group_once(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Listing yields every group the server holds, each once."""
    seeded = {emulator.store.seed_group(f"Team {i:02d}") for i in range(7)}
    listed = [g.id async for g in client.groups.list()]
    assert len(listed) == len(set(listed))
    assert seeded <= set(listed)
    assert set(listed) == set(emulator.store.group_ids())


async def test_list_filters_by_name(client: ag.Client, emulator: Emulator[Any]) -> None:
    """``list(query=...)`` keeps groups whose name matches and drops the others."""
    eng = emulator.store.seed_group("Engineering")
    sales = emulator.store.seed_group("Sales")
    listed = {g.id async for g in client.groups.list(query="Engin")}
    assert eng in listed
    assert sales not in listed
