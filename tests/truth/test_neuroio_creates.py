"""Concurrent creates of one name with lost answers: each caller its own group."""

import asyncio
import random
from typing import Any

import pytest
from aiohttp import web

import asyncgroups as ag
from asyncgroups.testing import Emulator, Fault, serve_emulator

CREATE = "POST /v1/groups/persons/"
RETRY = ag.RetryPolicy(base_delay=0.01, max_delay=0.05)


def _client(emu: Emulator[Any]) -> ag.Client:
    backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
    return ag.Client(backend, retry=RETRY)


def _named(emu: Emulator[Any], name: str) -> set[str]:
    return {str(g.id) for g in emu.store.groups.values() if g.name == name}


async def _creates(callers: int, lost: float, seed: int) -> None:
    rng = random.Random(seed)

    def unlucky(request: web.Request) -> bool:
        return rng.random() < lost

    async with serve_emulator("neuroio", seed=seed) as emu:
        emu.store.seed_group("Eng")  # an older group of the name: never adopted
        older = _named(emu, "Eng")
        emu.faults.add(Fault.drop(after_apply=True), route=CREATE, when=unlucky)
        async with _client(emu) as client:
            groups = await asyncio.gather(
                *(client.groups.create("Eng") for _ in range(callers))
            )
        ids = [g.id for g in groups]
        assert emu.faults.counts["drop_after"] >= callers * lost / 2
        # every caller got a group of its own
        assert len(set(ids)) == callers
        assert older.isdisjoint(ids)
        # and no create left an orphan: the store holds exactly those
        assert _named(emu, "Eng") == set(ids) | older


async def test_200_concurrent_creates_with_30_percent_of_answers_lost() -> None:
    await _creates(200, 0.3, seed=21)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_concurrent_creates_with_half_the_answers_lost(seed: int) -> None:
    await _creates(40, 0.5, seed=seed)


async def test_new_groups_of_the_name_from_elsewhere_are_never_adopted() -> None:
    """The answer is lost and two other clients' groups appear: none is adopted."""
    async with serve_emulator("neuroio", seed=5) as emu:

        def lost_and_raced(request: web.Request) -> bool:
            # another client creates two groups of the name while ours is in flight
            emu.store.seed_group("Ops")
            emu.store.seed_group("Ops")
            return True

        emu.faults.add(
            Fault.drop(after_apply=True), times=1, route=CREATE, when=lost_and_raced
        )
        async with _client(emu) as client:
            with pytest.raises(ag.ConflictError, match="none is adopted") as caught:
                await client.groups.create("Ops")
        named = _named(emu, "Ops")
        assert len(named) == 3
        assert set(caught.value.candidate_group_ids) == named  # type: ignore[attr-defined]


async def test_concurrent_snip_creates_with_lost_answers_get_their_own_groups() -> None:
    """Snip, the same: 60 creates of one name, 30 % of answers lost."""
    rng = random.Random(4)
    async with serve_emulator("snip", seed=4) as emu:
        emu.faults.add(
            Fault.drop(after_apply=True),
            route="POST /api/account/groups",
            when=lambda request: rng.random() < 0.3,
        )
        async with _client(emu) as client:
            groups = await asyncio.gather(
                *(client.groups.create("Eng") for _ in range(60))
            )
        ids = {g.id for g in groups}
        assert len(ids) == 60
        assert emu.faults.counts["drop_after"] > 0
        async with _client(emu) as client:
            named = {g.id async for g in client.groups.list("Eng") if g.name == "Eng"}
        assert named == ids
