"""apply sends the fewest writes: per-group batches full, shared keys packed.

Over real HTTP against the NeuroIO emulator (one request may serve several
groups) and Periscope (one group per request): the write requests the server
receives are counted and compared with the per-group minimum, and the store ends
equal to the desired state.
"""

import random
from collections import Counter
from collections.abc import Mapping, Sequence

import pytest

import asyncgroups as ag
from asyncgroups.batching import invert, pack
from asyncgroups.packing import Packer
from asyncgroups.testing import serve_emulator

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def minimum(mapping: Mapping[str, Sequence[str]], max_batch: int) -> int:
    return sum(-(-len(keys) // max_batch) for keys in mapping.values() if keys)


@pytest.mark.parametrize("seed", range(20))
def test_pack_covers_every_membership_once_in_at_most_the_minimum(seed: int) -> None:
    rng = random.Random(seed)
    keys = [f"k{i}" for i in range(rng.randint(1, 400))]
    groups = [f"g{i}" for i in range(rng.randint(1, 12))]
    shared = rng.sample(keys, len(keys) // 2)
    mapping: dict[str, list[str]] = {}
    for gid in groups:
        mine = set(rng.sample(keys, rng.randint(0, len(keys))))
        if rng.random() < 0.5:
            mine |= set(shared)
        mapping[gid] = sorted(mine)
    size = rng.choice([1, 3, 10, 100])
    runs = pack(mapping, size)
    pairs = [(g, k) for groups_, ks in runs for g in groups_ for k in ks]
    assert sorted(pairs) == sorted((g, k) for g, ks in mapping.items() for k in ks)
    assert len(pairs) == len(set(pairs))
    requests = sum(-(-len(ks) // size) for _, ks in runs)
    assert requests <= minimum(mapping, size)


def _greedy_requests(mapping: Mapping[str, Sequence[str]], size: int) -> int:
    """The requests of `pack`'s rule as its docstring states it, with no shortcut."""
    counts = Counter(k for keys in mapping.values() for k in keys)
    targets: dict[str, tuple[str, ...]] = {}
    for gid, keys in mapping.items():
        for key in keys:
            if counts[key] > 1:
                targets[key] = (*targets.get(key, ()), gid)
    runs: dict[tuple[str, ...], list[str]] = {}
    for key, gids in targets.items():
        runs.setdefault(gids, []).append(key)
    left = {gid: len(keys) for gid, keys in mapping.items()}
    requests = 0
    partial: list[tuple[tuple[str, ...], int]] = []
    for gids, keys in runs.items():
        full = len(keys) - len(keys) % size
        if full:
            requests += full // size
            for gid in gids:
                left[gid] -= full
        if full < len(keys):
            partial.append((gids, len(keys) - full))
    partial.sort(key=lambda run: len(run[0]) * run[1], reverse=True)
    for gids, n in partial:
        saved = sum(-(-left[g] // size) + ((left[g] - n) // -size) for g in gids)
        if saved >= 2:
            requests += 1
            for gid in gids:
                left[gid] -= n
    return requests + sum(-(-n // size) for n in left.values())


@pytest.mark.parametrize("seed", range(60))
def test_pack_needs_the_requests_its_rule_gives(seed: int) -> None:
    """Its shortcuts (no run built where none can save a request) change nothing.

    Groups whose last chunk is small (a few keys past a full batch) gain from
    sharing even one key; keys shared by chance among fuller groups do not.
    """
    rng = random.Random(seed)
    size = rng.choice([3, 10, 100])
    keys = [f"k{i}" for i in range(rng.randint(size, 4 * size))]
    mapping = {
        f"g{i}": sorted(
            rng.sample(
                keys, min(len(keys), rng.choice([1, 2, size + 1, size, len(keys)]))
            )
        )
        for i in range(rng.randint(2, 30))
    }
    runs = pack(mapping, size)
    assert sum(-(-len(ks) // size) for _, ks in runs) == _greedy_requests(mapping, size)


def test_one_key_shared_saves_two_requests_where_it_ends_two_chunks() -> None:
    """Two groups of 101 keys sharing one: 3 requests, not 4; sharing none: 4."""
    base = [f"k{i:03d}" for i in range(100)]
    mapping = {"g1": [*base, "x"], "g2": [f"o{i:03d}" for i in range(100)] + ["x"]}
    runs = pack(mapping, 100)
    assert sum(-(-len(ks) // 100) for _, ks in runs) == 3
    assert (("g1", "g2"), ["x"]) in runs
    apart = {"g1": [*base, "x"], "g2": [f"o{i:03d}" for i in range(100)] + ["y"]}
    assert pack(apart, 100) == [(("g1",), apart["g1"]), (("g2",), apart["g2"])]


def test_keys_shared_by_chance_go_group_by_group() -> None:
    """Ten keys a group, a few shared: no request can be saved; none is built."""
    rng = random.Random(3)
    keys = [f"k{i}" for i in range(300)]
    mapping = {f"g{i}": rng.sample(keys, 10) for i in range(100)}
    assert sum(len(ks) for ks in mapping.values()) > len(
        {k for ks in mapping.values() for k in ks}
    )
    assert pack(mapping, 100) == [((gid,), ks) for gid, ks in mapping.items()]


def test_invert_binds_a_key_given_twice_for_one_group_once() -> None:
    assert invert({"g": ["a", "a", "b"]}) == {frozenset({"g"}): ["b", "a"]}
    assert invert({"g1": ["a", "b"], "g2": ["a"]}) == {
        frozenset({"g1"}): ["b"],
        frozenset({"g1", "g2"}): ["a"],
    }


def test_a_group_added_twice_to_a_packer_is_refused() -> None:
    packer = Packer()
    packer.add("g", ["a", "b"])
    with pytest.raises(ag.InvalidInputError, match="given twice"):
        packer.add("g", ["a", "c"])


def test_pack_shares_keys_bound_for_the_same_groups() -> None:
    mapping = {"g1": ["a", "b"], "g2": ["a", "b"], "g3": ["a", "b", "c"]}
    assert pack(mapping, 100) == [(("g1", "g2", "g3"), ["a", "b"]), (("g3",), ["c"])]


async def test_scattered_memberships_go_out_in_the_minimum_of_requests() -> None:
    """The case that used to cost 3.6x: each key bound for its own set of groups."""
    rng = random.Random(5)
    async with serve_emulator("neuroio", seed=5) as emu:
        pids = emu.store.seed_users(600)
        gids = {f"G{i:02d}": emu.store.seed_group(f"G{i:02d}") for i in range(30)}
        desired = {name: set(rng.sample(pids, 150)) for name in gids}
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            plan = await client.plan_sync(desired)
            emu.clear_requests()
            report = await client.apply(plan)
        sent = [r for r in emu.requests if r.method in WRITES]
        floor = minimum({g.key: g.to_add for g in plan.groups}, backend.max_batch)
        assert 0 < len(sent) <= floor
        assert report.converged, str(report)
        for name, gid in gids.items():
            assert emu.store.members(gid) == desired[name]


async def test_shared_keys_take_one_request_for_many_groups() -> None:
    async with serve_emulator("neuroio", seed=6) as emu:
        pids = emu.store.seed_users(250)
        gids = {f"G{i}": emu.store.seed_group(f"G{i}") for i in range(8)}
        desired = {name: set(pids) for name in gids}
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            plan = await client.plan_sync(desired)
            emu.clear_requests()
            await client.apply(plan, verify=False)
        sent = [r for r in emu.requests if r.method in WRITES]
        # 250 keys for the same 8 groups: 3 requests, not 8 x 3
        assert len(sent) == 3
        for gid in gids.values():
            assert emu.store.members(gid) == frozenset(pids)
