"""The NeuroIO emulator's in-memory state: spaces, tokens, persons and groups.

Plain mutable holders; the HTTP side lives in `asyncgroups.testing.emulators.neuroio`.
"""

import random
import uuid
from collections.abc import Iterable

from attrs import define, field

__all__ = ["DEFAULT_SPACE", "NeuroIOGroup", "NeuroIOStore"]

DEFAULT_SPACE = 1


@define
class NeuroIOGroup:
    """One person group: an int id, a name, a space and its pids in insertion order."""

    id: int
    name: str
    space_id: int
    pids: dict[str, None] = field(factory=dict, repr=False)


@define
class NeuroIOStore:
    """NeuroIO's state: spaces, tokens, persons (pid -> space) and groups.

    Beyond the common contract (``seed_users``, ``seed_group``, ``group_ids``,
    ``members``) it offers spaces (``space_id=`` on seeding) and token kinds
    (``mint_token``). Options, all changeable at any time:

    Attributes:
        seed: seeds the RNG behind pids and tokens.
        max_page_size: ``limit`` is silently clamped to this (DRF ``max_limit``).
        default_limit: page size when ``limit`` is absent or invalid.
        max_pids: pids one membership request may carry.
        max_groups_ids: group ids one membership request may carry (``None``: any).
        max_group_size: persons one group may hold.
        unique_names: refuse a second group of the same name in a space.
        membership_status: status of a successful membership change.
        membership_body: body of a successful membership change.
    """

    seed: int | None = None
    max_page_size: int = 100
    default_limit: int = 20
    max_pids: int = 100
    max_groups_ids: int | None = None
    max_group_size: int = 100_000
    unique_names: bool = False
    membership_status: int = 200
    membership_body: bytes = b""
    rng: random.Random = field(init=False, repr=False)
    spaces: dict[int, str] = field(factory=lambda: {DEFAULT_SPACE: "default"})
    tokens: dict[str, tuple[str, int]] = field(factory=dict, repr=False)
    persons: dict[str, int] = field(factory=dict, repr=False)
    groups: dict[int, NeuroIOGroup] = field(factory=dict, repr=False)
    next_id: int = 1

    def __attrs_post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # the common store contract

    def seed_users(self, count: int, *, space_id: int = DEFAULT_SPACE) -> list[str]:
        """Create ``count`` persons (UUID4 pids from the seeded RNG); return the pids."""
        pids = [
            str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            for _ in range(count)
        ]
        self.spaces.setdefault(space_id, f"space {space_id}")
        for pid in pids:
            self.persons[pid] = space_id
        return pids

    def seed_group(
        self, name: str, members: Iterable[str] = (), *, space_id: int = DEFAULT_SPACE
    ) -> str:
        """Create a group directly (unknown pids become persons); return its id."""
        self.spaces.setdefault(space_id, f"space {space_id}")
        group = self.create_group(name, space_id)
        for pid in members:
            self.persons.setdefault(pid, space_id)
            group.pids[pid] = None
        return str(group.id)

    def group_ids(self) -> list[str]:
        """Ids of every group, in every space, as strings."""
        return [str(gid) for gid in self.groups]

    def members(self, group_id: str | int) -> frozenset[str]:
        """The pids in a group."""
        return frozenset(self.groups[int(group_id)].pids)

    # NeuroIO specifics

    def mint_token(self, *, space_id: int = DEFAULT_SPACE, kind: str = "space") -> str:
        """A new token: ``kind="account"`` acts in the default space, ``"space"`` in ``space_id``."""
        if kind not in ("space", "account"):
            raise ValueError("kind must be 'space' or 'account'")
        space = DEFAULT_SPACE if kind == "account" else space_id
        self.spaces.setdefault(space, f"space {space}")
        token = f"{self.rng.getrandbits(160):040x}"
        self.tokens[token] = (kind, space)
        return token

    def create_group(self, name: str, space_id: int) -> NeuroIOGroup:
        """Add a group with the next id."""
        group = NeuroIOGroup(self.next_id, name, space_id)
        self.groups[group.id] = group
        self.next_id += 1
        return group

    def memberships(self) -> int:
        """How many (group, pid) pairs exist."""
        return sum(len(g.pids) for g in self.groups.values())
