"""The Okta emulator's in-memory state: users, typed groups, rate-limit budgets.

Separate from the HTTP app (`okta`) so tests seed and inspect it directly.
Ids look like Okta's (``00g`` groups, ``00u`` users, 20 characters) and come from
a seeded generator. Each endpoint family has its own budget of requests per
window, counted on a wall clock (epoch seconds) the store is given.
"""

import math
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from attrs import define, field

__all__ = [
    "DEFAULT_LIMITS",
    "FAMILIES",
    "Budget",
    "OktaGroup",
    "OktaStore",
    "OktaUser",
]

#: Endpoint families with their own budget, as `OktaStore.family` names them.
FAMILIES = ("groups", "group", "members", "users")
#: Requests per window of each family (Okta's published defaults are per minute).
DEFAULT_LIMITS: Mapping[str, int] = {
    "groups": 500,
    "group": 1000,
    "members": 1000,
    "users": 600,
}
_STAMP = "2026-01-01T00:00:00.000Z"
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@define
class OktaUser:
    """A user; ``login`` is its e-mail unless said otherwise."""

    id: str
    login: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    status: str = "ACTIVE"

    def render(self, base: str) -> dict[str, Any]:
        """The user as Okta's JSON."""
        return {
            "id": self.id,
            "status": self.status,
            "created": _STAMP,
            "activated": _STAMP,
            "statusChanged": _STAMP,
            "lastLogin": None,
            "lastUpdated": _STAMP,
            "passwordChanged": None,
            "type": {"id": "oty1a2b3c4d5e6f7g8h9"},
            "profile": {
                "firstName": self.first_name,
                "lastName": self.last_name,
                "mobilePhone": None,
                "secondEmail": None,
                "login": self.login,
                "email": self.email,
            },
            "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": f"{base}/api/v1/users/{self.id}"}},
        }


@define
class OktaGroup:
    """A group; ``members`` keeps insertion order (user ids)."""

    id: str
    name: str
    description: str | None = None
    type: str = "OKTA_GROUP"
    members: dict[str, None] = field(factory=dict)

    def render(self, base: str) -> dict[str, Any]:
        """The group as Okta's JSON."""
        kind = "okta:user_group" if self.type != "APP_GROUP" else "okta:app_group"
        href = f"{base}/api/v1/groups/{self.id}"
        return {
            "id": self.id,
            "created": _STAMP,
            "lastUpdated": _STAMP,
            "lastMembershipUpdated": _STAMP,
            "objectClass": [kind],
            "type": self.type,
            "profile": {"name": self.name, "description": self.description},
            "_links": {
                "users": {"href": f"{href}/users"},
                "apps": {"href": f"{href}/apps"},
            },
        }


@define
class Budget:
    """One family's fixed window: ``limit`` requests per ``window`` seconds."""

    limit: int
    window: float
    start: float = 0.0
    used: int = 0

    def take(self, now: float) -> bool:
        """Spend one request now; whether the window had one left."""
        start = math.floor(now / self.window) * self.window
        if start != self.start:
            self.start, self.used = start, 0
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def headers(self) -> dict[str, str]:
        """``X-Rate-Limit-Limit``/``-Remaining``/``-Reset`` (reset: epoch seconds)."""
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(max(0, self.limit - self.used)),
            "X-Rate-Limit-Reset": str(math.ceil(self.start + self.window)),
        }


@define
class OktaStore:
    """Everything the Okta emulator holds.

    Attributes:
        api_token: the one token the emulator accepts.
        budgets: each endpoint family's request budget.
        clock: wall-clock seconds (epoch) the budgets count on.
        rate_limited: requests answered 429 by a budget, per family.
    """

    rng: random.Random
    api_token: str = ""
    users: dict[str, OktaUser] = field(factory=dict)
    groups: dict[str, OktaGroup] = field(factory=dict)
    budgets: dict[str, Budget] = field(factory=dict)
    clock: Callable[[], float] = time.time
    rate_limited: dict[str, int] = field(factory=dict)

    def new_id(self, prefix: str) -> str:
        """A fresh Okta-looking id (seeded)."""
        return prefix + "".join(self.rng.choice(_ALPHABET) for _ in range(17))

    def set_limits(self, limits: Mapping[str, int], window: float = 60.0) -> None:
        """Give families new budgets of ``limits[family]`` requests per ``window``."""
        for family, limit in limits.items():
            if family not in FAMILIES:
                raise KeyError(f"unknown family {family!r}; known: {FAMILIES}")
            self.budgets[family] = Budget(limit, window)

    def spend(self, family: str) -> tuple[bool, dict[str, str]]:
        """Spend one request of ``family``'s budget: (allowed, headers to send)."""
        budget = self.budgets[family]
        allowed = budget.take(self.clock())
        if not allowed:
            self.rate_limited[family] = self.rate_limited.get(family, 0) + 1
        return allowed, budget.headers()

    def add_user(
        self,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        *,
        login: str | None = None,
    ) -> OktaUser:
        """Create a user directly."""
        user = OktaUser(
            self.new_id("00u"), login or email, email, first_name, last_name
        )
        self.users[user.id] = user
        return user

    def find_user(self, id_or_login: str) -> OktaUser | None:
        """A user by id or by login (case-insensitive), as ``GET /users/{x}``."""
        user = self.users.get(id_or_login)
        if user is not None:
            return user
        wanted = id_or_login.lower()
        return next((u for u in self.users.values() if u.login.lower() == wanted), None)

    def seed_users(self, count: int) -> list[str]:
        """Create ``count`` users; return their ids (the member keys)."""
        start = len(self.users)
        return [
            self.add_user(f"user{n}@example.com", "User", str(n)).id
            for n in range(start, start + count)
        ]

    def seed_group(
        self,
        name: str,
        members: Iterable[str] = (),
        description: str | None = None,
        *,
        type: str = "OKTA_GROUP",
    ) -> str:
        """Create a group directly (``type``: ``OKTA_GROUP``, ``APP_GROUP``, ``BUILT_IN``)."""
        gid = self.new_id("00g")
        self.groups[gid] = OktaGroup(
            gid, name, description, type, members=dict.fromkeys(members)
        )
        return gid

    def group_ids(self) -> list[str]:
        """Every group's id."""
        return list(self.groups)

    def members(self, group_id: str) -> frozenset[str]:
        """A group's member keys (user ids)."""
        return frozenset(self.groups[group_id].members)
