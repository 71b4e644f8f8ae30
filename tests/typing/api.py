"""The public API as a user's type checker sees it: checked by mypy, never run.

Every ``# type: ignore[...]`` below marks a misuse that must stay a type error:
mypy's ``warn_unused_ignores`` (on under ``strict``) fails the check if one of
them stops being an error.
"""

from collections.abc import AsyncIterator, Sequence
from typing import assert_type

import asyncgroups as ag
from asyncgroups.backends.base import (
    BackendSession,
    GroupCreator,
    MemberAdder,
    UserLister,
)
from asyncgroups.testing import Emulator, EmulatorStore, serve_emulator
from asyncgroups.testing.emulators._neuroio_store import NeuroIOStore
from asyncgroups.transport.base import AsyncTransport


async def groups(client: ag.Client) -> None:
    group = await client.groups.create("Engineering", description="the builders")
    assert_type(group, ag.Group)
    assert_type(group.id, str)
    await client.groups.create("Eng", extra={"visibility": "private"})
    await client.groups.create("Eng", descripton="typo")  # type: ignore[call-arg]
    await client.groups.create(name=3)  # type: ignore[arg-type]
    await client.groups.update(group.id, name="Eng", description=None)
    await client.groups.update(group.id, nmae="Eng")  # type: ignore[call-arg]
    await client.groups.get(42)
    await client.groups.delete(group.id)
    listing = client.groups.list(query="En")
    assert_type(listing, AsyncIterator[ag.Group])


async def users(client: ag.Client) -> None:
    user = await client.users.create(email="a@example.com", first_name="A")
    assert_type(user, ag.User)
    await client.users.create(mail="a@example.com")  # type: ignore[call-arg]
    await client.users.update(user.id, last_name="B", extra={"groups": ["Eng"]})
    await client.users.update(user.id, lastname="B")  # type: ignore[call-arg]
    assert_type(client.users.list(), AsyncIterator[ag.User])


async def members(client: ag.Client) -> None:
    result = await client.members.add("1", ["a", "b", 3])
    assert_type(result, ag.BatchResult)
    assert_type(result.succeeded, frozenset[str])
    await client.members.remove(1, ("a",))
    by_name: dict[str, list[str]] = {"1": ["a"]}
    many = await client.members.add_many(by_name)
    assert_type(many, dict[str, ag.BatchResult])
    await client.members.remove_many({2: ["b"]})
    assert_type(client.members.list("1"), AsyncIterator[ag.Member])


async def sync(client: ag.Client) -> None:
    plan = await client.plan_sync({"Eng": {"a@example.com"}}, prune=True)
    assert_type(plan, ag.SyncPlan)
    report = await client.apply(plan, max_removals=0.1)
    assert_type(report, ag.SyncReport)
    await client.apply(plan, max_removal=5)  # type: ignore[call-arg]


class MyBackend:
    """A third-party backend: configuration that opens sessions."""

    name = "mine"
    capabilities = frozenset({ag.Capability.MEMBERS_ADD})
    max_batch = 50

    def open(self, transport: AsyncTransport) -> "MySession":
        return MySession(transport)


class MySession:
    """One Client's binding: reads, plus the one capability it declares."""

    def __init__(self, transport: AsyncTransport) -> None:
        self.transport = transport

    async def get_group(self, group_id: str) -> ag.Group:
        return ag.Group(group_id, "g")

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[ag.Group]:
        yield ag.Group("1", "g")

    async def iter_members(self, group_id: str) -> AsyncIterator[ag.Member]:
        yield ag.Member("k", group_id)

    def check_group_id(self, group_id: str) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        pass


def contract() -> None:
    backend: ag.GroupBackend = MyBackend()
    session: BackendSession = MySession(ag_transport())
    adder: MemberAdder = MySession(ag_transport())
    creator: GroupCreator = MySession(ag_transport())  # type: ignore[assignment]
    lister: UserLister = MySession(ag_transport())  # type: ignore[assignment]
    client = ag.Client(backend)
    assert_type(client.session, BackendSession)
    assert_type(client.backend, ag.GroupBackend)
    assert_type(ag.connect("neuroio", token="t"), ag.GroupBackend)
    assert_type(ag.backends.load("neuroio"), type[ag.GroupBackend])
    del session, adder, creator, lister


def ag_transport() -> AsyncTransport:
    raise NotImplementedError


async def emulators() -> None:
    async with serve_emulator("neuroio") as emu:
        assert_type(emu, Emulator[NeuroIOStore])
        assert_type(emu.store.seed_group("Eng"), str)
    async with serve_emulator("someone-elses") as other:
        assert_type(other.store, EmulatorStore)
        other.store.not_a_store_method()  # type: ignore[attr-defined]


def errors(exc: ag.PartialSyncError) -> None:
    assert_type(exc.report.failed, int)
    assert_type(exc.report.converged, bool)
    report: ag.errors.SyncOutcome = ag.SyncReport()
    del report
