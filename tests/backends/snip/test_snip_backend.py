"""Behaviour only the Snip backend has, against the Snip emulator over loopback."""

import json
import time
from collections.abc import AsyncIterator
from itertools import pairwise
from typing import Any, cast

import attrs
import pytest

import asyncgroups as ag
from asyncgroups.backends.base import (
    MemberAdder,
    UserCreator,
    UserDeleter,
    UserUpdater,
)
from asyncgroups.backends.snip import Snip, SnipSession
from asyncgroups.testing import Emulator, Fault, serve_emulator
from asyncgroups.transport.base import Request

NO_RETRY = ag.RetryPolicy.off()


@pytest.fixture
async def emu() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("snip", seed=1) as emulator:
        yield emulator


def client_for(emu: Emulator[Any], token: str | None = None, **kw: object) -> ag.Client:
    backend = Snip(token=token or emu.credentials["token"], base_url=emu.url)
    return ag.Client(backend, retry=NO_RETRY, **kw)  # type: ignore[arg-type]


def session_of(client: ag.Client) -> SnipSession:
    return cast(SnipSession, client.session)


def patches(emu: Emulator[Any]) -> list[dict[str, object]]:
    return [r.json() for r in emu.requests if r.method == "PATCH"]


async def test_removes_300_of_1000_members_in_one_patch(emu: Emulator[Any]) -> None:
    """300 of 1,000 members go in one PATCH; the other 700 and the owner stay."""
    keys = emu.store.seed_users(1000)
    gid = emu.store.seed_group("Big", members=keys)
    gone, kept = keys[:300], keys[300:]
    async with client_for(emu) as client:
        result = await client.members.remove(gid, gone)
        listed = {m.key async for m in client.members.list(gid)}
    assert result.ok
    assert result.succeeded == frozenset(gone)
    assert result.requests == 1
    (body,) = patches(emu)
    assert body == {"remove_members": [int(k) for k in gone]}
    owner = str(emu.store.owner_id)
    assert emu.store.members(gid) == frozenset(kept) | {owner}
    assert listed == frozenset(kept) | {owner}


async def test_more_than_max_batch_is_split(emu: Emulator[Any]) -> None:
    """1,200 removals become three PATCHes of at most 500 ids."""
    keys = emu.store.seed_users(1200)
    gid = emu.store.seed_group("Bigger", members=keys)
    async with client_for(emu) as client:
        result = await client.members.remove(gid, keys)
    assert result.ok
    sizes = sorted(len(b["remove_members"]) for b in patches(emu))  # type: ignore[arg-type]
    assert sizes == [200, 500, 500]
    assert emu.store.members(gid) == {str(emu.store.owner_id)}


async def test_moderator_cannot_delete_group(emu: Emulator[Any]) -> None:
    """A moderator's token gets PermissionDeniedError and the group survives."""
    (mod,) = emu.store.seed_users(1)
    gid = emu.store.seed_group("Eng", members=[mod])
    emu.store.set_role(gid, mod, "moderator")
    token = emu.store.mint_token(mod)
    before = emu.store.roles(gid)
    async with client_for(emu, token) as client:
        with pytest.raises(ag.errors.PermissionDeniedError) as info:
            await client.groups.delete(gid)
    assert info.value.status == 403
    assert gid in emu.store.group_ids()
    assert emu.store.roles(gid) == before
    assert token not in str(info.value)
    assert token not in repr(info.value)


async def test_moderator_may_rename_but_not_remove_owner(emu: Emulator[Any]) -> None:
    """Role rules: moderators rename; removing the owner is refused unchanged."""
    (mod,) = emu.store.seed_users(1)
    gid = emu.store.seed_group("Eng", members=[mod])
    emu.store.set_role(gid, mod, "moderator")
    async with client_for(emu, emu.store.mint_token(mod)) as client:
        renamed = await client.groups.update(gid, name="Engineering")
        result = await client.members.remove(gid, [str(emu.store.owner_id)])
    assert renamed.name == "Engineering"
    assert not result.ok
    assert isinstance(
        result.failed[str(emu.store.owner_id)], ag.errors.PermissionDeniedError
    )
    assert str(emu.store.owner_id) in emu.store.members(gid)


async def test_book_token_needs_account_token(emu: Emulator[Any]) -> None:
    """A book token gets AuthenticationError saying an account token is needed."""
    book = emu.store.mint_token(emu.store.owner_id, kind="book")
    async with client_for(emu, book) as client:
        with pytest.raises(ag.errors.AuthenticationError) as info:
            [g async for g in client.groups.list()]
    assert "account token" in str(info.value)
    assert book not in str(info.value)


async def test_add_is_unsupported_before_any_request(emu: Emulator[Any]) -> None:
    """members.add raises UnsupportedOperationError and sends nothing.

    The session has no member-add method at all (no stub that only raises).
    """
    keys = emu.store.seed_users(2)
    gid = emu.store.seed_group("Eng")
    async with client_for(emu) as client:
        with pytest.raises(ag.errors.UnsupportedOperationError):
            await client.members.add(gid, keys)
        with pytest.raises(ag.errors.UnsupportedOperationError):
            await client.members.add_many({gid: keys})
        assert not isinstance(client.session, MemberAdder)
        assert not hasattr(client.session, "add_members")
    assert emu.requests == []
    assert emu.store.members(gid) == {str(emu.store.owner_id)}


async def test_user_writes_are_unsupported_before_any_request(
    emu: Emulator[Any],
) -> None:
    """users.create/update/delete raise UnsupportedOperationError and send nothing."""
    (key,) = emu.store.seed_users(1)
    async with client_for(emu) as client:
        with pytest.raises(ag.errors.UnsupportedOperationError):
            await client.users.create(email="a@example.org")
        with pytest.raises(ag.errors.UnsupportedOperationError):
            await client.users.update(key, first_name="A")
        with pytest.raises(ag.errors.UnsupportedOperationError):
            await client.users.delete(key)
        for protocol in (UserCreator, UserUpdater, UserDeleter):
            assert not isinstance(client.session, protocol)
    assert emu.requests == []


async def test_unknown_group_fields_are_refused_before_sending(
    emu: Emulator[Any],
) -> None:
    """An ``extra`` field Snip does not have is an InvalidInputError naming it."""
    gid = emu.store.seed_group("Eng")
    async with client_for(emu) as client:
        with pytest.raises(ag.errors.InvalidInputError) as created:
            await client.groups.create("Eng", extra={"colour": "blue"})
        with pytest.raises(ag.errors.InvalidInputError) as updated:
            await client.groups.update(gid, name="X", extra={"colour": "blue"})
    assert "colour" in str(created.value)
    assert "colour" in str(updated.value)
    assert emu.requests == []
    assert emu.store.group(gid).name == "Eng"


async def test_update_leaves_unset_fields_alone(emu: Emulator[Any]) -> None:
    """``None`` leaves a field as it is: only what was given is PATCHed."""
    gid = emu.store.seed_group("Eng")
    async with client_for(emu) as client:
        await client.groups.update(gid, description="d")
        renamed = await client.groups.update(gid, name="Eng2")
        same = await client.groups.update(gid)
    assert patches(emu) == [{"description": "d"}, {"name": "Eng2"}]
    assert (renamed.name, renamed.description) == ("Eng2", "d")
    assert (same.name, same.description) == ("Eng2", "d")


async def test_two_clients_share_one_backend_but_not_sessions(
    emu: Emulator[Any],
) -> None:
    """One Snip object serves two Clients; closing one leaves the other working."""
    gid = emu.store.seed_group("Eng")
    backend = Snip(token=emu.credentials["token"], base_url=emu.url)
    first = ag.Client(backend, retry=NO_RETRY)
    second = ag.Client(backend, retry=NO_RETRY)
    try:
        assert first.session is not second.session
        made = await first.groups.create("Mine")
        assert session_of(first)._created == {int(made.id)}
        assert session_of(second)._created == set()
        await first.aclose()
        with pytest.raises(ag.errors.ClientClosedError):
            await first.session.get_group(gid)
        assert (await second.groups.get(gid)).name == "Eng"
        await second.session.aclose()
        await second.session.aclose()  # idempotent
        with pytest.raises(ag.errors.ClientClosedError):
            await session_of(second).leave_group(gid)
    finally:
        await first.aclose()
        await second.aclose()


def test_backend_is_immutable_configuration() -> None:
    """Snip holds no per-Client state and refuses changes after construction."""
    backend = Snip(token="t" * 16)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        backend.max_batch = 1  # type: ignore[misc]
    assert not hasattr(backend, "bind")
    assert backend.capabilities == Snip.CAPABILITIES
    with pytest.raises(ag.errors.ConfigurationError):
        Snip(token="t" * 16, max_batch=0)
    with pytest.raises(ag.errors.ConfigurationError):
        Snip(token="t" * 16, base_url="ftp://x")


@pytest.mark.parametrize("after_apply", [True, False], ids=["after", "before"])
async def test_ambiguous_create_makes_exactly_one_group(
    emu: Emulator[Any], after_apply: bool
) -> None:
    """A create whose connection drops is reconciled: exactly one new group."""
    # Same name, but older than the clock-skew window, or not owned by us: neither
    # may be mistaken for the group the lost request created.
    emu.store.clock = lambda: time.time() - 60
    emu.store.seed_group("Eng")
    emu.store.clock = time.time
    (other,) = emu.store.seed_users(1)
    theirs = emu.store.new_group("Eng", int(other))
    emu.store.set_role(theirs.id, emu.store.owner_id, "member")
    before = set(emu.store.group_ids())
    emu.faults.add(
        Fault.drop(after_apply=after_apply),
        times=1,
        route="POST /api/account/groups",
    )
    async with client_for(emu) as client:
        group = await client.groups.create("Eng")
    new = set(emu.store.group_ids()) - before
    assert new == {group.id}
    assert emu.store.group(group.id).name == "Eng"
    assert emu.faults.counts["drop"] == 1


async def test_create_twice_same_name_makes_two_groups(emu: Emulator[Any]) -> None:
    """Names are not unique: two creates give two ids."""
    async with client_for(emu) as client:
        a = await client.groups.create("Same", description="first")
        b = await client.groups.create("Same")
    assert a.id != b.id
    assert a.description == "first"
    assert b.description is None
    bodies = [r.json() for r in emu.requests if r.method == "POST"]
    assert bodies == [{"name": "Same"}, {"name": "Same"}]
    assert patches(emu) == [{"description": "first"}]


async def test_trailing_slash_base_url_sends_single_slash_paths(
    emu: Emulator[Any],
) -> None:
    """A base_url ending in "/" still gives /api/... on the wire."""
    gid = emu.store.seed_group("Eng")
    backend = Snip(token=emu.credentials["token"], base_url=emu.url + "//")
    async with ag.Client(backend, retry=NO_RETRY) as client:
        await client.groups.get(gid)
        [g async for g in client.groups.list()]
    assert [r.raw_path for r in emu.requests] == [
        f"/api/account/groups/{gid}",
        "/api/account/groups",
    ]
    assert emu.store.merged_paths == []


async def test_emulator_merges_double_slashes(emu: Emulator[Any]) -> None:
    """The emulator answers //api/... and records and fault-matches the merged path."""
    emu.faults.add(Fault.status(503), times=1, route="GET /api/account/groups")
    async with client_for(emu) as client:
        transport = client.transport
        request = Request(
            "GET",
            emu.url + "//api/account/groups",
            headers={"Authorization": f"Bearer {emu.credentials['token']}"},
        )
        first = await transport.send(request)
        second = await transport.send(request)
    assert (first.status, second.status) == (503, 200)
    assert (second.header("content-type") or "").startswith("application/json")
    assert [r.path for r in emu.requests] == ["/api/account/groups"] * 2
    assert emu.store.merged_paths == ["//api/account/groups"] * 2


async def test_roles_transfer_and_leave(emu: Emulator[Any]) -> None:
    """set_roles, transfer_ownership and leave_group follow Snip's role rules."""
    a, b = emu.store.seed_users(2)
    gid = emu.store.seed_group("Eng", members=[a, b])
    owner = str(emu.store.owner_id)
    async with client_for(emu) as client:
        snip = session_of(client)
        await snip.set_roles(gid, {a: "moderator"})
        assert emu.store.roles(gid)[a] == "moderator"
        with pytest.raises(ag.errors.RejectedRequestError):
            await snip.leave_group(gid)  # the owner cannot leave
        await snip.transfer_ownership(gid, a)
        assert emu.store.roles(gid)[a] == "owner"
        assert emu.store.roles(gid)[owner] == "moderator"
        await snip.leave_group(gid)
        with pytest.raises(ag.errors.NotFoundError):
            await client.groups.get(gid)
    assert emu.store.members(gid) == {a, b}
    leaves = [r for r in emu.requests if r.path.endswith("/leave")]
    assert [r.method for r in leaves] == ["POST", "POST"]
    # aiohttp itself adds "Content-Type: application/octet-stream" to a bodiless
    # POST; the backend sends none (see test_sansio_snip).
    assert all(r.body == b"" for r in leaves)


async def test_users_are_derived_from_members(emu: Emulator[Any]) -> None:
    """users.list walks groups once per user; users.get finds a member."""
    keys = emu.store.seed_users(3)
    emu.store.seed_group("A", members=keys[:2])
    emu.store.seed_group("B", members=keys[1:])
    async with client_for(emu) as client:
        users = [u async for u in client.users.list()]
        one = await client.users.get(keys[2])
        with pytest.raises(ag.errors.NotFoundError):
            await client.users.get("999999")
        with pytest.raises(ag.errors.NotFoundError):
            await client.users.get("not-a-number")
        with pytest.raises(ag.errors.UnsupportedOperationError):
            await client.users.create(email="a@example.org")
    assert sorted(u.id for u in users) == sorted([*keys, str(emu.store.owner_id)])
    assert one.email == f"user{keys[2]}@example.org"


async def test_non_integer_ids_fail_before_sending(emu: Emulator[Any]) -> None:
    """Non-integer group ids and keys never reach the server."""
    gid = emu.store.seed_group("Eng")
    async with client_for(emu) as client:
        with pytest.raises(ag.errors.NotFoundError):
            await client.groups.get("abc")
        result = await client.members.remove(gid, ["x"])
        with pytest.raises(ag.errors.InvalidInputError):
            await client.groups.create("ab")
    assert isinstance(result.failed["x"], ag.errors.NotFoundError)
    assert emu.requests == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.status(429, retry_after=1), ag.errors.RateLimitedError),
        (Fault.status(503, html=True), ag.errors.ServerError),
        (Fault.status(500, body=b'{"message": "boom"}'), ag.errors.ServerError),
        (Fault.malformed(), ag.errors.DecodeError),
    ],
    ids=["429", "503-html", "500-envelope", "malformed"],
)
async def test_faults_are_classified_by_status(
    emu: Emulator[Any], fault: Fault, error: type[Exception]
) -> None:
    """429 and 5xx are typed by status whatever the body; bad JSON is DecodeError."""
    emu.faults.add(fault, times=1)
    async with client_for(emu) as client:
        with pytest.raises(error):
            [g async for g in client.groups.list()]


async def test_secret_stays_out_of_repr(emu: Emulator[Any]) -> None:
    """The token never shows in the backend's repr; CR/LF tokens are refused."""
    token = emu.credentials["token"]
    backend = Snip(token=token, base_url=emu.url)
    assert token not in repr(backend)
    with pytest.raises(ag.errors.ConfigurationError) as info:
        Snip(token="abc\r\nX-Evil: 1")
    assert "abc" not in str(info.value)


async def test_lost_create_is_reconciled_whatever_the_server_clock() -> None:
    """A server clock 5 s behind ours still gives one group after a lost create."""
    async with serve_emulator("snip", seed=1, now=lambda: time.time() - 5) as emu:
        emu.store.seed_group("Eng")
        before = set(emu.store.group_ids())
        emu.faults.add(
            Fault.drop(after_apply=True), times=1, route="POST /api/account/groups"
        )
        async with client_for(emu) as client:
            group = await client.groups.create("Eng")
        assert set(emu.store.group_ids()) - before == {group.id}
        assert [r.method for r in emu.requests if r.method == "POST"] == ["POST"]


async def test_failed_description_names_the_created_group(emu: Emulator[Any]) -> None:
    """If the description PATCH fails, the error carries the group that exists."""
    emu.faults.add(Fault.status(503), times=1, route="PATCH /api/account/groups/*")
    async with client_for(emu) as client:
        with pytest.raises(ag.errors.ServerError) as info:
            await client.groups.create("Eng", description="d")
    (gid,) = emu.store.group_ids()
    assert info.value.created_group_id == gid  # type: ignore[attr-defined]
    assert any(f"group {gid} was created" in n for n in info.value.__notes__)
    assert emu.store.group(gid).description is None


@pytest.mark.parametrize(
    "fault", [Fault.drop(after_apply=True), Fault.drop()], ids=["after", "before"]
)
async def test_lost_delete_is_reconciled(emu: Emulator[Any], fault: Fault) -> None:
    """A DELETE whose answer was lost is re-sent; a 404 then means it is gone.

    aiohttp re-sends a dropped DELETE itself, so even with retries off the
    backend may see the 404 of a second attempt with ``attempts == 1``.
    """
    gid = emu.store.seed_group("Eng")
    emu.faults.add(fault, times=1, route="DELETE /api/account/groups/*")
    async with client_for(emu) as client:
        await client.groups.delete(gid)
    assert gid not in emu.store.group_ids()


async def test_delete_missing_group_after_429_is_not_found(emu: Emulator[Any]) -> None:
    """A 429 was never applied: a 404 on the retry means there was no such group."""
    emu.faults.add(
        Fault.status(429, retry_after=0), times=1, route="DELETE /api/account/groups/*"
    )
    backend = Snip(token=emu.credentials["token"], base_url=emu.url)
    retry = ag.RetryPolicy(max_attempts=3, base_delay=0.001, budget=None)
    async with ag.Client(backend, retry=retry) as client:
        with pytest.raises(ag.errors.NotFoundError):
            await client.groups.delete("424242")
    assert emu.store.group_ids() == []


async def test_emulator_times_are_whole_seconds_and_patches_show() -> None:
    """Times are ``...:SS.000Z``; each PATCH visibly advances ``last_updated``."""
    async with serve_emulator("snip", seed=1, now=lambda: 1_760_447_300.789) as emu:
        gid = emu.store.seed_group("Eng")
        async with client_for(emu) as client:
            session = session_of(client)
            stamps = [(await session._fetch_group(int(gid))).last_updated]
            for name in ("Eng2", "Eng3"):
                await client.groups.update(gid, name=name)
                stamps.append((await session._fetch_group(int(gid))).last_updated)
        group = emu.store.render(emu.store.group(gid), emu.store.owner_id)
    assert group["created"] == "2025-10-14T13:08:20.000Z"
    assert group["members"][0]["joined_at"] == "2025-10-14T13:08:20.000Z"
    assert group["last_updated"] == "2025-10-14T13:08:22.000Z"
    assert stamps[0] is not None
    assert all(a is not None and b is not None and a < b for a, b in pairwise(stamps))


async def test_emulator_answers_404_for_non_ascii_digit_ids(emu: Emulator[Any]) -> None:
    """ "²" passes str.isdigit() but is no id: the enveloped 404, not a 500."""
    emu.store.seed_group("Eng")
    auth = {"Authorization": f"Bearer {emu.credentials['token']}"}
    async with client_for(emu) as client:
        for path in ("/api/account/groups/%C2%B2", "/api/account/groups/%C2%B2/leave"):
            method = "POST" if path.endswith("leave") else "GET"
            response = await client.transport.send(
                Request(method, emu.url + path, headers=auth)
            )
            assert response.status == 404
            assert json.loads(response.body) == {
                "message": "Group not found",
                "details": None,
            }
