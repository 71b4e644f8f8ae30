"""Memberships are read-modify-writes of the user's groups: serialised, never lost."""

import asyncio
from typing import Any, cast

import asyncgroups as ag
from asyncgroups.backends.periscope import PeriscopeSession
from asyncgroups.testing import Emulator, Fault


def _queues(client: ag.Client) -> int:
    """Users with a live membership queue in ``client``'s session."""
    return len(cast(PeriscopeSession, client.session).memberships)


async def test_200_concurrent_adds_to_one_user_lose_nothing(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """200 concurrent members.add for 200 groups: the user ends in all of them."""
    (email,) = periscope.store.seed_users(1)
    site = periscope.store.site()
    site.seed_group("Kept", members=[email])
    groups = [periscope.store.seed_group(f"Team {i:03}") for i in range(200)]
    periscope.clear_requests()

    results = await asyncio.gather(*(pclient.members.add(g, [email]) for g in groups))

    assert all(r.ok and r.succeeded == {email} for r in results)
    assert site.user_groups(email) == {"Everyone", "Kept", *groups}
    assert all(email in periscope.store.members(g) for g in groups)
    puts = [p for p in site.puts if p.email == email]
    assert puts
    assert all(not p.removed for p in puts), [p.removed for p in puts if p.removed]
    # Queued changes share read-modify-writes: far fewer than 3 requests per add.
    assert len(periscope.requests) < 3 * 200
    assert _queues(pclient) == 0


async def test_concurrent_adds_and_removes_on_many_users(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """Adds and removes across 20 users and 10 groups interleave without loss."""
    emails = periscope.store.seed_users(20)
    old = periscope.store.seed_group("Old", members=emails)
    groups = [periscope.store.seed_group(f"G{i}") for i in range(10)]
    await asyncio.gather(
        *(pclient.members.add(g, emails) for g in groups),
        pclient.members.remove(old, emails[:10]),
    )
    for g in groups:
        assert periscope.store.members(g) == frozenset(emails)
    assert periscope.store.members(old) == frozenset(emails[10:])


async def test_add_many_puts_several_groups_in_one_request(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """One user bound for three groups costs one PUT."""
    (email,) = periscope.store.seed_users(1)
    gids = [periscope.store.seed_group(n) for n in ("A", "B", "C")]
    periscope.clear_requests()
    results = await pclient.members.add_many({g: [email] for g in gids})
    assert all(r.ok for r in results.values())
    puts = [r for r in periscope.requests if r.method == "PUT"]
    assert len(puts) == 1
    assert sorted(puts[0].json()["groups"]) == ["A", "B", "C", "Everyone"]


async def test_members_are_derived_from_the_user_list(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """members.list walks users; names match case-insensitively; Everyone is all."""
    emails = periscope.store.seed_users(3)
    gid = periscope.store.seed_group("Sales Team", members=emails[:2])
    listed = {m.key async for m in pclient.members.list("sales team")}
    assert listed == set(emails[:2])
    everyone = {m.key async for m in pclient.members.list("Everyone")}
    assert everyone == {*emails, periscope.credentials["admin_email"]}
    assert gid == "Sales Team"


async def test_unknown_group_in_add_fails_that_key_only(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """Adding to a group that does not exist is refused, with the server's reason."""
    (email,) = periscope.store.seed_users(1)
    result = await pclient.members.add("Nope", [email])
    assert not result.ok
    assert isinstance(result.failed[email], ag.RejectedRequestError)


async def test_everyone_cannot_be_left(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """Removing someone from Everyone is refused before any request."""
    (email,) = periscope.store.seed_users(1)
    periscope.clear_requests()
    result = await pclient.members.remove("Everyone", [email])
    assert isinstance(result.failed[email], ag.InvalidInputError)
    assert periscope.requests == []


async def test_users_are_paged_by_cursor() -> None:
    """With a page size, users come in pages linked by ``next_page_start``."""
    from asyncgroups.testing import serve_emulator

    async with serve_emulator("periscope", users_page_size=7) as emu:
        emails = emu.store.seed_users(30)
        backend = ag.connect("periscope", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            listed = [u.id async for u in client.users.list()]
        assert sorted(listed) == sorted([*emails, emu.credentials["admin_email"]])
        assert len(listed) == len(set(listed))
        assert sum(1 for r in emu.requests if "next_page_start" in r.query) == 4


async def test_groups_replacement_is_serialised_with_member_changes(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """A groups replacement (users.update) and members.add on one user lose nothing.

    With slow PUTs, the replacement used to take a lock of its own (the user's queue
    was collected as soon as the lock was returned), so the add read the old list,
    the replacement landed, and the add's PUT then overwrote it.
    """
    (email,) = periscope.store.seed_users(1)
    site = periscope.store.site()
    for name in ("A", "B"):
        periscope.store.seed_group(name)
    periscope.faults.add(Fault.latency(0.05), route="PUT /api/v1/users*")

    periscope.clear_requests()
    update = asyncio.create_task(pclient.users.update(email, extra={"groups": ["A"]}))
    # Start the add while the replacement's PUT is held up at the server.
    while not any(r.method == "PUT" for r in periscope.requests):
        await asyncio.sleep(0.001)
    added = await pclient.members.add("B", [email])
    user = await update

    assert added.ok
    assert added.succeeded == {email}
    assert user.email == email
    # Serial order: the replacement, then the add read-modify-writing its result.
    assert site.user_groups(email) == {"A", "B", "Everyone"}
    assert _queues(pclient) == 0
