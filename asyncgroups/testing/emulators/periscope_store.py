"""The Periscope emulator's in-memory state: sites, each with its key, users, groups.

Kept apart from the HTTP app (scim2-server's backend/app split) so tests can seed
and inspect state directly. Names and e-mails are matched case-insensitively;
``Everyone`` and ``Administrators`` exist on every site and cannot be deleted or
renamed; every user is implicitly in ``Everyone``. Every user ``PUT`` the server
receives is kept in `Site.puts` with the groups before and after.
"""

import random
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from attrs import define, field, frozen

__all__ = [
    "ADMINISTRATORS",
    "BUILTIN_GROUPS",
    "EVERYONE",
    "PeriscopeStore",
    "PutRecord",
    "Site",
    "now",
]

EVERYONE = "Everyone"
ADMINISTRATORS = "Administrators"
BUILTIN_GROUPS = (EVERYONE, ADMINISTRATORS)


def valid_email(value: str) -> bool:
    """The API's loose e-mail rule, checked in linear time (no backtracking)."""
    name, at, domain = value.partition("@")
    return (
        bool(name and at and domain)
        and "@" not in domain
        and "." in domain[1:-1]
        and not any(c.isspace() for c in value)
    )


def now() -> str:
    """The current time as the API would write it (ISO 8601 UTC, ``Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@frozen
class PutRecord:
    """One ``PUT /api/v1/users`` the server received.

    Attributes:
        site: the site it was sent to.
        email: the user addressed.
        body: the JSON body as sent.
        before: the user's groups before (``Everyone`` excluded).
        after: the user's groups after (what it would be, in test mode).
        test_mode: whether it was sent in test mode (nothing persisted).
    """

    site: str
    email: str
    body: Any
    before: tuple[str, ...]
    after: tuple[str, ...]
    test_mode: bool = False

    @property
    def removed(self) -> frozenset[str]:
        """Groups this PUT took the user out of (case-folded)."""
        return frozenset(g.casefold() for g in self.before) - frozenset(
            g.casefold() for g in self.after
        )


@define
class Site:
    """One Periscope site: its key, users and groups.

    Users are records ``{"email", "first_name", "last_name", "groups",
    "invited_by_email", "created_at"}`` keyed by case-folded e-mail (``groups``
    excludes the implicit ``Everyone``); groups are ``{"name", "access",
    "created_by_email", "created_at"}`` keyed by case-folded name.
    """

    name: str
    key: str = field(repr=False)
    default_access: str = "View"
    users: dict[str, dict[str, Any]] = field(factory=dict, repr=False)
    groups: dict[str, dict[str, Any]] = field(factory=dict, repr=False)
    puts: list[PutRecord] = field(factory=list, repr=False)
    _seeded: int = 0

    def __attrs_post_init__(self) -> None:
        for name in BUILTIN_GROUPS:
            self.groups[name.casefold()] = {
                "name": name,
                "access": "Admin" if name == ADMINISTRATORS else self.default_access,
                "created_by_email": None,
                "created_at": now(),
            }

    # -- lookups -------------------------------------------------------------------

    def user(self, email: str) -> dict[str, Any] | None:
        """The user record for ``email`` (case-insensitive), if any."""
        return self.users.get(email.casefold())

    def group(self, name: str) -> dict[str, Any] | None:
        """The group record for ``name`` (case-insensitive), if any."""
        return self.groups.get(name.casefold())

    @staticmethod
    def is_builtin(name: str) -> bool:
        """Whether ``name`` is a built-in group."""
        return name.casefold() in {b.casefold() for b in BUILTIN_GROUPS}

    def canonical_groups(self, names: Iterable[str]) -> list[str] | str:
        """Group names as stored (``Everyone`` dropped), or the first unknown name."""
        out: list[str] = []
        for name in names:
            record = self.group(name)
            if record is None:
                return name
            if record["name"] != EVERYONE and record["name"] not in out:
                out.append(record["name"])
        return out

    def user_json(self, record: dict[str, Any]) -> dict[str, Any]:
        """A user as the API answers it."""
        return {
            "email": record["email"],
            "first_name": record.get("first_name"),
            "last_name": record.get("last_name"),
            "groups": [EVERYONE, *record["groups"]],
            "invited_by_email": record.get("invited_by_email"),
            "created_at": record["created_at"],
        }

    @staticmethod
    def group_json(record: dict[str, Any]) -> dict[str, Any]:
        """A group as the API answers it."""
        return dict(record)

    # -- mutations (the app calls these only outside test mode) -------------------

    def put_user(self, record: dict[str, Any], old_email: str | None = None) -> None:
        """Store a user record (re-keying it when its e-mail changed)."""
        if old_email is not None:
            self.users.pop(old_email.casefold(), None)
        self.users[record["email"].casefold()] = record

    def rename_group(self, old: str, record: dict[str, Any]) -> None:
        """Store a group record, moving its key and its members when renamed."""
        previous = self.groups.pop(old.casefold())
        self.groups[record["name"].casefold()] = record
        if previous["name"] != record["name"]:
            for user in self.users.values():
                user["groups"] = [
                    record["name"] if g == previous["name"] else g
                    for g in user["groups"]
                ]

    def delete_group(self, name: str) -> None:
        """Delete a group and take it out of every user's list."""
        record = self.groups.pop(name.casefold())
        for user in self.users.values():
            user["groups"] = [g for g in user["groups"] if g != record["name"]]

    # -- the common store contract -------------------------------------------------

    def add_user(
        self,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        groups: Iterable[str] = (),
    ) -> str:
        """Create a user directly; return the e-mail."""
        names = self.canonical_groups(groups)
        if isinstance(names, str):
            raise KeyError(f"unknown group {names!r}")
        self.users[email.casefold()] = {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "groups": names,
            "invited_by_email": None,
            "created_at": now(),
        }
        return email

    def seed_users(self, count: int) -> list[str]:
        """Create ``count`` users; return their e-mails (the member keys)."""
        emails = []
        for _ in range(count):
            self._seeded += 1
            n = self._seeded
            emails.append(self.add_user(f"user{n}@example.com", f"User{n}", "Seeded"))
        return emails

    def seed_group(self, name: str, members: Iterable[str] = ()) -> str:
        """Create a group directly (or reuse a seeded one); return its name."""
        record = self.group(name)
        if record is None:
            record = {
                "name": name,
                "access": self.default_access,
                "created_by_email": None,
                "created_at": now(),
            }
            self.groups[name.casefold()] = record
        for email in members:
            user = self.user(email)
            if user is None:
                raise KeyError(f"unknown user {email!r}")
            if record["name"] != EVERYONE and record["name"] not in user["groups"]:
                user["groups"].append(record["name"])
        return str(record["name"])

    def group_ids(self) -> list[str]:
        """Every group's name (its id), built-ins included."""
        return [g["name"] for g in self.groups.values()]

    def members(self, group_id: str) -> frozenset[str]:
        """E-mails of a group's members (``Everyone``: every user)."""
        record = self.group(group_id)
        if record is None:
            raise KeyError(f"unknown group {group_id!r}")
        if record["name"] == EVERYONE:
            return frozenset(u["email"] for u in self.users.values())
        return frozenset(
            u["email"] for u in self.users.values() if record["name"] in u["groups"]
        )

    def user_groups(self, email: str) -> frozenset[str]:
        """The groups of one user (``Everyone`` included)."""
        user = self.user(email)
        if user is None:
            raise KeyError(f"unknown user {email!r}")
        return frozenset([EVERYONE, *user["groups"]])


@define
class PeriscopeStore:
    """Every emulated site; the common store contract acts on the default site.

    Attributes:
        sites: site name -> `Site`.
        default_site: the site behind the emulator's credentials.
        users_page_size: page users by ``next_page_start`` (``None``: one page).
        admin_email: the administrator seeded on every site.
    """

    rng: random.Random = field(repr=False)
    default_site: str = "acme"
    users_page_size: int | None = None
    default_access: str = "View"
    access_values: frozenset[str] | None = None
    admin_email: str = "admin@example.com"
    sites: dict[str, Site] = field(factory=dict)

    def add_site(self, name: str, key: str | None = None) -> str:
        """Add a site with its administrator; return its API key."""
        if key is None:
            key = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        site = Site(name, key, default_access=self.default_access)
        site.add_user(self.admin_email, "Site", "Admin", groups=[ADMINISTRATORS])
        self.sites[name] = site
        return key

    def site(self, name: str | None = None) -> Site:
        """A site by name (the default site if ``None``)."""
        return self.sites[name or self.default_site]

    @property
    def puts(self) -> list[PutRecord]:
        """Every user PUT the default site received."""
        return self.site().puts

    def seed_users(self, count: int) -> list[str]:
        """Create ``count`` users on the default site; return their e-mails."""
        return self.site().seed_users(count)

    def seed_group(self, name: str, members: Iterable[str] = ()) -> str:
        """Create a group on the default site; return its name (its id)."""
        return self.site().seed_group(name, members)

    def group_ids(self) -> list[str]:
        """Group names on the default site."""
        return self.site().group_ids()

    def members(self, group_id: str) -> frozenset[str]:
        """Member e-mails of a group on the default site."""
        return self.site().members(group_id)
