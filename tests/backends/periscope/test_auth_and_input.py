"""Keys, sites, names and test mode: what is refused, and what never leaks."""

from typing import Any

import attrs
import pytest

import asyncgroups as ag
from asyncgroups.testing import Emulator, serve_emulator

from .conftest import FAST


def _client(emu: Emulator[Any], **overrides: object) -> ag.Client:
    options = {**emu.credentials, **overrides}
    return ag.Client(ag.connect("periscope", base_url=emu.url, **options), retry=FAST)


async def test_wrong_key_is_an_authentication_error(periscope: Emulator[Any]) -> None:
    """A wrong key -> AuthenticationError that does not show the key."""
    async with _client(periscope, api_key="wrong-key-0123456789") as client:
        with pytest.raises(ag.AuthenticationError) as info:
            await client.groups.get("Everyone")
    text = str(info.value) + repr(info.value)
    assert "wrong-key-0123456789" not in text
    assert periscope.credentials["api_key"] not in text


async def test_key_of_site_a_for_site_b_is_refused(periscope: Emulator[Any]) -> None:
    """Site A's key with site B's name -> an auth error without either key."""
    key_a = periscope.credentials["api_key"]
    async with _client(periscope, site="mySiteName1", api_key=key_a) as client:
        with pytest.raises((ag.AuthenticationError, ag.PermissionDeniedError)) as info:
            await client.users.get("admin@example.com")
    text = str(info.value) + repr(info.value)
    assert key_a not in text
    assert "myAPIKey1" not in text


async def test_unknown_site_is_permission_denied(periscope: Emulator[Any]) -> None:
    """A site the server does not know -> 403."""
    async with _client(periscope, site="nosuchsite") as client:
        with pytest.raises(ag.PermissionDeniedError):
            await client.groups.get("Everyone")


def test_key_never_in_repr_and_crlf_refused() -> None:
    """The key is hidden in reprs; CR/LF in a site or key is a ConfigurationError."""
    backend = ag.backends.Periscope(site="acme", api_key="s3cret-key-value")
    state = attrs.asdict(backend, recurse=False)  # every attribute, private too
    assert "_api_key" in state
    assert "s3cret-key-value" not in repr(backend) + repr(state)
    with pytest.raises(ag.ConfigurationError) as info:
        ag.backends.Periscope(site="acme", api_key="s3cret\r\nX-Evil: 1")
    assert "s3cret" not in str(info.value)
    with pytest.raises(ag.ConfigurationError):
        ag.backends.Periscope(site="ac\nme", api_key="k")
    with pytest.raises(ag.ConfigurationError):
        ag.backends.Periscope(site="a:b", api_key="k")


BAD_NAMES = ["a/b", "what?", "#tag", "line\r\nbreak", "tab\there", "cr\r"]


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_bad_group_names_are_refused_before_any_request(
    pclient: ag.Client, periscope: Emulator[Any], name: str
) -> None:
    """Names with / ? # or control characters never reach the server."""
    periscope.store.seed_users(1)
    calls = [
        pclient.groups.create(name),
        pclient.groups.get(name),
        pclient.groups.update("Everyone", name=name),
        pclient.groups.delete(name),
    ]
    for call in calls:
        with pytest.raises(ag.InvalidInputError):
            await call
    try:
        result = await pclient.members.add(name, ["user1@example.com"])
    except ag.InvalidInputError:
        pass  # control characters: refused by the Client before batching
    else:
        assert isinstance(result.failed["user1@example.com"], ag.InvalidInputError)
    assert periscope.requests == []


@pytest.mark.parametrize("email", ["a@x.com\r\nX-Evil: 1", "a\n@x.com", "not-an-email"])
async def test_bad_emails_are_refused_before_any_request(
    pclient: ag.Client, periscope: Emulator[Any], email: str
) -> None:
    """E-mails with CR/LF (they become HTTP-X-EMAIL) never reach the server."""
    for call in (
        pclient.users.get(email),
        pclient.users.delete(email),
        pclient.users.create(email=email, first_name="A", last_name="B"),
    ):
        with pytest.raises(ag.InvalidInputError):
            await call
    assert periscope.requests == []


async def test_group_names_with_spaces_round_trip(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """Spaces and non-ASCII are percent-encoded and matched case-insensitively."""
    group = await pclient.groups.create("Ventes Europe é")
    assert group.id == "Ventes Europe é"
    assert (await pclient.groups.get("ventes europe É")).id == "Ventes Europe é"
    assert "%20" in periscope.requests[-1].raw_path
    renamed = await pclient.groups.update(group.id, name="EU Sales")
    assert renamed.id == "EU Sales"
    assert periscope.store.group_ids()[-1] == "EU Sales"


async def test_builtin_groups_cannot_be_deleted_or_renamed(pclient: ag.Client) -> None:
    """Everyone and Administrators stay."""
    for name in ("Everyone", "administrators"):
        with pytest.raises(ag.PermissionDeniedError):
            await pclient.groups.delete(name)
        with pytest.raises(ag.PermissionDeniedError):
            await pclient.groups.update(name, name="Other")


async def test_test_mode_client_changes_nothing(periscope: Emulator[Any]) -> None:
    """Every write of a test_mode=True client is validated and stores nothing."""
    emails = periscope.store.seed_users(2)
    periscope.store.seed_group("Eng", members=emails[:1])
    site = periscope.store.site()
    before = (repr(site.users), repr(site.groups))
    async with _client(periscope, test_mode=True) as client:
        assert ag.Capability.TEST_MODE in client.capabilities
        user = await client.users.create(email="t@example.com", first_name="T")
        assert user.id == "t@example.com"
        await client.users.update(emails[0], first_name="Changed")
        await client.users.delete(emails[1])
        group = await client.groups.create("New")
        assert group.id == "New"
        await client.groups.update("Eng", name="Renamed")
        await client.groups.delete("Eng")
        assert (await client.members.add("Eng", [emails[1]])).ok
        assert (await client.members.remove("Eng", [emails[0]])).ok
        with pytest.raises(ag.ConflictError):
            await client.groups.create("eng")
        with pytest.raises(ag.NotFoundError):
            await client.users.delete("ghost@example.com")
    assert (repr(site.users), repr(site.groups)) == before
    writes = [r for r in periscope.requests if r.method != "GET"]
    assert writes
    assert all(r.query["test_mode"] == "true" for r in writes)


async def test_live_writes_send_test_mode_false(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """Writes always say ``test_mode=false`` when not testing."""
    await pclient.groups.create("Live")
    assert periscope.requests[-1].query == {"test_mode": "false"}
    assert periscope.store.members("Live") == frozenset()


async def test_dropped_create_is_reconciled(
    pclient: ag.Client, periscope: Emulator[Any]
) -> None:
    """A create whose answer was lost is looked up, not duplicated or failed."""
    periscope.faults.add(
        ag.testing.Fault.drop(after_apply=True), times=1, route="POST *"
    )
    group = await pclient.groups.create("Once")
    assert group.id == "Once"
    periscope.faults.add(
        ag.testing.Fault.drop(after_apply=True), times=1, route="POST *"
    )
    user = await pclient.users.create(email="once@example.com", first_name="O")
    assert user.id == "once@example.com"
    assert periscope.store.site().user("once@example.com") is not None


@pytest.mark.parametrize("name", ["a/b", "a?b", "a#b", "a\r\nb"])
async def test_member_add_to_a_bad_group_name_raises_before_any_request(name):
    """A group name that cannot be a path segment is one error, not one per key."""
    async with serve_emulator("periscope", seed=1) as emu:
        keys = emu.store.seed_users(3)
        backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            with pytest.raises(ag.InvalidInputError):
                await client.members.add(name, keys)
            with pytest.raises(ag.InvalidInputError):
                await client.members.add_many({name: keys})
        assert emu.requests == []
