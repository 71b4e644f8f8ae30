"""The v2 contract for Periscope: one session per Client, fields through ``extra``."""

import asyncio
from typing import Any, cast

import pytest

import asyncgroups as ag
from asyncgroups.backends.base import check_session
from asyncgroups.backends.periscope import Periscope, PeriscopeSession
from asyncgroups.testing import Emulator, Fault

from .conftest import FAST


async def test_unknown_fields_are_refused_before_any_request(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """A field Periscope does not take is an InvalidInputError naming it, no I/O."""
    (email,) = periscope.store.seed_users(1)
    periscope.clear_requests()
    calls = [
        pclient.users.create(email="n@example.com", extra={"colour": "red"}),
        pclient.users.update(email, extra={"invited_by_email": email}),
        pclient.groups.create("G", extra={"owner": email}),
        pclient.groups.update("Everyone", extra={"created_by_email": email}),
    ]
    for call, key in zip(
        calls, ["colour", "invited_by_email", "owner", "created_by_email"], strict=True
    ):
        with pytest.raises(ag.InvalidInputError, match=repr(key)):
            await call
    with pytest.raises(ag.InvalidInputError, match="description"):
        await pclient.groups.create("G", description="no such thing here")
    assert periscope.requests == []


async def test_periscope_fields_travel_through_extra(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """``groups``, ``invited_by_email``, ``access`` and ``updated_by_email`` arrive."""
    admin = periscope.credentials["admin_email"]
    (other,) = periscope.store.seed_users(1)
    group = await pclient.groups.create("Sales", extra={"access": "Edit"})
    assert group.extra["access"] == "Edit"
    assert periscope.requests[-1].json()["created_by_email"] == admin
    user = await pclient.users.create(
        email="n@example.com",
        first_name="N",
        extra={"groups": ["Sales"], "invited_by_email": other},
    )
    assert periscope.requests[-1].json()["invited_by_email"] == other
    assert "Sales" in user.extra["groups"]
    assert periscope.store.members("Sales") == {"n@example.com"}
    await pclient.groups.update(
        "Sales", extra={"access": "View", "updated_by_email": admin}
    )
    assert periscope.requests[-1].json() == {
        "access": "View",
        "updated_by_email": admin,
    }
    updated = await pclient.users.update("n@example.com", extra={"groups": []})
    assert "Sales" not in updated.extra["groups"]
    assert periscope.store.members("Sales") == frozenset()


async def test_two_clients_on_one_backend_share_nothing(
    periscope: Emulator[Any],
) -> None:
    """Each Client gets its own session and queues; closing one leaves the other."""
    emails = periscope.store.seed_users(2)
    periscope.store.seed_group("A")
    backend = ag.connect("periscope", base_url=periscope.url, **periscope.credentials)
    assert isinstance(backend, Periscope)
    first = ag.Client(backend, retry=FAST)
    second = ag.Client(backend, retry=FAST)
    one = cast(PeriscopeSession, first.session)
    two = cast(PeriscopeSession, second.session)
    assert one is not two
    assert one.memberships is not two.memberships
    check_session(backend, one)

    periscope.faults.add(Fault.latency(0.05), route="PUT /api/v1/users*")
    add = asyncio.create_task(first.members.add("A", emails[:1]))
    while not any(r.method == "PUT" for r in periscope.requests):
        await asyncio.sleep(0.001)
    assert len(one.memberships) == 1
    assert len(two.memberships) == 0
    assert (await add).ok

    await first.aclose()
    with pytest.raises(ag.ClientClosedError):
        await one.get_group("A")
    assert (await second.members.add("A", emails[1:])).ok
    assert periscope.store.members("A") == frozenset(emails)
    await second.aclose()
    await second.aclose()


async def test_test_mode_is_per_backend_and_reaches_the_session(
    periscope: Emulator[Any],
) -> None:
    """``test_mode`` is configuration; the session reports and honours it."""
    options = {**periscope.credentials, "test_mode": True}
    backend = ag.connect("periscope", base_url=periscope.url, **options)
    async with ag.Client(backend, retry=FAST) as client:
        session = cast(PeriscopeSession, client.session)
        assert session.test_mode
        await client.groups.create("Never")
    assert periscope.requests[-1].query == {"test_mode": "true"}
    assert "Never" not in periscope.store.group_ids()
