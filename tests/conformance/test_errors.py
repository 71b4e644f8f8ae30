"""Errors map to the typed hierarchy on every backend, and never carry credentials."""

from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.backends import Capability
from asyncgroups.testing import Emulator, Fault

UNKNOWN_ID = "999999"
SECRET_KEYS = {"token", "api_key", "key", "password", "client_secret", "api_token"}


def _assert_no_secret(exc: BaseException, emulator: Emulator[Any]) -> None:
    for name, value in emulator.credentials.items():
        if name in SECRET_KEYS:
            assert value not in str(exc)
            assert value not in repr(exc)


async def test_unknown_group_is_not_found(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Fetching an unknown group raises NotFoundError (also a LookupError)."""
    with pytest.raises(ag.NotFoundError) as info:
        await client.groups.get(UNKNOWN_ID)
    assert isinstance(info.value, LookupError)
    _assert_no_secret(info.value, emulator)


@pytest.mark.requires(Capability.GROUPS_DELETE)
async def test_deleting_unknown_group_is_not_found(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Deleting an unknown group raises NotFoundError and deletes nothing."""
    before = emulator.store.group_ids()
    with pytest.raises(ag.NotFoundError):
        await client.groups.delete(UNKNOWN_ID)
    assert emulator.store.group_ids() == before


async def test_wrong_credentials_fail_authentication(emulator: Emulator[Any]) -> None:
    """A wrong secret raises AuthenticationError without showing the secret."""
    wrong = {
        k: ("wrong-" + v if k in SECRET_KEYS else v)
        for k, v in emulator.credentials.items()
    }
    backend = ag.connect(emulator.name, base_url=emulator.url, **wrong)
    async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
        with pytest.raises(ag.AuthenticationError) as info:
            [g async for g in client.groups.list()]
    for value in wrong.values():
        if value.startswith("wrong-"):
            assert value not in str(info.value)
            assert value not in repr(info.value)
            assert value not in repr(backend)


async def test_html_502_is_a_server_error(emulator: Emulator[Any]) -> None:
    """An HTML 502 page from a proxy is a ServerError, not a crash or DecodeError."""
    gid = emulator.store.seed_group("Eng")
    emulator.faults.add(Fault.status(502, html=True))
    backend = ag.connect(emulator.name, base_url=emulator.url, **emulator.credentials)
    async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
        with pytest.raises(ag.ServerError) as info:
            await client.groups.get(gid)
    assert info.value.status == 502
    _assert_no_secret(info.value, emulator)


async def test_proxy_429_is_rate_limited(emulator: Emulator[Any]) -> None:
    """A 429 with a foreign body is RateLimitedError carrying Retry-After."""
    gid = emulator.store.seed_group("Eng")
    emulator.faults.add(Fault.status(429, retry_after=7))
    backend = ag.connect(emulator.name, base_url=emulator.url, **emulator.credentials)
    async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
        with pytest.raises(ag.RateLimitedError) as info:
            await client.groups.get(gid)
    assert info.value.retry_after == 7


async def test_malformed_success_body_is_a_decode_error(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """A 200 whose body is not JSON raises DecodeError."""
    gid = emulator.store.seed_group("Eng")
    emulator.faults.add(Fault.malformed(200), times=1)
    with pytest.raises(ag.DecodeError):
        await client.groups.get(gid)


async def test_unsupported_operations_send_nothing(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """An operation the backend lacks raises UnsupportedOperationError before any I/O."""
    calls = {
        Capability.USERS_CREATE: lambda: client.users.create(email="a@example.com"),
        Capability.USERS_GET: lambda: client.users.get("1"),
        Capability.USERS_UPDATE: lambda: client.users.update("1", first_name="A"),
        Capability.USERS_DELETE: lambda: client.users.delete("1"),
        Capability.GROUPS_CREATE: lambda: client.groups.create("X"),
        Capability.GROUPS_DELETE: lambda: client.groups.delete("1"),
        Capability.MEMBERS_ADD: lambda: client.members.add("1", ["k"]),
    }
    missing = [c for c in calls if c not in client.capabilities]
    if not missing:
        pytest.skip("the backend has every capability checked here")
    for capability in missing:
        with pytest.raises(ag.UnsupportedOperationError):
            await calls[capability]()
    if Capability.USERS_LIST not in client.capabilities:
        with pytest.raises(ag.UnsupportedOperationError):
            [u async for u in client.users.list()]
    assert emulator.requests == []
