"""Snip removals converge under gateway errors: re-checked, then re-sent."""

from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.testing import Emulator, Fault, serve_emulator

PATCH = "PATCH /api/account/groups/*"


def _client(emu: Emulator[Any]) -> ag.Client:
    backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
    return ag.Client(backend, retry=ag.RetryPolicy(base_delay=0.01, max_delay=0.05))


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_a_removal_answered_by_a_gateway_error_is_rechecked_and_resent(
    status: int,
) -> None:
    async with serve_emulator("snip", seed=1) as emu:
        keys = emu.store.seed_users(300)
        gid = emu.store.seed_group("Eng", members=keys)
        emu.faults.add(Fault.status(status, html=True), times=2, route=PATCH)
        async with _client(emu) as client:
            result = await client.members.remove(gid, keys[:200])
        assert result.ok, result.failed
        assert result.succeeded == set(keys[:200])
        assert emu.store.members(gid).isdisjoint(keys[:200])
        assert set(keys[200:]) <= emu.store.members(gid)
        assert emu.faults.counts[str(status)] == 2


async def test_a_removal_whose_gateway_error_hid_an_applied_change_is_not_resent() -> (
    None
):
    """Applied, then the answer lost: the re-check finds nothing left to send."""
    async with serve_emulator("snip", seed=2) as emu:
        keys = emu.store.seed_users(50)
        gid = emu.store.seed_group("Eng", members=keys)
        emu.faults.add(Fault.drop(after_apply=True), times=1, route=PATCH)
        async with _client(emu) as client:
            result = await client.members.remove(gid, keys[:10])
        assert result.ok, result.failed
        assert emu.store.members(gid).isdisjoint(keys[:10])
        patches = [r for r in emu.requests if r.method == "PATCH"]
        assert len(patches) == 1


async def test_a_refused_removal_is_not_resent() -> None:
    """A 500 is the server's answer, not a lost one: it fails without a re-send."""
    async with serve_emulator("snip", seed=3) as emu:
        keys = emu.store.seed_users(5)
        gid = emu.store.seed_group("Eng", members=keys)
        emu.faults.add(Fault.status(500), times=1, route=PATCH)
        async with _client(emu) as client:
            result = await client.members.remove(gid, keys[:2])
        assert set(result.failed) == set(keys[:2])
        assert isinstance(result.failed[keys[0]], ag.ServerError)
        assert len([r for r in emu.requests if r.method == "PATCH"]) == 1
