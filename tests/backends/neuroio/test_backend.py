"""The NeuroIO backend: configuration, its session, secrets, persons, reconciliation."""

import json
from typing import Any, cast

import pytest

import asyncgroups as ag
from asyncgroups.backends import Capability
from asyncgroups.backends.base import (
    CAPABILITY_PROTOCOLS,
    BackendSession,
    UserCreator,
    UserLister,
    UserReader,
    UserUpdater,
    check_session,
)
from asyncgroups.backends.neuroio import NeuroIOSession
from asyncgroups.testing import Emulator, Fault
from asyncgroups.transport.base import Request


def test_token_never_shows() -> None:
    """The token is kept as a Secret and never appears in a repr."""
    backend = ag.backends.NeuroIO("tok-very-secret-123")
    assert "tok-very-secret" not in repr(backend)
    assert "tok-very-secret" not in str(backend)
    assert backend.base_url == "https://api.neuroio.com"
    assert ag.connect("neuroio", token="t").name == "neuroio"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"token": "abc\r\nX-Evil: 1"},
        {"token": ""},
        {"token": "t", "base_url": "ftp://example.com"},
        {"token": "t", "base_url": "not a url"},
        {"token": "t", "max_batch": 101},
        {"token": "t", "max_batch": 0},
        {"token": "t", "page_size": 0},
    ],
)
def test_bad_configuration(kwargs: dict[str, object]) -> None:
    """CR/LF in the token, a bad base URL or bad numbers are ConfigurationErrors."""
    with pytest.raises(ag.ConfigurationError) as info:
        ag.backends.NeuroIO(**kwargs)  # type: ignore[arg-type]
    assert "X-Evil" not in str(info.value)


def test_capabilities_are_honest() -> None:
    """NeuroIO declares group CRUD, pid memberships and person delete, nothing else."""
    caps = ag.backends.NeuroIO("t").capabilities
    assert Capability.MEMBERS_ADD_MANY in caps
    assert Capability.USERS_DELETE in caps
    for missing in (
        Capability.USERS_CREATE,
        Capability.USERS_LIST,
        Capability.USERS_GET,
    ):
        assert missing not in caps


def test_session_implements_exactly_what_is_declared(nclient: ag.Client) -> None:
    """The session has no person create/get/update/list methods, as none is declared."""
    backend, session = nclient.backend, nclient.session
    assert isinstance(session, NeuroIOSession)
    check_session(backend, session)
    assert isinstance(session, BackendSession)
    for protocol in (UserCreator, UserReader, UserUpdater, UserLister):
        assert not isinstance(session, protocol)
    for name in ("create_user", "get_user", "update_user", "iter_users"):
        assert not hasattr(session, name)
    implemented = {c for c, p in CAPABILITY_PROTOCOLS.items() if isinstance(session, p)}
    assert implemented == set(backend.capabilities) - {Capability.MEMBERS_LIST}


async def test_client_refuses_person_json_calls(
    nclient: ag.Client, neuroio: Emulator[Any]
) -> None:
    """Person create/get/update/list are UnsupportedOperationError, unsent."""
    with pytest.raises(ag.UnsupportedOperationError):
        await nclient.users.create(email="a@example.com")
    with pytest.raises(ag.UnsupportedOperationError):
        await nclient.users.get("p")
    with pytest.raises(ag.UnsupportedOperationError):
        await nclient.users.update("p", first_name="A")
    with pytest.raises(ag.UnsupportedOperationError):
        [u async for u in nclient.users.list()]
    assert neuroio.requests == []


async def test_configuration_is_shared_sessions_are_not(neuroio: Emulator[Any]) -> None:
    """One backend serves two Clients with a session each: closing one spares the other."""
    pids = neuroio.store.seed_users(3)
    gid = neuroio.store.seed_group("Eng", members=pids)
    backend = ag.backends.NeuroIO(
        base_url=neuroio.url, token=neuroio.credentials["token"], page_size=2
    )
    async with ag.Client(backend) as first, ag.Client(backend) as second:
        assert first.session is not second.session
        await first.aclose()
        assert [m.key async for m in second.members.list(gid)] == pids
    assert (backend.page_size, backend.max_batch) == (2, 100)
    with pytest.raises(AttributeError):
        backend.extra_field = 1  # type: ignore[attr-defined]


async def test_closed_session_sends_nothing(neuroio: Emulator[Any]) -> None:
    """After the Client closes, its session refuses with ClientClosedError, unsent."""
    backend = ag.backends.NeuroIO(base_url=neuroio.url, token="t")
    async with ag.Client(backend) as client:
        session = cast(NeuroIOSession, client.session)
    await session.aclose()  # a second close is harmless
    with pytest.raises(ag.ClientClosedError):
        await session.get_group("1")
    with pytest.raises(ag.ClientClosedError):
        [g async for g in session.iter_groups()]
    assert neuroio.requests == []
    assert "closed" in repr(session)


async def test_group_fields_other_than_name_are_refused(
    nclient: ag.Client, neuroio: Emulator[Any]
) -> None:
    """NeuroIO groups have only a name; other fields are refused before any I/O."""
    gid = neuroio.store.seed_group("Eng")
    with pytest.raises(ag.InvalidInputError, match="description"):
        await nclient.groups.create("Eng", description="x")
    with pytest.raises(ag.InvalidInputError, match="colour"):
        await nclient.groups.create("Eng", extra={"colour": "red"})
    with pytest.raises(ag.InvalidInputError, match="colour"):
        await nclient.groups.create("Eng", extra={"colour": None})
    with pytest.raises(ag.InvalidInputError, match="description"):
        await nclient.groups.update(gid, name="Ops", description="x")
    with pytest.raises(ag.InvalidInputError, match="space_id"):
        await nclient.groups.update(gid, name="Ops", extra={"space_id": 2})
    assert neuroio.requests == []
    assert [g.name for g in neuroio.store.groups.values()] == ["Eng"]


async def test_update_renames_and_none_leaves_alone(
    nclient: ag.Client, neuroio: Emulator[Any]
) -> None:
    """``update(name=...)`` renames; ``update()`` with nothing changes nothing."""
    gid = neuroio.store.seed_group("Eng")
    assert (await nclient.groups.update(gid, name="Ops")).name == "Ops"
    unchanged = await nclient.groups.update(gid)
    assert (unchanged.id, unchanged.name) == (gid, "Ops")
    assert [r.method for r in neuroio.requests] == ["PATCH", "GET"]
    assert neuroio.store.groups[int(gid)].name == "Ops"


async def test_deleted_person_leaves_every_group(
    nclient: ag.Client, neuroio: Emulator[Any]
) -> None:
    """``users.delete(pid)`` removes the person and its memberships; twice is 404."""
    pids = neuroio.store.seed_users(2)
    gid = neuroio.store.seed_group("Eng", members=pids)
    await nclient.users.delete(pids[0])
    assert pids[0] not in neuroio.store.persons
    assert neuroio.store.members(gid) == {pids[1]}
    with pytest.raises(ag.NotFoundError):
        await nclient.users.delete(pids[0])


@pytest.mark.parametrize("after_apply", [True, False], ids=["after", "before"])
async def test_ambiguous_create_picks_the_new_group(
    nclient: ag.Client, neuroio: Emulator[Any], after_apply: bool
) -> None:
    """A dropped create beside an older same-named group returns the new one only."""
    old = neuroio.store.seed_group("Eng")
    neuroio.store.seed_group("Engineering")  # matches ?q=Eng, but not exactly
    neuroio.faults.add(
        Fault.drop(after_apply=after_apply), times=1, route="POST /v1/groups/persons/"
    )
    group = await nclient.groups.create("Eng")
    named = sorted(str(g.id) for g in neuroio.store.groups.values() if g.name == "Eng")
    assert named == sorted([old, group.id])
    assert int(group.id) > int(old)
    assert neuroio.faults.counts["drop"] == 1
    posts = [r for r in neuroio.requests if r.method == "POST"]
    assert len(posts) == (1 if after_apply else 2)


async def test_non_integer_group_id_is_not_found(
    nclient: ag.Client, neuroio: Emulator[Any]
) -> None:
    """A group id that is not an integer is a NotFoundError (the server 404s it).

    The session's ``check_group_id`` refuses it once, before any batching or I/O.
    """
    with pytest.raises(ag.NotFoundError):
        await nclient.groups.get("Engineering")
    with pytest.raises(ag.NotFoundError, match="Engineering"):
        await nclient.members.add("Engineering", ["p"])
    with pytest.raises(ag.NotFoundError):
        await nclient.members.remove_many({"1": ["p"], "Engineering": ["p"]})
    with pytest.raises(ag.NotFoundError):
        nclient.session.check_group_id("1.0")
    nclient.session.check_group_id("17")
    assert neuroio.requests == []


async def test_emulator_reads_only_ascii_digits_as_ids(neuroio: Emulator[Any]) -> None:
    """ "²" passes str.isdigit() but is no number: 404/400/default, never a 500."""
    neuroio.store.seed_group("Eng")
    auth = {"Authorization": f"Token {neuroio.credentials['token']}"}
    base = neuroio.url + "/v1/groups/persons/"
    cases = [
        ("GET", base + "%C2%B2/", 404),
        ("GET", base + "%C2%B2/pids/", 404),
        ("DELETE", base + "%C2%B2/", 404),
        ("GET", base + "?groups_ids=%C2%B2", 400),
        ("GET", base + "?limit=%C2%B2&offset=%C2%B2", 200),
    ]
    async with ag.Client(
        ag.backends.NeuroIO(base_url=neuroio.url, token="t"),
        retry=ag.RetryPolicy.off(),
    ) as client:
        for method, url, status in cases:
            request = Request(method, url, headers=auth)
            response = await client.transport.send(request)
            assert response.status == status, url
            body = json.loads(response.body)
            if status == 404:
                assert body["error_codes"] == [404]
                assert body["message"] == "Not found."
            elif status == 400:
                assert "groups_ids" in {f["name"] for f in body["fields"]}


@pytest.mark.parametrize("group_id", ["..", ".", "1/..", "²"])
async def test_non_integer_group_ids_send_nothing(
    neuroio: Emulator[Any], nclient: ag.Client, group_id: str
) -> None:
    """ "." and ".." would be normalised onto the collection: NotFoundError, unsent."""
    gid = neuroio.store.seed_group("Eng")
    with pytest.raises(ag.NotFoundError):
        await nclient.groups.get(group_id)
    with pytest.raises(ag.NotFoundError):
        await nclient.groups.update(group_id, name="x")
    with pytest.raises(ag.NotFoundError):
        await nclient.groups.delete(group_id)
    with pytest.raises(ag.NotFoundError):
        [m async for m in nclient.members.list(group_id)]
    assert neuroio.requests == []
    assert neuroio.store.group_ids() == [gid]


@pytest.mark.parametrize("pid", [".", "..", "a/b"])
async def test_path_like_pids_send_nothing(
    neuroio: Emulator[Any], nclient: ag.Client, pid: str
) -> None:
    """A pid that is not one path segment is InvalidInputError, unsent."""
    with pytest.raises(ag.InvalidInputError):
        await nclient.users.delete(pid)
    assert neuroio.requests == []
