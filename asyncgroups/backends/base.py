"""The backend contract (v2): configuration, one session per Client, capability Protocols.

A backend ([`GroupBackend`][asyncgroups.backends.base.GroupBackend]) is immutable
configuration: credentials, base URL, limits. It performs no I/O and is safe to share
between Clients. ``open(transport)`` binds it to one Client's transport and returns a
[`BackendSession`][asyncgroups.backends.base.BackendSession], which holds everything
that belongs to that Client (locks, caches, reconciliation memory) and is closed with
it.

Every session answers the base Protocol. What an API can do beyond reading groups
is one Protocol per capability (`GroupCreator`, `MemberAdder`, ...):
a session implements only what its API can do, never a method that exists only to
raise ``UnsupportedOperationError``.
[`CAPABILITY_PROTOCOLS`][asyncgroups.backends.base.CAPABILITY_PROTOCOLS] maps each
capability to the Protocol a session must implement for it; the Client checks, once when
it opens the session, that the two agree
([`check_session`][asyncgroups.backends.base.check_session]).

A session answers for one request's worth of work; the Client owns argument checks,
capability checks, batching and isolation of bad items.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from asyncgroups.capabilities import Capability
from asyncgroups.errors import ConfigurationError
from asyncgroups.models import Group, KeyPage, Member, User
from asyncgroups.transport.base import AsyncTransport

__all__ = [
    "CAPABILITY_PROTOCOLS",
    "BackendSession",
    "Capability",
    "GroupBackend",
    "GroupCreator",
    "GroupDeleter",
    "GroupUpdater",
    "MemberAdder",
    "MemberKeyLister",
    "MemberRemover",
    "UserCreator",
    "UserDeleter",
    "UserLister",
    "UserReader",
    "UserUpdater",
    "check_session",
]


@runtime_checkable
class BackendSession(Protocol):
    """What every session answers: one backend bound to one Client's transport."""

    async def get_group(self, group_id: str) -> Group:
        """Fetch one group."""
        ...

    def iter_groups(self, query: str | None = None) -> AsyncIterator[Group]:
        """Iterate over groups, page by page (an async generator)."""
        ...

    def iter_members(self, group_id: str) -> AsyncIterator[Member]:
        """Iterate over a group's members, page by page (an async generator)."""
        ...

    def check_group_id(self, group_id: str) -> None:
        """Refuse a group id this API can never accept, before any I/O.

        Raises:
            InvalidInputError: the id can never name a group here.
        """
        ...

    async def aclose(self) -> None:
        """Release what the session holds (not the transport: the Client owns it)."""
        ...


@runtime_checkable
class MemberKeyLister(Protocol):
    """Optional, no capability of its own: a cheaper members listing, keys only.

    A session that implements it lets the Client list members without building a
    [`Member`][asyncgroups.models.Member] per member (``client.members.list_keys``,
    what a sync reads). It must yield exactly the members ``iter_members`` would,
    as ``(key, role)`` pairs (``role`` ``None`` where there is none), and validate
    keys as strictly, page by page: each a `KeyPage`
    (the keys, and key -> role for members that have one). Sessions without it
    are listed through ``iter_members``.
    """

    def iter_member_keys(self, group_id: str) -> AsyncIterator[KeyPage]:
        """Iterate over a group's member keys, a page at a time (an async generator)."""
        ...


@runtime_checkable
class GroupBackend(Protocol):
    """A backend: immutable configuration, safe to share between Clients."""

    @property
    def name(self) -> str:
        """The registry name ("neuroio", "snip", ...)."""
        ...

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this backend can do."""
        ...

    @property
    def max_batch(self) -> int:
        """Member keys one request may carry."""
        ...

    def open(self, transport: AsyncTransport) -> BackendSession:
        """Bind to one Client's transport: called once per Client, no I/O."""
        ...


@runtime_checkable
class GroupCreator(Protocol):
    """``Capability.GROUPS_CREATE``."""

    async def create_group(
        self, name: str, *, description: str | None = None, **extra: object
    ) -> Group:
        """Create a group; ``extra`` holds backend-specific fields."""
        ...


@runtime_checkable
class GroupUpdater(Protocol):
    """``Capability.GROUPS_UPDATE``: ``None`` leaves a field as it is."""

    async def update_group(
        self,
        group_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        **extra: object,
    ) -> Group:
        """Change a group's fields."""
        ...


@runtime_checkable
class GroupDeleter(Protocol):
    """``Capability.GROUPS_DELETE``."""

    async def delete_group(self, group_id: str) -> None:
        """Delete a group."""
        ...


@runtime_checkable
class UserReader(Protocol):
    """``Capability.USERS_GET``."""

    async def get_user(self, user_id: str) -> User:
        """Fetch one user."""
        ...


@runtime_checkable
class UserLister(Protocol):
    """``Capability.USERS_LIST``."""

    def iter_users(self, query: str | None = None) -> AsyncIterator[User]:
        """Iterate over users, page by page (an async generator)."""
        ...


@runtime_checkable
class UserCreator(Protocol):
    """``Capability.USERS_CREATE``."""

    async def create_user(
        self,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        **extra: object,
    ) -> User:
        """Create a user; ``extra`` holds backend-specific fields."""
        ...


@runtime_checkable
class UserUpdater(Protocol):
    """``Capability.USERS_UPDATE``: ``None`` leaves a field as it is."""

    async def update_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        **extra: object,
    ) -> User:
        """Change a user's fields."""
        ...


@runtime_checkable
class UserDeleter(Protocol):
    """``Capability.USERS_DELETE``."""

    async def delete_user(self, user_id: str) -> None:
        """Delete a user."""
        ...


@runtime_checkable
class MemberAdder(Protocol):
    """``Capability.MEMBERS_ADD`` (and ``MEMBERS_ADD_MANY`` for several groups)."""

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        """Add ``keys`` to every group in ``group_ids``: one request's worth."""
        ...


@runtime_checkable
class MemberRemover(Protocol):
    """``Capability.MEMBERS_REMOVE`` (and ``MEMBERS_REMOVE_MANY``)."""

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Remove ``keys`` from every group in ``group_ids``: one request's worth."""
        ...


#: The Protocol a session implements for each capability that needs a method.
#: ``MEMBERS_LIST`` is served by the base Protocol's ``iter_members``; ``ROLES`` and
#: ``TEST_MODE`` describe data and modes, not methods.
CAPABILITY_PROTOCOLS: Mapping[Capability, type] = {
    Capability.GROUPS_CREATE: GroupCreator,
    Capability.GROUPS_UPDATE: GroupUpdater,
    Capability.GROUPS_DELETE: GroupDeleter,
    Capability.USERS_GET: UserReader,
    Capability.USERS_LIST: UserLister,
    Capability.USERS_CREATE: UserCreator,
    Capability.USERS_UPDATE: UserUpdater,
    Capability.USERS_DELETE: UserDeleter,
    Capability.MEMBERS_ADD: MemberAdder,
    Capability.MEMBERS_ADD_MANY: MemberAdder,
    Capability.MEMBERS_REMOVE: MemberRemover,
    Capability.MEMBERS_REMOVE_MANY: MemberRemover,
}


def check_session(backend: GroupBackend, session: object) -> None:
    """Check that ``session`` implements exactly what ``backend`` declares.

    A declared capability whose Protocol the session lacks would fail on first
    use; an implemented Protocol whose capability is not declared would never be
    reached. Either is a bug in the backend, reported once, when it is opened.

    Raises:
        ConfigurationError: the session is not a
            [`BackendSession`][asyncgroups.backends.base.BackendSession], or a
            capability and its Protocol disagree (both are named).
    """
    name = getattr(backend, "name", type(backend).__name__)
    if not isinstance(session, BackendSession):
        raise ConfigurationError(
            f"the {name} backend's open() returned {type(session).__name__}, "
            "which does not satisfy the BackendSession protocol"
        )
    declared = backend.capabilities
    problems: list[str] = []
    for capability, protocol in CAPABILITY_PROTOCOLS.items():
        has = isinstance(session, protocol)
        if capability in declared and not has:
            problems.append(
                f"declares {capability.name} but {type(session).__name__} does not "
                f"implement {protocol.__name__}"
            )
    implemented = {
        protocol
        for protocol in CAPABILITY_PROTOCOLS.values()
        if isinstance(session, protocol)
    }
    for protocol in sorted(implemented, key=lambda p: p.__name__):
        wanted = [c for c, p in CAPABILITY_PROTOCOLS.items() if p is protocol]
        if not any(c in declared for c in wanted):
            problems.append(
                f"{type(session).__name__} implements {protocol.__name__} but "
                f"does not declare {' or '.join(c.name for c in wanted)}"
            )
    if problems:
        raise ConfigurationError(
            f"the {name} backend disagrees with its session: " + "; ".join(problems)
        )
