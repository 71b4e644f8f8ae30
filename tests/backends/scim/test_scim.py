"""The SCIM backend against scim2-server (python-scim), a server we did not write."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

import asyncgroups as ag
from asyncgroups.backends.base import check_session
from asyncgroups.testing import (
    Emulator,
    Fault,
    emulators as emulator_registry,
    serve_emulator,
)
from asyncgroups.transport.base import Request, Response
from asyncgroups_scim import SCIMSession

FAST_RETRY = ag.RetryPolicy(
    max_attempts=12, base_delay=0.005, max_delay=0.1, deadline=60.0, budget=None
)


class _NoTransport:
    """A transport that is never reached (opening a session performs no I/O)."""

    async def send(self, request: Request) -> Response:
        raise AssertionError(f"unexpected request {request.method}")

    async def aclose(self) -> None:
        pass


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("scim", seed=1) as emu:
        yield emu


def _client(emu: Emulator[Any], **options: object) -> ag.Client:
    backend = ag.connect("scim", base_url=emu.url, **emu.credentials, **options)
    return ag.Client(backend, retry=FAST_RETRY)


@pytest.fixture
async def client(emulator: Emulator[Any]) -> AsyncIterator[ag.Client]:
    async with _client(emulator) as c:
        yield c


def test_registered_by_entry_points(monkeypatch: pytest.MonkeyPatch):
    """``load("scim")`` and the emulator come from entry points, not built-in tables."""
    assert "scim" not in ag.backends.BACKENDS
    assert ag.backends.load("scim") is ag.backends.SCIM
    monkeypatch.delitem(emulator_registry.EMULATORS, "scim", raising=False)
    assert (
        emulator_registry.get_factory("scim").__module__ == "asyncgroups_scim.emulator"
    )
    assert "scim" in emulator_registry.available()


async def test_group_crud(client: ag.Client, emulator: Emulator[Any]):
    """Groups are created, read, renamed, listed and deleted, on the server too."""
    group = await client.groups.create("Engineering")
    assert emulator.store.group(group.id)["displayName"] == "Engineering"
    assert (await client.groups.get(group.id)).name == "Engineering"
    renamed = await client.groups.update(group.id, name="Eng")
    assert renamed.name == "Eng"
    assert emulator.store.group(group.id)["displayName"] == "Eng"
    assert [g.id async for g in client.groups.list(query="en")] == [group.id]
    assert [g.id async for g in client.groups.list(query="zzz")] == []
    await client.groups.delete(group.id)
    assert group.id not in emulator.store.group_ids()
    with pytest.raises(ag.NotFoundError):
        await client.groups.get(group.id)


async def test_group_description_is_refused_not_dropped(
    client: ag.Client, emulator: Emulator[Any]
):
    """Core SCIM Groups have no description: asking for one is an error, not a no-op."""
    with pytest.raises(ag.InvalidInputError, match="description"):
        await client.groups.create("Docs", description="the writers")
    assert emulator.store.group_ids() == []
    group = await client.groups.create("Docs", description=None)
    with pytest.raises(ag.InvalidInputError, match="description"):
        await client.groups.update(group.id, description="the writers")
    with pytest.raises(ag.InvalidInputError, match="description"):
        await client.groups.update(group.id, name="Writers", description="x")
    assert emulator.store.group(group.id)["displayName"] == "Docs"


async def test_user_crud(client: ag.Client, emulator: Emulator[Any]):
    """Users are created, read, updated, listed and deleted, on the server too."""
    user = await client.users.create(
        email="ann@example.com", first_name="Ann", last_name="Lee"
    )
    assert (user.email, user.first_name, user.last_name) == (
        "ann@example.com",
        "Ann",
        "Lee",
    )
    stored = emulator.store.user(user.id)
    assert stored["userName"] == "ann@example.com"
    updated = await client.users.update(
        user.id, first_name="Anna", email="anna@example.com"
    )
    assert (updated.first_name, updated.last_name, updated.email) == (
        "Anna",
        "Lee",
        "anna@example.com",
    )
    assert emulator.store.user(user.id)["name"]["givenName"] == "Anna"
    assert (await client.users.get(user.id)).email == "anna@example.com"
    assert [u.id async for u in client.users.list(query="anna@")] == [user.id]
    await client.users.delete(user.id)
    assert user.id not in emulator.store.user_ids()
    await client.users.create(email="x@example.com")
    with pytest.raises(ag.ConflictError, match="uniqueness"):
        await client.users.create(email="x@example.com")


async def test_members_add_list_remove(client: ag.Client, emulator: Emulator[Any]):
    """Members are added in batches, listed, and removed; unknown ids are isolated."""
    keys = emulator.store.seed_users(7)
    gid = emulator.store.seed_group("Eng", members=keys[:1])
    result = await client.members.add(gid, [*keys, "no-such-user"])
    assert result.succeeded == frozenset(keys)
    assert isinstance(result.failed["no-such-user"], ag.NotFoundError)
    assert emulator.store.members(gid) == frozenset(keys)
    assert {m.key async for m in client.members.list(gid)} == set(keys)
    removed = await client.members.remove(gid, [*keys[:3], "never-a-member"])
    assert removed.ok
    assert emulator.store.members(gid) == frozenset(keys[3:])


async def test_member_batches_follow_member_batch(emulator: Emulator[Any]):
    """Adds are split into PATCHes of at most ``member_batch`` ids."""
    keys = emulator.store.seed_users(25)
    gid = emulator.store.seed_group("Eng")
    async with _client(emulator, member_batch=10) as c:
        result = await c.members.add(gid, keys)
    assert result.ok
    patches = [r for r in emulator.requests if r.method == "PATCH"]
    assert len(patches) == 3
    assert max(len(r.json()["Operations"][0]["value"]) for r in patches) == 10
    assert emulator.store.members(gid) == frozenset(keys)


async def test_member_emails_on_request(emulator: Emulator[Any]):
    """``member_emails=True`` fills Member.email from the users."""
    keys = emulator.store.seed_users(3)
    gid = emulator.store.seed_group("Eng", members=keys)
    async with _client(emulator, member_emails=True) as c:
        members = [m async for m in c.members.list(gid)]
    assert {m.email for m in members} == {
        emulator.store.user(k)["emails"][0]["value"] for k in keys
    }


async def test_paging_walks_start_index(emulator: Emulator[Any]):
    """Listings page with 1-based startIndex and stop at totalResults."""
    keys = emulator.store.seed_users(23)
    async with _client(emulator, page_size=10) as c:
        found = [u.id async for u in c.users.list()]
    assert sorted(found) == sorted(keys)
    starts = [r.query["startIndex"] for r in emulator.requests if r.path == "/Users"]
    assert starts == ["1", "11", "21"]


async def test_50_concurrent_single_adds_lose_nothing(
    client: ag.Client, emulator: Emulator[Any]
):
    """Fifty concurrent one-member adds to one group all land (atomic PATCH)."""
    keys = emulator.store.seed_users(50)
    gid = emulator.store.seed_group("Eng")
    results = await asyncio.gather(*(client.members.add(gid, [k]) for k in keys))
    assert all(r.ok for r in results)
    assert emulator.store.members(gid) == frozenset(keys)
    patches = [r for r in emulator.requests if r.method == "PATCH"]
    assert len(patches) == 50
    assert not any("if-match" in {h.lower() for h in r.headers} for r in patches)


async def test_concurrent_writers_without_patch_use_etags():
    """Without PATCH, writers in two clients race on PUT; If-Match + 412 retry loses nothing."""
    async with serve_emulator("scim", seed=2, patch=False) as emu:
        keys = emu.store.seed_users(50)
        gid = emu.store.seed_group("Eng")
        async with _client(emu) as one, _client(emu) as two:
            clients = [one, two]
            results = await asyncio.gather(
                *(clients[i % 2].members.add(gid, [k]) for i, k in enumerate(keys))
            )
        assert all(r.ok for r in results)
        assert emu.store.members(gid) == frozenset(keys)
        puts = [r for r in emu.requests if r.method == "PUT"]
        assert not [r for r in emu.requests if r.method == "PATCH"]
        assert all("If-Match" in r.headers for r in puts)
        assert len(puts) >= 50  # lost races were re-read and retried


async def test_service_provider_config_drives_writes():
    """PATCH, filter and bulk support come from /ServiceProviderConfig."""
    async with serve_emulator(
        "scim", seed=3, bulk=False, filter=False, patch=False, etag=False
    ) as emu:
        keys = emu.store.seed_users(3)
        g1 = emu.store.seed_group("Eng")
        g2 = emu.store.seed_group("Ops")
        async with _client(emu) as c:
            assert ag.Capability.MEMBERS_ADD_MANY not in c.capabilities
            sp = await cast(SCIMSession, c.session).discover()
            assert (sp.patch, sp.filter, sp.etag, sp.bulk) == (False,) * 4
            assert ag.Capability.MEMBERS_ADD_MANY not in c.capabilities
            assert [g.id async for g in c.groups.list(query="op")] == [g2]
            await c.members.add_many({g1: keys, g2: keys})
            assert (await c.groups.update(g1, name="Eng2")).name == "Eng2"
        assert emu.store.members(g1) == emu.store.members(g2) == frozenset(keys)
        assert emu.requests[0].path == "/ServiceProviderConfig"
        assert not any("filter" in r.query for r in emu.requests)
        assert not any(r.method in {"PATCH"} or r.path == "/Bulk" for r in emu.requests)
        assert not any("If-Match" in r.headers for r in emu.requests)

    async with serve_emulator("scim", seed=4) as emu:
        keys = emu.store.seed_users(3)
        g1, g2 = emu.store.seed_group("Eng"), emu.store.seed_group("Ops")
        async with _client(emu, bulk=True) as c:
            assert ag.Capability.MEMBERS_ADD_MANY in c.capabilities
            assert ag.Capability.MEMBERS_REMOVE_MANY in c.capabilities
            assert emu.requests == []  # declared before any I/O
            await cast(SCIMSession, c.session).discover()
            assert ag.Capability.MEMBERS_ADD_MANY in c.capabilities
            results = await c.members.add_many({g1: keys, g2: keys})
        assert all(r.ok for r in results.values())
        assert [r.path for r in emu.requests if r.method == "POST"] == ["/Bulk"]
        assert emu.store.members(g1) == emu.store.members(g2) == frozenset(keys)


async def test_bulk_is_configuration_not_discovery():
    """Capabilities never change with what the server announces.

    Without ``bulk=True`` a bulk server still gets one PATCH per group; with it, a
    server that announces no bulk gets one request per group too.
    """
    async with serve_emulator("scim", seed=6) as emu:
        keys = emu.store.seed_users(2)
        g1, g2 = emu.store.seed_group("Eng"), emu.store.seed_group("Ops")
        async with _client(emu) as c:
            before = c.capabilities
            assert (await cast(SCIMSession, c.session).discover()).bulk
            assert c.capabilities == before
            assert ag.Capability.MEMBERS_ADD_MANY not in before
            results = await c.members.add_many({g1: keys, g2: keys})
        assert all(r.ok for r in results.values())
        assert not any(r.path == "/Bulk" for r in emu.requests)
        patched = sorted(r.path for r in emu.requests if r.method == "PATCH")
        assert patched == sorted([f"/Groups/{g1}", f"/Groups/{g2}"])

    async with serve_emulator("scim", seed=7, bulk=False) as emu:
        keys = emu.store.seed_users(2)
        g1, g2 = emu.store.seed_group("Eng"), emu.store.seed_group("Ops")
        async with _client(emu, bulk=True) as c:
            assert ag.Capability.MEMBERS_REMOVE_MANY in c.capabilities
            results = await c.members.add_many({g1: keys, g2: keys})
            removed = await c.members.remove_many({g1: keys[:1], g2: keys[:1]})
        assert all(r.ok for r in [*results.values(), *removed.values()])
        assert not any(r.path == "/Bulk" for r in emu.requests)
        assert emu.store.members(g1) == emu.store.members(g2) == {keys[1]}


def test_capabilities_agree_with_the_session():
    """Both configurations open a session that implements exactly what they declare."""
    for bulk in (False, True):
        backend = ag.backends.SCIM(base_url="https://x.example", token="t", bulk=bulk)
        session = backend.open(_NoTransport())
        check_session(backend, session)
        assert isinstance(session, SCIMSession)
        assert not hasattr(backend, "bind")
        assert not hasattr(backend, "discover")


async def test_sessions_share_nothing(emulator: Emulator[Any]):
    """Two Clients on one backend keep their own discovery; closing one spares the other."""
    backend = ag.connect("scim", base_url=emulator.url, **emulator.credentials)
    gid = emulator.store.seed_group("Eng")
    async with ag.Client(backend, retry=FAST_RETRY) as one:
        two = ag.Client(backend, retry=FAST_RETRY)
        first, second = cast(SCIMSession, one.session), cast(SCIMSession, two.session)
        assert first is not second
        await first.discover()
        assert first.service_provider is not None
        assert second.service_provider is None
        await two.aclose()
        with pytest.raises(ag.ClientClosedError):
            await second.discover()
        with pytest.raises(ag.ClientClosedError):
            await second.get_group(gid)
        assert (await one.groups.get(gid)).name == "Eng"
    configs = [r for r in emulator.requests if r.path == "/ServiceProviderConfig"]
    assert len(configs) == 1


async def test_extra_fields(client: ag.Client, emulator: Emulator[Any]):
    """SCIM attributes come through ``extra``; an unknown key is refused by name."""
    with pytest.raises(ag.InvalidInputError, match="colour"):
        await client.groups.create("Eng", extra={"colour": "blue"})
    with pytest.raises(ag.InvalidInputError, match="nickname"):
        await client.users.create(email="a@example.com", extra={"nickname": "A"})
    with pytest.raises(ag.InvalidInputError, match="active"):
        await client.users.create(email="a@example.com", extra={"active": "yes"})
    assert emulator.requests == []  # refused before any I/O
    group = await client.groups.create("Eng", extra={"external_id": "eng-1"})
    assert emulator.store.group(group.id)["externalId"] == "eng-1"
    with pytest.raises(ag.InvalidInputError, match="colour"):
        await client.groups.update(group.id, extra={"colour": "red"})
    updated = await client.groups.update(group.id, extra={"external_id": "eng-2"})
    assert updated.extra["externalId"] == "eng-2"
    user = await client.users.create(
        email="a@example.com", extra={"user_name": "ann", "active": False}
    )
    stored = emulator.store.user(user.id)
    assert (stored["userName"], stored["active"]) == ("ann", False)
    with pytest.raises(ag.InvalidInputError, match="nickname"):
        await client.users.update(user.id, extra={"nickname": "A"})
    await client.users.update(user.id, extra={"active": True, "user_name": "anna"})
    stored = emulator.store.user(user.id)
    assert (stored["userName"], stored["active"]) == ("anna", True)


async def test_lost_create_is_reconciled(client: ag.Client, emulator: Emulator[Any]):
    """A create whose answer was lost is looked up, not duplicated."""
    emulator.faults.add(Fault.drop(after_apply=True), times=1, route="POST /Groups")
    group = await client.groups.create("Eng")
    assert emulator.store.group_ids() == [group.id]
    emulator.faults.add(Fault.drop(after_apply=True), times=1, route="POST /Users")
    user = await client.users.create(email="ann@example.com")
    assert emulator.store.user_ids() == [user.id]


async def test_throttling_and_5xx_are_retried(
    client: ag.Client, emulator: Emulator[Any]
):
    """429 and 503 in front of scim2-server are retried; the add lands once."""
    (key,) = emulator.store.seed_users(1)
    gid = emulator.store.seed_group("Eng")
    emulator.faults.add(
        Fault.status(429, retry_after=0.01), times=1, route="PATCH /Groups/*"
    )
    emulator.faults.add(Fault.status(503, html=True), times=1, route="PATCH /Groups/*")
    assert (await client.members.add(gid, [key])).ok
    assert emulator.store.members(gid) == {key}


async def test_bad_token_and_secrets(
    emulator: Emulator[Any], captured_logs: pytest.LogCaptureFixture
):
    """A wrong token is an AuthenticationError; no token shows in reprs or messages."""
    token = emulator.credentials["token"]
    backend = ag.connect("scim", base_url=emulator.url, token="wrong-token-123456")
    assert token not in repr(backend)
    async with ag.Client(backend, retry=FAST_RETRY) as c:
        with pytest.raises(ag.AuthenticationError) as info:
            await c.groups.get("anything")
    assert "wrong-token-123456" not in str(info.value) + repr(info.value)
    async with _client(emulator) as c:
        assert token not in repr(c.backend)
        with pytest.raises(ag.NotFoundError):
            await c.users.get("missing")
    assert token not in captured_logs.text
    assert "wrong-token-123456" not in captured_logs.text


def test_bad_configuration():
    """Bad base URLs, tokens and numbers fail at construction."""
    with pytest.raises(ag.ConfigurationError):
        ag.backends.SCIM(base_url="ftp://x", token="t")
    with pytest.raises(ag.ConfigurationError):
        ag.backends.SCIM(base_url="https://x.example", token="a\r\nb")
    with pytest.raises(ag.ConfigurationError):
        ag.backends.SCIM(base_url="https://x.example", token="t", member_batch=0)


async def test_precondition_failed_is_reread_and_retried():
    """A 412 on a conditional PUT is re-read and retried, not surfaced."""
    async with serve_emulator("scim", seed=5, patch=False) as emu:
        (key,) = emu.store.seed_users(1)
        gid = emu.store.seed_group("Eng")
        emu.faults.add(Fault.status(412), times=1, route="PUT /Groups/*")
        async with _client(emu) as c:
            assert (await c.members.add(gid, [key])).ok
        assert emu.store.members(gid) == {key}
        methods = [r.method for r in emu.requests if r.path == f"/Groups/{gid}"]
        assert methods == ["GET", "PUT", "GET", "PUT"]
