"""NeuroIO listings: clamped pages, filters in the real client's order."""

from typing import Any

import asyncgroups as ag
from asyncgroups.backends.neuroio import NeuroIOSession
from asyncgroups.testing import Emulator


async def test_clamped_pages_still_list_every_member(neuroio: Emulator[Any]) -> None:
    """A 10,000-member group asked in pages of 1,000, clamped at 100, lists all once."""
    pids = neuroio.store.seed_users(10_000)
    gid = neuroio.store.seed_group("Big", members=pids)
    backend = ag.backends.NeuroIO(
        base_url=neuroio.url, page_size=1000, token=neuroio.credentials["token"]
    )
    neuroio.clear_requests()
    async with ag.Client(backend) as client:
        listed = [m.key async for m in client.members.list(gid)]
    assert len(listed) == 10_000
    assert set(listed) == set(pids)
    assert listed == pids  # insertion order survives the walk
    assert len(neuroio.requests) == 100
    assert {r.query["limit"] for r in neuroio.requests} == {"1000"}
    assert [int(r.query["offset"]) for r in neuroio.requests] == list(
        range(0, 10_000, 100)
    )


async def test_group_filters_are_comma_joined_in_order(
    nclient: ag.Client, neuroio: Emulator[Any]
) -> None:
    """Filters go out as the real client sends them and select the right groups."""
    pids = neuroio.store.seed_users(3)
    a = neuroio.store.seed_group("Team A", members=pids[:2])
    b = neuroio.store.seed_group("Team B", members=pids[2:])
    neuroio.store.seed_group("Other", members=pids)
    neuroio.clear_requests()
    session = nclient.session
    assert isinstance(session, NeuroIOSession)
    found = [
        g.id
        async for g in session.iter_groups(
            "team",
            pids_include=pids[:3],
            pids_exclude=["nobody"],
            groups_ids=[a, b],
            spaces_ids=[1],
        )
    ]
    assert found == [a, b]
    (request,) = neuroio.requests
    # A comma may travel as "," or "%2C" (RFC 3986 allows both in a query).
    assert request.raw_path.replace("%2C", ",") == (
        f"/v1/groups/persons/?q=team&pids_include={','.join(pids)}"
        f"&pids_exclude=nobody&groups_ids={a},{b}&spaces_ids=1&limit=100&offset=0"
    )
    excluded = [
        g.id async for g in session.iter_groups_with_pids([pids[0]], exclude=True)
    ]
    assert excluded == [b]
