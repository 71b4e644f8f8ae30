"""The Microsoft Graph emulator's in-memory state: users, groups, tokens, a clock.

Separate from the HTTP app (`graph`) so tests seed and inspect it directly.
Ids are GUID strings drawn from a seeded generator; tokens expire on the store's
own clock, which only moves when a test calls `GraphStore.advance`.
"""

import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from attrs import define, field

__all__ = ["GraphGroup", "GraphStore", "GraphUser", "SubFault"]


@define
class GraphUser:
    """A user object."""

    id: str
    display_name: str
    mail: str | None
    given_name: str | None = None
    surname: str | None = None

    def render(self) -> dict[str, Any]:
        """The user as Graph's JSON."""
        return {
            "@odata.type": "#microsoft.graph.user",
            "id": self.id,
            "displayName": self.display_name,
            "mail": self.mail,
            "givenName": self.given_name,
            "surname": self.surname,
            "userPrincipalName": self.mail,
        }


@define
class GraphGroup:
    """A group object; ``members`` keeps insertion order (user ids)."""

    id: str
    display_name: str
    mail_nickname: str
    description: str | None = None
    mail_enabled: bool = False
    security_enabled: bool = True
    group_types: list[str] = field(factory=list)
    visibility: str | None = None
    members: dict[str, None] = field(factory=dict)

    def render(self) -> dict[str, Any]:
        """The group as Graph's JSON."""
        return {
            "id": self.id,
            "displayName": self.display_name,
            "description": self.description,
            "mailNickname": self.mail_nickname,
            "mailEnabled": self.mail_enabled,
            "securityEnabled": self.security_enabled,
            "groupTypes": list(self.group_types),
            "visibility": self.visibility,
        }


@define
class SubFault:
    """A scripted answer to sub-requests inside ``$batch`` (see ``fail_subrequest``)."""

    status: int
    retry_after: float | None = None
    times: int | None = 1
    match: Callable[[str, str], bool] | None = None
    fired: int = 0


@define
class GraphStore:
    """Everything the Graph emulator holds.

    Attributes:
        tenant_id: the one tenant the token endpoint knows.
        client_id: the application id it accepts.
        client_secret: the application's secret.
        now: the store's clock (seconds); tokens expire on it.
        token_lifetime: ``expires_in`` of every token issued.
        tokens: access token -> expiry on `now`'s scale.
        token_requests: successful token requests served.
        sub_faults: scripted sub-request answers, first match wins.
    """

    rng: random.Random
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = ""
    now: float = 0.0
    token_lifetime: int = 3599
    users: dict[str, GraphUser] = field(factory=dict)
    groups: dict[str, GraphGroup] = field(factory=dict)
    tokens: dict[str, float] = field(factory=dict)
    token_requests: int = 0
    sub_faults: list[SubFault] = field(factory=list)

    def new_id(self) -> str:
        """A fresh GUID (seeded)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def mint_token(self) -> str:
        """Issue an access token valid for `token_lifetime` from `now`."""
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0." + "".join(
            self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(40)
        )
        self.tokens[token] = self.now + self.token_lifetime
        return token

    def advance(self, seconds: float) -> None:
        """Move the store's clock: tokens past their lifetime stop working."""
        self.now += seconds

    def expire_tokens(self) -> None:
        """Move the clock past the lifetime of every token issued so far."""
        self.now = max([self.now, *self.tokens.values()]) + 1

    def add_user(
        self,
        display_name: str,
        mail: str | None = None,
        given_name: str | None = None,
        surname: str | None = None,
    ) -> GraphUser:
        """Create a user directly."""
        user = GraphUser(self.new_id(), display_name, mail, given_name, surname)
        self.users[user.id] = user
        return user

    def seed_users(self, count: int) -> list[str]:
        """Create ``count`` users; return their object ids (the member keys)."""
        start = len(self.users)
        return [
            self.add_user(f"User {n}", f"user{n}@example.com", "User", str(n)).id
            for n in range(start, start + count)
        ]

    def seed_group(
        self, name: str, members: Iterable[str] = (), description: str | None = None
    ) -> str:
        """Create a security group directly; return its id."""
        gid = self.new_id()
        self.groups[gid] = GraphGroup(
            gid,
            name,
            mail_nickname=f"{''.join(c for c in name if c.isalnum()) or 'g'}-{gid[:8]}",
            description=description,
            members=dict.fromkeys(members),
        )
        return gid

    def group_ids(self) -> list[str]:
        """Every group's id."""
        return list(self.groups)

    def members(self, group_id: str) -> frozenset[str]:
        """A group's member keys (user object ids)."""
        return frozenset(self.groups[group_id].members)

    def fail_subrequest(
        self,
        status: int = 429,
        *,
        retry_after: float | None = None,
        times: int | None = 1,
        match: Callable[[str, str], bool] | None = None,
    ) -> SubFault:
        """Answer matching sub-requests inside ``$batch`` with ``status``.

        Args:
            status: the sub-response status (429, 503, ...).
            retry_after: the sub-response's ``Retry-After`` seconds, if any.
            times: how many sub-requests it answers; ``None`` is every one.
            match: ``match(method, url)`` picks sub-requests; ``None`` is any.
        """
        fault = SubFault(status, retry_after, times, match)
        self.sub_faults.append(fault)
        return fault

    def sub_fault(self, method: str, url: str) -> SubFault | None:
        """The scripted answer for a sub-request, if one applies (and count it)."""
        for fault in self.sub_faults:
            if fault.times is not None and fault.fired >= fault.times:
                continue
            if fault.match is not None and not fault.match(method, url):
                continue
            fault.fired += 1
            return fault
        return None
