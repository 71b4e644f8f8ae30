"""NeuroIO's membership limits: 100 pids a request, many groups a request, isolation."""

import json
from typing import Any

import asyncgroups as ag
from asyncgroups.testing import Emulator

MEMBERSHIP = "/v1/groups/persons/pids/"


def _adds(emulator: Emulator[Any]) -> int:
    return sum(
        1 for r in emulator.requests if r.method == "POST" and r.path == MEMBERSHIP
    )


async def test_add_many_packs_groups_into_one_request(
    nclient: ag.Client, neuroio: Emulator[Any]
) -> None:
    """25,000 pids into 3 groups: add_many sends 250 requests, one add per group 750."""
    pids = neuroio.store.seed_users(25_000)
    gids = [neuroio.store.seed_group(f"G{i}") for i in range(3)]
    neuroio.clear_requests()
    results = await nclient.members.add_many(dict.fromkeys(gids, pids))
    assert all(r.ok and len(r.succeeded) == 25_000 for r in results.values())
    assert _adds(neuroio) == 250
    assert all(len(r.json()["pids"]) == 100 for r in neuroio.requests)
    assert all(sorted(r.json()["groups_ids"]) == [1, 2, 3] for r in neuroio.requests)
    assert neuroio.store.memberships() == 75_000

    others = [neuroio.store.seed_group(f"H{i}") for i in range(3)]
    neuroio.clear_requests()
    for gid in others:
        assert (await nclient.members.add(gid, pids)).ok
    assert _adds(neuroio) == 750
    assert neuroio.store.memberships() == 150_000
    for gid in [*gids, *others]:
        assert neuroio.store.members(gid) == frozenset(pids)


async def test_unknown_pids_fail_alone_with_the_server_message(
    nclient: ag.Client, neuroio: Emulator[Any]
) -> None:
    """97 good + 3 unknown pids: 97 are added, 3 fail with the server's field message."""
    good = neuroio.store.seed_users(97)
    unknown = ["ghost-1", "ghost-2", "ghost-3"]
    gid = neuroio.store.seed_group("Eng")
    result = await nclient.members.add(gid, [*good[:40], *unknown, *good[40:]])
    assert result.succeeded == frozenset(good)
    assert set(result.failed) == set(unknown)
    assert neuroio.store.members(gid) == frozenset(good)
    for pid, error in result.failed.items():
        assert isinstance(error, ag.RejectedRequestError)
        assert error.status == 400
        (message,) = error.errors["pids"]
        assert message == f"Persons not found: {pid}."


async def test_over_100_pids_in_one_request_is_rejected_by_the_server(
    neuroio: Emulator[Any],
) -> None:
    """The emulator enforces the 100-pid limit itself: 400, nothing applied."""
    backend = ag.backends.NeuroIO(
        base_url=neuroio.url, token=neuroio.credentials["token"]
    )
    assert backend.max_batch == 100
    pids = neuroio.store.seed_users(101)
    gid = neuroio.store.seed_group("Eng")
    async with ag.Client(backend) as client:
        transport = client.transport
        body = {"pids": pids, "groups_ids": [int(gid)]}
        request = ag.transport.Request(
            "POST",
            f"{neuroio.url}{MEMBERSHIP}",
            headers={
                "Authorization": f"Token {neuroio.credentials['token']}",
                "Content-Type": "application/json",
            },
            body=json.dumps(body).encode(),
        )
        response = await transport.send(request)
    assert response.status == 400
    assert "pids" in response.body.decode()
    assert neuroio.store.members(gid) == frozenset()


async def test_full_group_rejects_the_whole_request(
    nclient: ag.Client, neuroio: Emulator[Any]
) -> None:
    """A request that would push a group past its limit applies to no group."""
    neuroio.store.max_group_size = 10
    pids = neuroio.store.seed_users(12)
    full = neuroio.store.seed_group("Full", members=pids[:9])
    free = neuroio.store.seed_group("Free")
    results = await nclient.members.add_many({full: pids[9:], free: pids[9:]})
    assert not results[full].ok
    assert neuroio.store.members(full) == frozenset(pids[:9]) | {
        k for k in pids[9:] if k in results[full].succeeded
    }
    assert len(neuroio.store.members(full)) <= 10
