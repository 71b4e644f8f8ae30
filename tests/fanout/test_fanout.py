"""FanOut over real emulators: one failing target never hides the others.

Two NeuroIO emulators stand for two tenants; each test checks what the fan-out
answers and what each server now holds.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.fanout import Results, SiteResults
from asyncgroups.testing import Emulator, Fault, serve_emulator

#: Three quick attempts: a target answering 503 every time fails fast.
FAST = ag.RetryPolicy(
    max_attempts=3, base_delay=0.005, max_delay=0.02, deadline=10.0, budget=None
)


def neuroio(emu: Emulator[Any]) -> ag.backends.NeuroIO:
    return ag.backends.NeuroIO(base_url=emu.url, token=emu.credentials["token"])


def fast(backend: ag.GroupBackend) -> ag.Client:
    return ag.Client(backend, retry=FAST)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Emulator[Any], Emulator[Any]]]:
    async with (
        serve_emulator("neuroio", seed=1) as east,
        serve_emulator("neuroio", seed=2) as west,
    ):
        yield east, west


def named(emu: Emulator[Any], name: str) -> list[str]:
    return [str(g.id) for g in emu.store.groups.values() if g.name == name]


async def test_a_503_target_is_reported_and_the_other_still_writes(
    pair: tuple[Emulator[Any], Emulator[Any]],
) -> None:
    """One call creates a group on both; the 503 target's error is in ``failed``."""
    east, west = pair
    west.faults.add(Fault.status(503))
    async with ag.FanOut(
        {"east": neuroio(east), "west": neuroio(west)}, client_factory=fast
    ) as fan:
        results = await fan.run(lambda c: c.groups.create("Eng"))
    # What the fan-out answers.
    assert list(results) == ["east", "west"]
    assert set(results.succeeded) == {"east"}
    assert set(results.failed) == {"west"}
    assert not results.ok
    group = results["east"]
    assert isinstance(group, ag.Group)
    assert group.name == "Eng"
    error = results.failed["west"]
    assert isinstance(error, ag.ServerError)
    assert error.status == 503
    # What each server holds: the group on east only; west refused all 3 attempts.
    assert named(east, "Eng") == [str(group.id)]
    assert named(west, "Eng") == []
    assert len(west.requests) == 3
    assert west.faults.counts["503"] == 3
    assert repr(results) == "Results({east: ok, west: ServerError})"
    for emu in pair:
        assert emu.credentials["token"] not in repr(results) + str(error)


async def test_members_are_added_on_every_target(
    pair: tuple[Emulator[Any], Emulator[Any]],
) -> None:
    """Each target's result is its own BatchResult; each store holds its members."""
    east, west = pair
    keys = {name: emu.store.seed_users(3) for name, emu in (("e", east), ("w", west))}
    gids = {east.store.seed_group("Eng"), west.store.seed_group("Eng")}
    (gid,) = gids  # fresh stores number their first group alike
    async with ag.FanOut({"e": neuroio(east), "w": neuroio(west)}) as fan:
        results = await fan.run(
            lambda c: c.members.add(gid, keys["e" if c is fan["e"] else "w"])
        )
    assert results.ok
    assert results.succeeded["e"].succeeded == frozenset(keys["e"])
    assert results.succeeded["w"].succeeded == frozenset(keys["w"])
    assert east.store.members(gid) == frozenset(keys["e"])
    assert west.store.members(gid) == frozenset(keys["w"])


async def test_names_pick_targets_and_an_unknown_name_sends_nothing(
    pair: tuple[Emulator[Any], Emulator[Any]],
) -> None:
    east, west = pair
    async with ag.FanOut({"east": neuroio(east), "west": neuroio(west)}) as fan:
        with pytest.raises(ag.InvalidInputError, match="unknown targets: north"):
            await fan.run(lambda c: c.groups.create("Ops"), names=["west", "north"])
        assert east.requests == west.requests == []
        results = await fan.run(lambda c: c.groups.create("Ops"), names=["west"])
    assert list(results) == ["west"]
    assert named(west, "Ops") == [str(results.succeeded["west"].id)]
    assert named(east, "Ops") == []


async def test_given_clients_stay_open_and_opened_ones_are_closed(
    pair: tuple[Emulator[Any], Emulator[Any]],
) -> None:
    """The FanOut closes only what it opened; the caller owns the Client it gave."""
    east, west = pair
    async with ag.Client(neuroio(east)) as mine:
        async with ag.FanOut({"mine": mine, "west": neuroio(west)}) as fan:
            assert fan["mine"] is mine
            opened = fan["west"]
        assert not mine.closed
        assert opened.closed
        await fan.aclose()  # idempotent
        group = await mine.groups.create("Still open")
    assert named(east, "Still open") == [str(group.id)]


async def test_library_errors_are_collected_per_target(
    pair: tuple[Emulator[Any], Emulator[Any]],
) -> None:
    """A closed Client's ClientClosedError is that target's outcome, not raised."""
    east, west = pair
    fan = ag.FanOut({"east": neuroio(east), "west": neuroio(west)})
    await fan.aclose()
    results = await fan.run(lambda c: c.groups.create("Late"))
    assert set(results.failed) == {"east", "west"}
    assert all(isinstance(e, ag.ClientClosedError) for e in results.failed.values())
    assert east.requests == west.requests == []


async def test_a_bug_in_the_operation_propagates_and_cancels_the_rest(
    pair: tuple[Emulator[Any], Emulator[Any]],
) -> None:
    """A non-library exception is raised, and the other targets' work is stopped."""
    east, west = pair
    cancelled = asyncio.Event()

    async with ag.FanOut({"east": neuroio(east), "west": neuroio(west)}) as fan:

        async def operation(client: ag.Client) -> None:
            if client is fan["east"]:
                await asyncio.sleep(0)
                raise RuntimeError("bug")
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        with pytest.raises(RuntimeError, match="bug"):
            await fan.run(operation)
    assert cancelled.is_set()


def test_configuration_is_checked_before_any_client_opens() -> None:
    backend = ag.backends.NeuroIO(base_url="http://127.0.0.1:9", token="t")
    with pytest.raises(ag.ConfigurationError, match="at least one target"):
        ag.FanOut({})
    with pytest.raises(ag.ConfigurationError, match="non-empty strings"):
        ag.FanOut({"": backend})
    with pytest.raises(ag.ConfigurationError, match="neither a Client nor a backend"):
        ag.FanOut({"x": object()})  # type: ignore[dict-item]


def test_results_are_a_read_only_mapping() -> None:
    error = ag.NotFoundError("gone")
    results: Results[int] = Results({"a": 1, "b": error})
    assert SiteResults is Results
    assert len(results) == 2
    assert dict(results) == {"a": 1, "b": error}
    assert results.succeeded == {"a": 1}
    assert results.failed == {"b": error}
    assert not results.ok
    assert Results({"a": 1}).ok
    assert repr(results) == "Results({a: ok, b: NotFoundError})"
