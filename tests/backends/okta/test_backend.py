"""The Okta backend over its emulator: types, refusals, reads by login, pacing."""

from typing import Any

import pytest
from tests.backends.okta.conftest import FAST

import asyncgroups as ag
from asyncgroups.testing import Emulator, serve_emulator


async def test_app_and_built_in_member_writes_are_refused_before_any_request(
    oclient: ag.Client, okta: Emulator[Any]
) -> None:
    keys = okta.store.seed_users(3)
    app = okta.store.seed_group("Zoom users", type="APP_GROUP")
    everyone = okta.store.seed_group("Everyone", type="BUILT_IN", members=keys)
    groups = {g.id: g async for g in oclient.groups.list()}
    assert groups[app].extra["type"] == "APP_GROUP"
    okta.clear_requests()
    with pytest.raises(ag.UnsupportedOperationError, match="APP_GROUP"):
        await oclient.members.add(app, keys)
    with pytest.raises(ag.UnsupportedOperationError, match="BUILT_IN"):
        await oclient.members.remove(everyone, keys[:1])
    assert okta.requests == []
    assert okta.store.members(app) == frozenset()
    assert okta.store.members(everyone) == set(keys)


async def test_a_group_of_unknown_type_is_read_not_written(
    oclient: ag.Client, okta: Emulator[Any]
) -> None:
    keys = okta.store.seed_users(2)
    app = okta.store.seed_group("Slack users", type="APP_GROUP")
    with pytest.raises(ag.UnsupportedOperationError):
        await oclient.members.add(app, keys)
    assert [r.method for r in okta.requests] == ["GET"]
    assert okta.store.members(app) == frozenset()


async def test_users_are_read_by_id_or_login_and_members_carry_emails(
    oclient: ag.Client, okta: Emulator[Any]
) -> None:
    user = okta.store.add_user("ada@example.com", "Ada", "Lovelace")
    gid = okta.store.seed_group("Eng", members=[user.id])
    by_login = await oclient.users.get("ada@example.com")
    assert by_login.id == user.id
    assert (by_login.first_name, by_login.last_name) == ("Ada", "Lovelace")
    assert by_login.extra["login"] == "ada@example.com"
    (member,) = [m async for m in oclient.members.list(gid)]
    assert (member.key, member.email) == (user.id, "ada@example.com")


async def test_update_keeps_the_fields_not_given(
    oclient: ag.Client, okta: Emulator[Any]
) -> None:
    gid = okta.store.seed_group("Eng", description="builders")
    renamed = await oclient.groups.update(gid, name="Engineering")
    assert (renamed.name, renamed.description) == ("Engineering", "builders")
    stored = okta.store.groups[gid]
    assert (stored.name, stored.description) == ("Engineering", "builders")
    put = [r for r in okta.requests if r.method == "PUT"]
    assert put[0].json() == {
        "profile": {"name": "Engineering", "description": "builders"}
    }


async def test_membership_changes_are_sent_together_and_are_idempotent(
    oclient: ag.Client, okta: Emulator[Any]
) -> None:
    keys = okta.store.seed_users(30)
    gid = okta.store.seed_group("Eng", members=keys[:10])
    result = await oclient.members.add(gid, keys)
    assert result.ok
    assert okta.store.members(gid) == set(keys)
    puts = [r for r in okta.requests if r.method == "PUT"]
    assert len(puts) == 30  # one per key, those already in included (204)
    assert all(r.body == b"" for r in puts)
    result = await oclient.members.remove(gid, keys[:20] + keys[:5])
    assert result.ok
    assert okta.store.members(gid) == set(keys[20:])


def test_org_url_and_token_are_checked_and_hidden() -> None:
    backend = ag.backends.Okta(org_url="https://acme.okta.com", api_token="00secret")
    assert backend.org_url == "https://acme.okta.com"
    assert "00secret" not in repr(backend)
    with pytest.raises(ag.ConfigurationError):
        ag.backends.Okta(api_token="00secret")
    with pytest.raises(ag.ConfigurationError):
        ag.backends.Okta(
            org_url="https://a.okta.com", base_url="https://a.okta.com", api_token="x"
        )
    with pytest.raises(ag.ConfigurationError):
        ag.backends.Okta(org_url="https://a.okta.com", api_token="x\r\ny")
    with pytest.raises(ag.ConfigurationError):
        ag.backends.Okta(org_url="https://a.okta.com", api_token="")


async def test_a_sync_is_paced_by_the_members_budget_without_a_429() -> None:
    """2-second windows of 40 members-endpoint requests: no 429, converged."""
    async with serve_emulator(
        "okta", seed=4, limits={"members": 40, "groups": 10}, window=2.0
    ) as emu:
        keys = emu.store.seed_users(20)
        desired = {f"T{g}": set(keys[g : g + 10]) for g in range(10)}
        gids = {name: emu.store.seed_group(name) for name in desired}
        backend = ag.connect("okta", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, retry=FAST) as client:
            plan = await client.plan_sync(desired)
            report = await client.apply(plan)
        assert report.converged, str(report)
        assert report.throttled == 0
        assert emu.store.rate_limited == {}
        for name, wanted in desired.items():
            assert emu.store.members(gids[name]) == wanted
        windows = {int(r.time // 2.0) for r in emu.requests if "/users/" in r.path}
        assert len(windows) >= 2  # the 100 PUTs and 10 listings took three budgets
