"""Sync planning and applying against pure inputs and an in-memory backend (no sockets)."""

import gc
import os
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.sync import (
    GroupPlan,
    ProgressEvent,
    SyncPlan,
    SyncReport,
    removal_limit,
)
from asyncgroups.sync.heap import frozen_heap
from asyncgroups.sync.observe import Observed, fingerprint
from asyncgroups.sync.plan import build_plan
from asyncgroups.transport.base import Request, Response

C = ag.Capability
ALL = frozenset(C)


class NullTransport:
    async def send(self, request: Request) -> Response:
        raise AssertionError("the in-memory backend sends no HTTP")

    async def aclose(self) -> None:
        return None


class _NoUserListing:
    """A memory session that cannot list users."""

    def __init__(self, inner: "MemoryBackend") -> None:
        self._inner = inner
        # The methods are the instance's own attributes, not __getattr__'s: from
        # Python 3.12 a Protocol isinstance check looks attributes up statically.
        for name in dir(inner):
            method = getattr(inner, name)
            if not name.startswith("_") and name != "iter_users" and callable(method):
                setattr(self, name, method)

    def __getattr__(self, name: str) -> Any:
        if name == "iter_users":
            raise AttributeError(name)
        return getattr(self._inner, name)


class MemoryBackend:
    """A backend keeping groups in memory, recording every write."""

    name = "memory"

    def __init__(
        self, capabilities: frozenset[ag.Capability] = ALL, max_batch: int = 3
    ) -> None:
        self.capabilities = capabilities
        self.max_batch = max_batch
        self.users: set[str] = set()
        self.groups: dict[str, tuple[str, set[str]]] = {}
        self.roles: dict[tuple[str, str], str] = {}
        self.writes: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
        self.broken_listing: dict[str, int] = {}

    def open(self, transport: Any) -> Any:
        # A test double: configuration and session in one object; without
        # USERS_LIST, a view that cannot list users (sessions implement only
        # what they declare).
        return self if C.USERS_LIST in self.capabilities else _NoUserListing(self)

    def check_group_id(self, group_id: str) -> None:
        pass

    async def aclose(self) -> None:
        pass

    def seed(self, name: str, members: Sequence[str] = ()) -> str:
        gid = str(len(self.groups) + 1)
        self.users.update(members)
        self.groups[gid] = (name, set(members))
        return gid

    async def create_group(
        self, name: str, *, description: str | None = None, **extra: object
    ) -> ag.Group:
        self.writes.append(("create", (name,), ()))
        gid = str(len(self.groups) + 1)
        self.groups[gid] = (name, set())
        return ag.Group(gid, name)

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[ag.Group]:
        for gid, (name, _) in list(self.groups.items()):
            yield ag.Group(gid, name)

    async def iter_users(self, query: str | None = None) -> AsyncIterator[ag.User]:
        for key in sorted(self.users):
            yield ag.User(key, email=f"{key}@example.com")

    async def iter_members(self, group_id: str) -> AsyncIterator[ag.Member]:
        if group_id not in self.groups:
            raise ag.NotFoundError("no such group", status=404)
        for i, key in enumerate(sorted(self.groups[group_id][1])):
            if self.broken_listing.get(group_id) == i:
                raise ag.ServerError("injected", status=500)
            yield ag.Member(key, group_id, role=self.roles.get((group_id, key)))

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        self.writes.append(("add", tuple(group_ids), tuple(keys)))
        bad = [k for k in keys if k not in self.users]
        if bad:
            raise ag.NotFoundError(f"unknown user {bad[0]}", status=404)
        for gid in group_ids:
            self.groups[gid][1].update(keys)

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        self.writes.append(("remove", tuple(group_ids), tuple(keys)))
        for gid in group_ids:
            self.groups[gid][1].difference_update(keys)

    async def get_group(self, group_id: str) -> ag.Group:
        if group_id not in self.groups:
            raise ag.NotFoundError("no such group", status=404)
        return ag.Group(group_id, self.groups[group_id][0])

    async def update_group(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        **extra: object,
    ) -> ag.Group:
        old, members = self.groups[group_id]
        self.groups[group_id] = (name or old, members)
        return await self.get_group(group_id)

    async def delete_group(self, group_id: str) -> None:
        del self.groups[group_id]

    async def create_user(
        self,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        **extra: object,
    ) -> ag.User:
        key = (email or "").partition("@")[0]
        self.users.add(key)
        return ag.User(key, email=email)

    async def get_user(self, user_id: str) -> ag.User:
        if user_id not in self.users:
            raise ag.NotFoundError("no such user", status=404)
        return ag.User(user_id, email=f"{user_id}@example.com")

    async def update_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        **extra: object,
    ) -> ag.User:
        return await self.get_user(user_id)

    async def delete_user(self, user_id: str) -> None:
        self.users.discard(user_id)

    def members(self, name: str) -> set[str]:
        (members,) = [m for n, m in self.groups.values() if n == name]
        return members


@pytest.fixture
def memory() -> MemoryBackend:
    return MemoryBackend()


@pytest.fixture
async def client(memory: MemoryBackend) -> AsyncIterator[ag.Client]:
    async with ag.Client(memory, transport=NullTransport(), concurrency=4) as c:
        yield c


def observed(*keys: str, **roles: str) -> Observed:
    return Observed(frozenset(keys), roles)


# -- pure planning -----------------------------------------------------------------


def test_plan_adds_missing_and_leaves_extras_without_prune():
    """Without prune, extras stay; only missing keys are added."""
    plan = build_plan(
        {"eng": frozenset({"a", "b"})},
        {"eng": "1"},
        {"1": observed("b", "c")},
        capabilities=ALL,
    )
    (g,) = plan.groups
    assert (g.to_add, g.to_remove, g.observed_count) == (("a",), (), 2)
    assert plan.operations == 1


def test_plan_with_prune_removes_exactly_the_extras():
    """With prune, members that are not desired are planned for removal."""
    plan = build_plan(
        {"eng": frozenset({"a", "b"})},
        {"eng": "1"},
        {"1": observed("b", "c", "d")},
        capabilities=ALL,
        prune=True,
    )
    assert plan.groups[0].to_remove == ("c", "d")
    assert plan.operations == 3


def test_converged_state_plans_no_operation():
    """Desired equal to observed plans nothing (a no-op)."""
    plan = build_plan(
        {"eng": frozenset({"a"})},
        {"eng": "1"},
        {"1": observed("a")},
        capabilities=ALL,
        prune=True,
    )
    assert plan.empty
    assert plan.operations == 0
    assert "0 operations" in str(plan)


def test_missing_capabilities_are_unsupported_not_errors():
    """Without MEMBERS_ADD/REMOVE, changes are listed as unsupported with a reason."""
    plan = build_plan(
        {"eng": frozenset({"a"})},
        {"eng": "1"},
        {"1": observed("b")},
        capabilities=frozenset({C.MEMBERS_LIST}),
        backend="snip",
        prune=True,
    )
    g = plan.groups[0]
    assert plan.operations == 0
    assert "MEMBERS_ADD" in g.unsupported["a"]
    assert "MEMBERS_REMOVE" in g.unsupported["b"]


def test_owner_is_never_pruned():
    """A member whose role is owner is reported, not removed."""
    plan = build_plan(
        {"eng": frozenset()},
        {"eng": "1"},
        {"1": observed("boss", "x", boss="owner")},
        capabilities=ALL,
        prune=True,
    )
    assert plan.groups[0].to_remove == ("x",)
    assert "owner" in plan.groups[0].unsupported["boss"]


def test_unknown_keys_are_reported_per_key_and_not_added():
    """Keys not among the listed users are reported as unknown."""
    plan = build_plan(
        {"eng": frozenset({"a@x.com", "ghost@x.com"})},
        {"eng": "1"},
        {"1": observed()},
        capabilities=ALL,
        backend="periscope",
        known_users=frozenset({"a@x.com"}),
    )
    g = plan.groups[0]
    assert g.to_add == ("a@x.com",)
    assert set(g.unknown) == {"ghost@x.com"}


def test_missing_group_is_created_only_when_asked():
    """A missing group is planned for creation with create_groups, else reported."""
    args: dict[str, Any] = {"capabilities": ALL}
    created = build_plan(
        {"new": frozenset({"a"})}, {"new": None}, {}, create_groups=True, **args
    )
    reported = build_plan({"new": frozenset({"a"})}, {"new": None}, {}, **args)
    assert created.groups[0].create
    assert created.groups[0].to_add == ("a",)
    assert created.operations == 2
    assert not reported.groups[0].create
    assert reported.operations == 0
    assert "does not exist" in str(reported) or "no group" in str(reported)


def test_large_inputs_plan_quickly():
    """100,000 desired keys against 100,000 observed plan in well under a few seconds."""
    desired = frozenset(f"k{i}" for i in range(100_000))
    seen = Observed(frozenset(f"k{i}" for i in range(50_000, 150_000)))
    start = time.monotonic()
    plan = build_plan(
        {"big": desired}, {"big": "1"}, {"1": seen}, capabilities=ALL, prune=True
    )
    assert len(plan.groups[0].to_add) == 50_000
    assert len(plan.groups[0].to_remove) == 50_000
    assert time.monotonic() - start < 10


def test_readable_diff_marks_every_kind_of_change():
    """str(plan) shows + - ! ? lines under a group header and a summary line."""
    plan = SyncPlan(
        [
            GroupPlan(
                "eng",
                "1",
                to_add=["a"],
                to_remove=["b"],
                unsupported={"c": "cannot add"},
                unknown={"d": "not a user"},
                observed_count=5,
            )
        ]
    )
    text = str(plan)
    assert "eng (1): 5 observed" in text
    for line in ("  + a", "  - b", "  ! c (cannot add)", "  ? d (not a user)"):
        assert line in text.splitlines()
    assert text.splitlines()[-1].startswith(
        "1 group: 0 to create, 1 to add, 1 to remove"
    )


def test_json_round_trip_is_lossless():
    """to_json/from_json give back an equal plan."""
    plan = build_plan(
        {"eng": frozenset({"a", "z"}), "new": frozenset({"q"})},
        {"eng": "1", "new": None},
        {"1": observed("b", "x", x="owner")},
        capabilities=ALL,
        backend="memory",
        known_users=frozenset({"a", "q"}),
        prune=True,
        create_groups=True,
    )
    again = SyncPlan.from_json(plan.to_json(indent=2))
    assert again == plan
    assert str(again) == str(plan)


@pytest.mark.parametrize(
    "text", ["", "[]", '{"version": 2}', '{"version": 1, "groups": 3}']
)
def test_malformed_plan_json_is_invalid_input(text):
    """Anything that is not a serialised plan raises InvalidInputError."""
    with pytest.raises(ag.InvalidInputError):
        SyncPlan.from_json(text)


def test_plan_keys_are_sorted_and_each_listed_once():
    """A group plan read from JSON that repeats a key holds it once."""
    g = GroupPlan("eng", "1", desired=["b", "a", "b"], to_add=("z", "z"))
    assert g.desired == ("a", "b")
    assert g.to_add == ("z",)
    assert g.operations == 1


def test_frozen_heap_freezes_for_the_block_only():
    """The collector skips what existed before the block, and nothing after it."""
    if gc.get_freeze_count():
        # CPython 3.12.1 starts with objects frozen: the block must leave them be.
        frozen = gc.get_freeze_count()
        with frozen_heap():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
        return
    before = [object()]
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        with frozen_heap():  # nested: the outer block's freeze is left alone
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    assert before


def test_frozen_heap_leaves_an_existing_freeze_as_it_is():
    """An application's own gc.freeze() is not undone by a sync."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with frozen_heap():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


@pytest.fixture
def gc_thresholds() -> Iterator[None]:
    """Thresholds (700, 10, 10) for the test, the interpreter's own after it.

    Skips where the interpreter starts with objects frozen (the block does nothing).
    """
    if gc.get_freeze_count():
        pytest.skip(
            "this interpreter starts with objects frozen: the block does nothing"
        )
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def test_frozen_heap_holds_off_full_collections_for_the_block_only(
    gc_thresholds: None,
) -> None:
    """The third threshold is ten times higher in the block, then as it was."""
    with frozen_heap():
        assert gc.get_threshold() == (700, 10, 100)
        with frozen_heap():  # nested: nothing more
            assert gc.get_threshold() == (700, 10, 100)
    assert gc.get_threshold() == (700, 10, 10)
    # An application that sets its own thresholds during a sync keeps them.
    with frozen_heap():
        gc.set_threshold(5000, 20, 30)
    assert gc.get_threshold() == (5000, 20, 30)
    # ... also when it changes only the first (the third goes back).
    gc.set_threshold(700, 10, 10)
    with frozen_heap():
        gc.set_threshold(1000)
    assert gc.get_threshold() == (1000, 10, 10)
    # A sync that raises still puts them back.
    gc.set_threshold(700, 10, 10)
    with pytest.raises(RuntimeError), frozen_heap():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_frozen_heap_blocks_overlapping_without_nesting_put_the_threshold_back(
    gc_thresholds: None,
) -> None:
    """A gc.unfreeze() during a sync lets a second block in; any end order works."""
    for inner_ends_first in (True, False):
        gc.set_threshold(700, 10, 10)
        outer, inner = frozen_heap(), frozen_heap()
        outer.__enter__()
        gc.unfreeze()  # the application's, during the sync
        inner.__enter__()
        assert gc.get_threshold() == (700, 10, 1000)
        for block in (inner, outer) if inner_ends_first else (outer, inner):
            block.__exit__(None, None, None)
        assert gc.get_threshold() == (700, 10, 10)
        assert gc.get_freeze_count() == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_process_forked_during_a_sync_does_not_stay_frozen(
    gc_thresholds: None,
) -> None:
    """The child of a fork inside the block unfreezes; the parent keeps its block."""
    outside = gc.get_threshold()
    read, write = os.pipe()
    with frozen_heap():
        pid = os.fork()
        if pid == 0:  # the child: report its freeze and thresholds, then leave
            state = (gc.get_freeze_count(), *gc.get_threshold())
            os.write(write, " ".join(map(str, state)).encode())
            os._exit(0)
        os.close(write)
        assert gc.get_freeze_count() > 0
        child = b""
        while chunk := os.read(read, 64):
            child += chunk
        os.close(read)
        os.waitpid(pid, 0)
        assert gc.get_threshold() != outside
    frozen, *thresholds = map(int, child.split())
    assert frozen == 0
    assert tuple(thresholds) == outside
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == outside


def test_fingerprint_is_order_independent():
    """The fingerprint depends on the set of keys only."""
    assert fingerprint(["a", "b"]) == fingerprint(["b", "a", "a"]) != fingerprint(["a"])


@pytest.mark.parametrize(
    ("observed_count", "max_removals", "limit"),
    [(0, None, 10), (500, None, 50), (500, 3, 3), (500, 0.5, 250), (500, 1.0, 500)],
)
def test_removal_limit(observed_count, max_removals, limit):
    """The default is 10% of observed members, at least 10; ints count, floats are fractions."""
    assert removal_limit(observed_count, max_removals) == limit


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_removal_limit_is_invalid_input(bad):
    """Negative counts, fractions above 1 and non-numbers are refused."""
    with pytest.raises(ag.InvalidInputError):
        removal_limit(10, bad)


# -- plan_sync and apply through a Client over the in-memory backend ---------------


async def test_sync_converges_and_rerun_sends_no_write(client, memory):
    """Apply reaches the desired state; planning again finds nothing to do."""
    memory.users.update({"a", "b", "c", "d"})
    memory.seed("eng", ["c", "d"])
    desired = {"eng": {"a", "b", "c"}, "ops": {"a", "d"}}
    plan = await client.plan_sync(desired, prune=True, create_groups=True)
    report = await client.apply(plan)
    assert report.converged
    assert report.verified
    assert memory.members("eng") == {"a", "b", "c"}
    assert memory.members("ops") == {"a", "d"}
    writes = len(memory.writes)
    again = await client.plan_sync(desired, prune=True, create_groups=True)
    assert again.empty
    report = await client.apply(again)
    assert len(memory.writes) == writes
    assert report.converged
    assert report.applied == 0


async def test_keys_bound_for_the_same_groups_share_requests(client, memory):
    """With MEMBERS_ADD_MANY, one request serves every group a key is bound for."""
    memory.users.update({"a", "b"})
    memory.seed("g1")
    memory.seed("g2")
    plan = await client.plan_sync({"g1": {"a", "b"}, "g2": {"a", "b"}})
    await client.apply(plan)
    assert memory.writes == [("add", ("1", "2"), ("a", "b"))]


async def test_without_add_many_each_group_gets_its_own_requests(memory):
    """Without MEMBERS_ADD_MANY, additions go group by group, in max_batch chunks."""
    memory.capabilities = ALL - {C.MEMBERS_ADD_MANY, C.MEMBERS_REMOVE_MANY}
    memory.users.update("abcde")
    memory.seed("g1")
    memory.seed("g2")
    async with ag.Client(memory, transport=NullTransport()) as c:
        report = await c.apply(await c.plan_sync({"g1": set("abcde"), "g2": {"a"}}))
    assert report.converged
    assert sorted(len(keys) for _, _, keys in memory.writes) == [1, 2, 3]
    assert all(len(groups) == 1 for _, groups, _ in memory.writes)


async def test_ambiguous_name_names_the_ids(client, memory):
    """A name shared by several groups is refused, naming the ids."""
    memory.seed("eng")
    memory.seed("eng")
    with pytest.raises(ag.InvalidInputError, match=r"ids 1, 2"):
        await client.plan_sync({"eng": []})


async def test_groups_by_id(client, memory):
    """by='id' resolves groups by id; an unknown id is reported, not created."""
    memory.users.add("a")
    gid = memory.seed("eng")
    plan = await client.plan_sync(
        {gid: ["a"], "404": ["a"]}, by="id", create_groups=True
    )
    assert plan.groups[0].to_add == ("a",)
    assert plan.groups[1].group_id is None
    assert not plan.groups[1].create


async def test_incomplete_listing_refuses_prune(client, memory):
    """A listing that fails part-way makes a prune plan refuse."""
    memory.seed("eng", ["a", "b", "c"])
    memory.broken_listing["1"] = 1
    with pytest.raises(ag.SyncAbortedError, match="incomplete"):
        await client.plan_sync({"eng": ["a"]}, prune=True)
    plan = await client.plan_sync({"eng": ["a", "z"]})
    assert not plan.groups[0].complete
    assert "INCOMPLETE" in str(plan)


async def test_max_removals_aborts_before_any_request(client, memory):
    """Too many removals abort the whole sync before anything is written."""
    memory.seed("big", [f"u{i}" for i in range(40)])
    memory.seed("small", ["x"])
    plan = await client.plan_sync({"big": [], "small": ["x", "u1"]}, prune=True)
    with pytest.raises(ag.SyncAbortedError, match="max_removals"):
        await client.apply(plan)
    assert memory.writes == []
    report = await client.apply(plan, max_removals=1.0)
    assert report.removed == 40
    assert memory.members("big") == set()


async def test_drift_aborts_or_replans(client, memory):
    """State changed since planning aborts, or re-plans with replan=True."""
    memory.users.update("abc")
    memory.seed("eng", ["a"])
    plan = await client.plan_sync({"eng": ["a", "b"]}, prune=True)
    memory.groups["1"][1].add("c")
    with pytest.raises(ag.SyncAbortedError, match="changed since planning"):
        await client.apply(plan)
    assert memory.writes == []
    report = await client.apply(plan, replan=True)
    assert report.converged
    assert memory.members("eng") == {"a", "b"}


async def test_dry_run_sends_no_write(client, memory):
    """A dry run reports every change as skipped and writes nothing."""
    memory.users.update("ab")
    memory.seed("eng", ["b"])
    plan = await client.plan_sync(
        {"eng": ["a"], "new": ["a"]}, prune=True, create_groups=True
    )
    report = await client.apply(plan, dry_run=True)
    assert memory.writes == []
    assert report.dry_run
    assert not report.converged
    assert report.groups[0].skipped == {"a": "dry run: add", "b": "dry run: remove"}
    assert "dry run" in str(report)


async def test_bad_keys_are_isolated_and_named(memory):
    """Keys the server rejects fail one by one with their reason; the rest apply."""
    memory.capabilities = ALL - {C.USERS_LIST}
    memory.users.update({"a", "b", "c"})
    memory.seed("eng")
    events: list[ProgressEvent] = []
    async with ag.Client(memory, transport=NullTransport()) as c:
        plan = await c.plan_sync({"eng": ["a", "b", "c", "bad1", "bad2"]})
        report = await c.apply(plan, on_progress=events.append)
        with pytest.raises(ag.PartialSyncError) as caught:
            await c.apply(await c.plan_sync({"eng": ["bad3"]}), raise_on_error=True)
    assert memory.members("eng") == {"a", "b", "c"}
    assert set(report.groups[0].failed) == {"bad1", "bad2"}
    assert "unknown user bad1" in str(report.groups[0].failed["bad1"])
    assert not report.converged
    assert report.drift["eng"].missing == ("bad1", "bad2")
    assert events[-1].done == events[-1].total == 5
    assert sum(e.succeeded for e in events) == 3
    partial = caught.value.report
    assert isinstance(partial, SyncReport)
    assert partial.groups[0].failed.keys() == {"bad3"}
    assert "failed eng: bad1" in str(report)


async def test_unknown_keys_are_skipped_with_their_reason(client, memory):
    """With USERS_LIST, unknown keys are planned as unknown and skipped, never sent."""
    memory.users.add("a")
    memory.seed("eng")
    report = await client.apply(await client.plan_sync({"eng": ["a", "ghost"]}))
    assert "ghost" in report.groups[0].skipped
    assert all("ghost" not in keys for _, _, keys in memory.writes)
    # Something asked for was skipped: the desired state is not reached.
    assert not report.converged
    assert report.verified


async def test_report_json_and_table(client, memory):
    """The report serialises to JSON and renders a summary table."""
    import json

    memory.users.add("a")
    report = await client.apply(
        await client.plan_sync({"eng": ["a"]}, create_groups=True)
    )
    data = json.loads(report.to_json())
    assert data["groups"][0]["created"]
    assert data["groups"][0]["added"] == ["a"]
    assert data["converged"] is True
    lines = str(report).splitlines()
    assert lines[0].split() == [
        "group",
        "created",
        "added",
        "removed",
        "failed",
        "unknown",
        "skipped",
        "drift",
    ]
    assert lines[1].split() == ["eng", "yes", "1", "0", "0", "0", "0"]
    assert "converged" in lines[-1]


async def test_plan_from_another_backend_is_refused(client, memory):
    """A plan made against another backend is not applied."""
    with pytest.raises(ag.SyncAbortedError, match="made against"):
        await client.apply(SyncPlan([], backend="snip"))


async def test_desired_from_client_maps_keys_and_names_unmapped_ones(client, memory):
    """Another Client's groups become desired state through a key_map."""
    from asyncgroups.sync import desired_from_client

    memory.seed("src", ["a", "b"])
    memory.seed("other", ["c"])
    mapped = await desired_from_client(client, {"src": "dst"}, key_map=str.upper)
    assert mapped == {"dst": {"A", "B"}}
    everything = await desired_from_client(client)
    assert everything == {"src": {"a", "b"}, "other": {"c"}}
    dropped = await desired_from_client(
        client, ["src"], key_map=lambda k: None if k == "a" else k
    )
    assert dropped == {"src": {"b"}}
    with pytest.raises(ag.InvalidInputError, match="no target key for 'b'"):
        await desired_from_client(client, ["src"], key_map={"a": "a@x.com"})
    with pytest.raises(ag.InvalidInputError, match="no target key"):
        await desired_from_client(client, ["src"], key_map="email")
    with pytest.raises(ag.InvalidInputError, match="no source group"):
        await desired_from_client(client, ["nope"])


async def test_key_map_lists_keys_it_cannot_map_as_unknown(client, memory):
    """A source key without a mapping is never used as a target key as it is."""
    memory.users.update({"A", "b"})  # "b" happens to be a target user too
    memory.seed("eng")
    desired = {"eng": {"a", "b"}, "new": {"b"}}
    plans = [
        await client.plan_sync(desired, key_map=key_map, create_groups=True)
        for key_map in ({"a": "A"}, {"a": "A"}.get)  # a mapping, a callable
    ]
    for plan in plans:
        eng, new = plan.groups
        assert eng.to_add == ("A",)
        assert eng.desired == ("A",)
        assert dict(eng.unknown) == {"b": "no mapping for source key"}
        assert new.create
        assert new.to_add == ()
        assert dict(new.unknown) == {"b": "no mapping for source key"}
        assert "? b (no mapping for source key)" in str(plan)
    report = await client.apply(plans[0])
    assert memory.members("eng") == {"A"}
    assert report.groups[0].skipped == {"b": "no mapping for source key"}


@pytest.mark.parametrize("desired", [{1: {"a"}, "1": {"b"}}, {"1": {"a"}, 1: {"b"}}])
async def test_group_keys_that_normalise_alike_are_refused(client, memory, desired):
    """``1`` and ``"1"`` name the same group: refused, never silently merged."""
    memory.users.update({"a", "b"})
    memory.seed("one", ["a", "b"])
    with pytest.raises(ag.InvalidInputError, match="'1' is given twice"):
        await client.plan_sync(desired, by="id", prune=True)
    assert memory.writes == []
