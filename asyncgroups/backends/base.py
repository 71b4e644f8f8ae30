"""The backend contract: the ``GroupBackend`` Protocol and the ``Capability`` enum.

A backend knows one API, not sockets: paths, params, pagination, batch limits, error
bodies and its converter. It answers for one request's worth of work; the Client owns
argument checks, capability checks, batching and isolation of bad items.
"""

import enum
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, runtime_checkable

from asyncgroups.models import Group, Member, User
from asyncgroups.transport.base import AsyncTransport

__all__ = ["Capability", "GroupBackend"]


class Capability(enum.Enum):
    """What a backend can do beyond reading groups.

    The Client raises ``UnsupportedOperationError`` before any request for an
    operation whose capability the backend does not declare.
    """

    GROUPS_CREATE = "groups.create"
    GROUPS_UPDATE = "groups.update"
    GROUPS_DELETE = "groups.delete"
    USERS_GET = "users.get"
    USERS_LIST = "users.list"
    USERS_CREATE = "users.create"
    USERS_UPDATE = "users.update"
    USERS_DELETE = "users.delete"
    MEMBERS_LIST = "members.list"
    MEMBERS_ADD = "members.add"
    MEMBERS_REMOVE = "members.remove"
    #: One add request serves several groups.
    MEMBERS_ADD_MANY = "members.add_many"
    #: One remove request serves several groups.
    MEMBERS_REMOVE_MANY = "members.remove_many"
    ROLES = "roles"
    TEST_MODE = "test_mode"


@runtime_checkable
class GroupBackend(Protocol):
    """What every backend provides. Built-in and third-party backends alike."""

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

    def bind(self, transport: AsyncTransport) -> None:
        """Receive the Client's transport stack."""
        ...

    async def create_group(self, name: str, **fields: Any) -> Group:
        """Create a group."""
        ...

    async def get_group(self, group_id: str) -> Group:
        """Fetch one group."""
        ...

    async def update_group(self, group_id: str, **fields: Any) -> Group:
        """Change a group's fields."""
        ...

    async def delete_group(self, group_id: str) -> None:
        """Delete a group."""
        ...

    def iter_groups(self, query: str | None = None) -> AsyncIterator[Group]:
        """Iterate over groups, page by page."""
        ...

    async def create_user(self, **fields: Any) -> User:
        """Create a user."""
        ...

    async def get_user(self, user_id: str) -> User:
        """Fetch one user."""
        ...

    async def update_user(self, user_id: str, **fields: Any) -> User:
        """Change a user's fields."""
        ...

    async def delete_user(self, user_id: str) -> None:
        """Delete a user."""
        ...

    def iter_users(self, query: str | None = None) -> AsyncIterator[User]:
        """Iterate over users, page by page."""
        ...

    def iter_members(self, group_id: str) -> AsyncIterator[Member]:
        """Iterate over a group's members, page by page."""
        ...

    async def add_members(self, group_ids: Sequence[str], keys: Sequence[str]) -> None:
        """Add ``keys`` to every group in ``group_ids``: one request's worth."""
        ...

    async def remove_members(
        self, group_ids: Sequence[str], keys: Sequence[str]
    ) -> None:
        """Remove ``keys`` from every group in ``group_ids``: one request's worth."""
        ...
