"""The backend contract (v2) on every backend: configuration shared, sessions apart.

A backend object is configuration; each Client opens its own session on its own
transport. These tests run once per backend against its emulator.
"""

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.backends.base import CAPABILITY_PROTOCOLS, Capability
from asyncgroups.testing import Emulator
from asyncgroups.transport.base import AsyncTransport, Request, Response


class Counting:
    """A transport wrapper that counts what passes through it."""

    def __init__(self, inner: AsyncTransport) -> None:
        self.inner = inner
        self.sent: list[Request] = []
        self.closed = False

    async def send(self, request: Request) -> Response:
        self.sent.append(request)
        return await self.inner.send(request)

    async def aclose(self) -> None:
        self.closed = True
        await self.inner.aclose()


def _backend(emulator: Emulator[Any]) -> ag.GroupBackend:
    return ag.connect(emulator.name, base_url=emulator.url, **emulator.credentials)


async def _read(client: ag.Client, gid: str) -> None:
    await client.groups.get(gid)
    [m async for m in client.members.list(gid)]


async def test_two_clients_on_one_backend_keep_their_own_transport(
    emulator: Emulator[Any], fast_retry: ag.RetryPolicy
) -> None:
    """Each Client's requests go through its own transport; closing one spares the other."""
    gid = emulator.store.seed_group("Shared", members=emulator.store.seed_users(3))
    backend = _backend(emulator)
    async with (
        ag.Client(backend, retry=fast_retry) as base_a,
        ag.Client(backend, retry=fast_retry) as base_b,
    ):
        count_a, count_b = Counting(base_a.transport), Counting(base_b.transport)
        a = ag.Client(backend, transport=count_a)
        b = ag.Client(backend, transport=count_b)
        assert a.session is not b.session
        before = len(emulator.requests)
        await asyncio.gather(*(_read(a, gid) for _ in range(3)), _read(b, gid))
        sent_a, sent_b = len(count_a.sent), len(count_b.sent)
        assert sent_a >= 6
        assert sent_b >= 2
        assert sent_b < sent_a
        assert len(emulator.requests) - before == sent_a + sent_b
        await b.aclose()
        assert count_b.closed
        assert not count_a.closed
        await _read(a, gid)
        assert len(count_a.sent) > sent_a
        assert len(count_b.sent) == sent_b
        with pytest.raises(ag.ClientClosedError):
            await b.groups.get(gid)
        await a.aclose()


async def test_a_closed_session_refuses_requests(
    emulator: Emulator[Any], fast_retry: ag.RetryPolicy
) -> None:
    """A session used after its Client closed raises ClientClosedError, sending nothing."""
    gid = emulator.store.seed_group("Closed")
    client = ag.Client(_backend(emulator), retry=fast_retry)
    session = client.session
    await client.aclose()
    before = len(emulator.requests)
    with pytest.raises(ag.ClientClosedError):
        await session.get_group(gid)
    assert len(emulator.requests) == before


async def test_open_and_close_a_hundred_clients_leaks_nothing(
    emulator: Emulator[Any], fast_retry: ag.RetryPolicy
) -> None:
    """100 Clients opened and closed on one backend leave no session or task behind."""
    gid = emulator.store.seed_group("Churn")
    backend = _backend(emulator)
    tasks_before = len(asyncio.all_tasks())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(100):
            async with ag.Client(backend, retry=fast_retry) as client:
                if i % 10 == 0:
                    await client.groups.get(gid)
        gc.collect()
        await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == tasks_before


def _gated_calls(client: ag.Client) -> dict[Capability, Callable[[], Awaitable[Any]]]:
    async def drain(items: AsyncIterator[Any]) -> None:
        [item async for item in items]

    return {
        Capability.GROUPS_CREATE: lambda: client.groups.create("X"),
        Capability.GROUPS_UPDATE: lambda: client.groups.update("1", name="Y"),
        Capability.GROUPS_DELETE: lambda: client.groups.delete("1"),
        Capability.USERS_GET: lambda: client.users.get("1"),
        Capability.USERS_LIST: lambda: drain(client.users.list()),
        Capability.USERS_CREATE: lambda: client.users.create(email="a@example.com"),
        Capability.USERS_UPDATE: lambda: client.users.update("1", first_name="A"),
        Capability.USERS_DELETE: lambda: client.users.delete("1"),
        Capability.MEMBERS_LIST: lambda: drain(client.members.list("1")),
        Capability.MEMBERS_ADD: lambda: client.members.add("1", ["k"]),
        Capability.MEMBERS_REMOVE: lambda: client.members.remove("1", ["k"]),
    }


async def test_every_missing_capability_is_refused_before_any_request(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """Each capability the backend lacks raises UnsupportedOperationError, unsent."""
    calls = _gated_calls(client)
    assert set(calls) >= set(CAPABILITY_PROTOCOLS) - {
        Capability.MEMBERS_ADD_MANY,
        Capability.MEMBERS_REMOVE_MANY,
    }
    missing = [c for c in calls if c not in client.capabilities]
    for capability in missing:
        with pytest.raises(ag.UnsupportedOperationError, match=capability.name):
            await calls[capability]()
    assert emulator.requests == []


def test_declared_capabilities_match_the_session(client: ag.Client) -> None:
    """What the backend declares is exactly what its session implements."""
    for protocol in set(CAPABILITY_PROTOCOLS.values()):
        wanted = {c for c, p in CAPABILITY_PROTOCOLS.items() if p is protocol}
        declared = bool(wanted & client.capabilities)
        assert declared == isinstance(client.session, protocol), protocol


def test_a_backend_is_immutable_configuration(emulator: Emulator[Any]) -> None:
    """A backend holds no per-Client state: equal before and after Clients use it."""
    backend = _backend(emulator)
    with pytest.raises((AttributeError, TypeError)):
        backend.max_batch = 1  # type: ignore[misc]


async def test_unknown_extra_fields_are_refused_before_any_request(
    client: ag.Client, emulator: Emulator[Any]
) -> None:
    """A field the backend does not know is an InvalidInputError naming it, unsent."""
    if Capability.GROUPS_CREATE in client.capabilities:
        with pytest.raises(ag.InvalidInputError, match="colour"):
            await client.groups.create("Painted", extra={"colour": "red"})
        with pytest.raises(ag.InvalidInputError, match="description"):
            await client.groups.create("Dup", extra={"description": "x"})
    if Capability.USERS_CREATE in client.capabilities:
        with pytest.raises(ag.InvalidInputError, match="shoe_size"):
            await client.users.create(email="a@example.com", extra={"shoe_size": 9})
    assert emulator.requests == []


class _Declares:
    """A backend whose declared capabilities and session disagree."""

    name = "liar"
    max_batch = 10

    def __init__(self, capabilities: frozenset[Capability], session: object) -> None:
        self.capabilities = capabilities
        self._session = session

    def open(self, transport: AsyncTransport) -> Any:
        return self._session


class _ReadOnlySession:
    async def get_group(self, group_id: str) -> ag.Group:
        return ag.Group(group_id, "g")

    async def iter_groups(self, query: str | None = None) -> AsyncIterator[ag.Group]:
        yield ag.Group("1", "g")

    async def iter_members(self, group_id: str) -> AsyncIterator[ag.Member]:
        return
        yield

    def check_group_id(self, group_id: str) -> None:
        pass

    async def aclose(self) -> None:
        pass


class _AddingSession(_ReadOnlySession):
    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        pass


@pytest.mark.parametrize(
    ("declared", "session", "names"),
    [
        (
            frozenset({Capability.MEMBERS_ADD}),
            _ReadOnlySession(),
            ("MEMBERS_ADD", "MemberAdder"),
        ),
        (frozenset(), _AddingSession(), ("MemberAdder", "MEMBERS_ADD")),
        (frozenset(), object(), ("BackendSession",)),
    ],
    ids=["declared-not-implemented", "implemented-not-declared", "not-a-session"],
)
async def test_a_disagreeing_backend_is_refused_at_open(
    declared: frozenset[Capability],
    session: object,
    names: tuple[str, ...],
) -> None:
    """The Client checks once, at open, that capabilities and Protocols agree."""
    inner = Counting(_Refusing())
    with pytest.raises(ag.ConfigurationError) as caught:
        ag.Client(_Declares(declared, session), transport=inner)
    for name in names:
        assert name in str(caught.value)
    assert inner.sent == []


class _Refusing:
    async def send(self, request: Request) -> Response:
        raise AssertionError("nothing may be sent")

    async def aclose(self) -> None:
        pass
