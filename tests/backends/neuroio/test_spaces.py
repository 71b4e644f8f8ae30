"""NeuroIO spaces: a token sees only its own space's groups."""

from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.testing import Emulator


async def test_space_token_cannot_see_other_spaces(neuroio: Emulator[Any]) -> None:
    """A space token lists only its space's groups and gets 404 for the others."""
    mine = neuroio.store.seed_group("Mine", space_id=2)
    theirs = neuroio.store.seed_group("Theirs")
    token = neuroio.store.mint_token(space_id=2)
    backend = ag.backends.NeuroIO(token, base_url=neuroio.url)
    async with ag.Client(backend) as client:
        assert [g.id async for g in client.groups.list()] == [mine]
        with pytest.raises(ag.NotFoundError):
            await client.groups.get(theirs)
        with pytest.raises(ag.NotFoundError):
            [m async for m in client.members.list(theirs)]
        result = await client.members.add(
            theirs, neuroio.store.seed_users(2, space_id=2)
        )
        assert not result.ok
        error = next(iter(result.failed.values()))
        assert isinstance(error, ag.RejectedRequestError)
        assert set(error.errors) == {"groups_ids"}
    assert neuroio.store.members(theirs) == frozenset()
    account = ag.backends.NeuroIO(
        base_url=neuroio.url, token=neuroio.credentials["token"]
    )
    async with ag.Client(account) as client:
        assert [g.id async for g in client.groups.list()] == [theirs]


async def test_missing_or_wrong_token_is_401(neuroio: Emulator[Any]) -> None:
    """An unknown token is an AuthenticationError carrying NeuroIO's message."""
    backend = ag.backends.NeuroIO("not-a-real-token", base_url=neuroio.url)
    async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
        with pytest.raises(ag.AuthenticationError) as info:
            [g async for g in client.groups.list()]
    assert info.value.status == 401
    assert "Invalid token" in str(info.value)
    assert "not-a-real-token" not in str(info.value)
