"""The Snip emulator's in-memory state: accounts, groups, memberships and tokens.

Separate from the HTTP app (`asyncgroups.testing.emulators.snip`) so tests can
seed and inspect it directly; it writes Snip's wire JSON by hand and never imports
the client's ``sansio``/``wire`` modules.
"""

import math
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from attrs import define, field

__all__ = ["ROLES", "SnipGroup", "SnipStore", "SnipUser", "timestamp"]

ROLES = ("owner", "moderator", "member")


def timestamp(seconds: float) -> str:
    """A time as Snip writes it, in whole seconds: ``2025-09-29T11:16:08.000Z``."""
    moment = datetime.fromtimestamp(math.floor(seconds), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@define
class SnipUser:
    """A Snip account."""

    id: int
    email: str
    credential_id: int


@define
class SnipGroup:
    """A group: members map user ids to ``(role, joined_at)``."""

    id: int
    name: str
    description: str | None
    created: float
    last_updated: float
    members: dict[int, tuple[str, float]] = field(factory=dict)


@define
class SnipStore:
    """The emulator's state; seed and inspect it directly."""

    rng: random.Random
    clock: Callable[[], float] = time.time
    max_remove: int = 500
    users: dict[int, SnipUser] = field(factory=dict)
    groups: dict[int, SnipGroup] = field(factory=dict)
    tokens: dict[str, tuple[int, str]] = field(factory=dict, repr=False)
    owner_id: int = 0
    merged_paths: list[str] = field(factory=list)
    _next_user: int = 1
    _next_group: int = 1

    def add_user(self, email: str | None = None) -> SnipUser:
        """Create one account (``userN@example.org`` unless given)."""
        uid = self._next_user
        self._next_user += 1
        user = SnipUser(uid, email or f"user{uid}@example.org", credential_id=uid)
        self.users[uid] = user
        return user

    def seed_users(self, count: int) -> list[str]:
        """Create ``count`` accounts; return their user ids (member keys)."""
        return [str(self.add_user().id) for _ in range(count)]

    def seed_group(self, name: str, members: Iterable[str] = ()) -> str:
        """Create a group owned by `owner_id`, with ``members`` as members."""
        group = self.new_group(name, self.owner_id)
        for key in members:
            self.set_role(str(group.id), key, "member")
        return str(group.id)

    def new_group(self, name: str, owner: int) -> SnipGroup:
        """Create a group whose only member is ``owner`` (as ``POST`` does)."""
        now = self._now()
        gid = self._next_group
        self._next_group += 1
        group = SnipGroup(gid, name, None, now, now, {owner: ("owner", now)})
        self.groups[gid] = group
        return group

    def group_ids(self) -> list[str]:
        """Ids of every group, as the client reports them."""
        return [str(g) for g in self.groups]

    def group(self, group_id: str | int) -> SnipGroup:
        """The group record (``KeyError`` if there is none)."""
        return self.groups[int(group_id)]

    def members(self, group_id: str | int) -> frozenset[str]:
        """User ids of every member, the owner included."""
        return frozenset(str(u) for u in self.group(group_id).members)

    def roles(self, group_id: str | int) -> dict[str, str]:
        """User id -> role in the group."""
        return {str(u): r for u, (r, _) in self.group(group_id).members.items()}

    def set_role(self, group_id: str | int, user_id: str | int, role: str) -> None:
        """Make ``user_id`` a member of the group with ``role`` (no rules applied)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        uid = int(user_id)
        if uid not in self.users:
            raise KeyError(f"no user {uid}")
        group = self.group(group_id)
        joined = group.members.get(uid, (role, self._now()))[1]
        group.members[uid] = (role, joined)

    def mint_token(self, user_id: str | int, kind: str = "account") -> str:
        """A new token for the user: ``"account"`` or ``"book"`` (192 hex chars)."""
        if kind not in ("account", "book"):
            raise ValueError("kind must be 'account' or 'book'")
        if int(user_id) not in self.users:
            raise KeyError(f"no user {user_id}")
        token = self.rng.randbytes(96).hex()
        self.tokens[token] = (int(user_id), kind)
        return token

    def touch(self, group: SnipGroup) -> None:
        """Advance ``last_updated`` visibly, even for two PATCHes in one second.

        Timestamps show whole seconds, so it moves to the next second at least.
        """
        group.last_updated = max(self._now(), math.floor(group.last_updated) + 1.0)

    def _now(self) -> float:
        return self.clock()

    def render(self, group: SnipGroup, caller: int) -> dict[str, Any]:
        """A group's wire JSON as seen by ``caller``."""
        return {
            "id": group.id,
            "name": group.name,
            "description": group.description,
            "created": timestamp(group.created),
            "last_updated": timestamp(group.last_updated),
            "members": [
                self._render_member(group, uid, role, joined, caller)
                for uid, (role, joined) in group.members.items()
            ],
        }

    def _render_member(
        self, group: SnipGroup, uid: int, role: str, joined: float, caller: int
    ) -> dict[str, Any]:
        user = self.users[uid]
        return {
            "user_id": uid,
            "group_id": group.id,
            "role": role,
            "joined_at": timestamp(joined),
            "primary_credential_id": user.credential_id,
            "emails": [user.email],
            "emails_verified": [True],
            "credential_ids": [user.credential_id],
            "credential_types": ["password"],
            "group_name": group.name,
            "group_description": group.description,
            "self": uid == caller,
        }
