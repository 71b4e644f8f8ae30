"""The plan a sync makes: `SyncPlan` and its per-group `GroupPlan`.

Frozen values: what to create, add and remove per group, what the backend cannot
do, which keys are unknown, and the observed fingerprint ``apply`` checks for
drift. ``str(plan)`` is a readable diff; ``to_json``/``from_json`` round-trip it.
Pure; no I/O.
"""

import json
import operator
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal

from attrs import field, frozen

from asyncgroups.errors import InvalidInputError
from asyncgroups.tabular import parse_json

__all__ = ["By", "GroupPlan", "SyncPlan"]

#: How desired groups are addressed: by name, or by id.
By = Literal["name", "id"]


def key_tuple(value: Iterable[str]) -> tuple[str, ...]:
    """The keys sorted, each once (a plan read from JSON may repeat one).

    A tuple already in strictly ascending order is returned as it is: one pass,
    where sorting 100,000 keys again took ~50 ms (a bulk sync's desired keys and
    its additions, one sort each, were two thirds of its `plan_sync`).
    """
    if isinstance(value, tuple) and all(map(operator.lt, value, value[1:])):
        return value
    if not isinstance(value, set | frozenset):
        value = set(value)
    return tuple(sorted(value))


#: The one empty mapping every plan without reasons shares (most groups): a
#: mapping per group and field was 20,000 more objects for the collector to
#: sweep at 10,000 groups.
_NONE: Mapping[str, str] = MappingProxyType({})


def _reasons(value: Mapping[str, str]) -> Mapping[str, str]:
    if not value:
        return _NONE
    return MappingProxyType(dict(sorted(value.items())))


def _groups(value: Iterable["GroupPlan"]) -> tuple["GroupPlan", ...]:
    return tuple(value)


@frozen
class GroupPlan:
    """What a sync will do to one group.

    Attributes:
        key: the group as the desired state names it (a name, or an id).
        group_id: the resolved id; ``None`` when the group is to be created or missing.
        create: whether the group is to be created.
        desired: the desired member keys.
        to_add: keys to add.
        to_remove: keys to remove.
        unsupported: key -> why the backend cannot make that change.
        unknown: key -> why the key is not added (not a known user, or a source
            key the ``key_map`` does not translate).
        observed_count: how many members were observed.
        fingerprint: a digest of the observed members (drift detection).
        complete: whether the members listing was read to the end.
        note: why the group cannot be synced, or why its listing is incomplete.
    """

    key: str
    group_id: str | None
    create: bool = False
    desired: tuple[str, ...] = field(default=(), converter=key_tuple)
    to_add: tuple[str, ...] = field(default=(), converter=key_tuple)
    to_remove: tuple[str, ...] = field(default=(), converter=key_tuple)
    unsupported: Mapping[str, str] = field(factory=dict, converter=_reasons)
    unknown: Mapping[str, str] = field(factory=dict, converter=_reasons)
    observed_count: int = 0
    fingerprint: str = ""
    complete: bool = True
    note: str | None = None

    @property
    def operations(self) -> int:
        """Writes this group needs: a creation plus one per key added or removed."""
        return int(self.create) + len(self.to_add) + len(self.to_remove)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "key": self.key,
            "group_id": self.group_id,
            "create": self.create,
            "desired": list(self.desired),
            "to_add": list(self.to_add),
            "to_remove": list(self.to_remove),
            "unsupported": dict(self.unsupported),
            "unknown": dict(self.unknown),
            "observed_count": self.observed_count,
            "fingerprint": self.fingerprint,
            "complete": self.complete,
            "note": self.note,
        }


@frozen
class SyncPlan:
    """A reviewable diff between desired and observed membership.

    Attributes:
        groups: one [`GroupPlan`][asyncgroups.sync.GroupPlan] per desired group, in the
            desired order.
        backend: registry name of the backend planned against.
        prune: whether members not desired are removed.
        create_groups: whether missing groups are created.
        by: whether groups are named by ``"name"`` or ``"id"``.
    """

    groups: tuple[GroupPlan, ...] = field(factory=tuple, converter=_groups)
    backend: str = ""
    prune: bool = False
    create_groups: bool = False
    by: By = "name"

    @property
    def operations(self) -> int:
        """Writes the plan needs (creations, additions and removals)."""
        return sum(g.operations for g in self.groups)

    @property
    def empty(self) -> bool:
        """Whether applying the plan would send no write."""
        return self.operations == 0

    def desired(self) -> dict[str, frozenset[str]]:
        """The desired state the plan was made from (for re-planning)."""
        return {g.key: frozenset(g.desired) for g in self.groups}

    def to_json(self, *, indent: int | None = None) -> str:
        """Serialise the plan (reviewed now, applied later)."""
        data = {
            "version": 1,
            "backend": self.backend,
            "prune": self.prune,
            "create_groups": self.create_groups,
            "by": self.by,
            "groups": [g.to_dict() for g in self.groups],
        }
        return json.dumps(data, indent=indent, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "plan") -> "SyncPlan":
        """Load a plan written by [`to_json`][asyncgroups.sync.SyncPlan.to_json].

        Args:
            text: the JSON text.
            source: where it came from (a file name), for messages.

        Raises:
            InvalidInputError: the text is not a serialised plan, or exceeds the
                JSON limits of `asyncgroups.tabular.parse_json`.
        """
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidInputError(f"{source}: not UTF-8 JSON") from None
        data = parse_json(source, text)
        try:
            version, by = data.get("version"), data.get("by")
            plan = cls(
                groups=[GroupPlan(**g) for g in data["groups"]],
                backend=str(data["backend"]),
                prune=bool(data["prune"]),
                create_groups=bool(data["create_groups"]),
                by=by,
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidInputError(
                f"{source}: not a serialised sync plan: {exc}"
            ) from None
        if version != 1 or by not in ("name", "id"):
            raise InvalidInputError(f"{source}: not a version 1 sync plan")
        return plan

    def __str__(self) -> str:
        lines: list[str] = []
        for g in self.groups:
            where = "to be created" if g.create else g.group_id or "missing"
            head = f"{g.key} ({where}): {g.observed_count} observed"
            lines.append(head + ("" if g.complete else ", listing INCOMPLETE"))
            if g.note:
                lines.append(f"  # {g.note}")
            lines.extend(f"  + {k}" for k in g.to_add)
            lines.extend(f"  - {k}" for k in g.to_remove)
            lines.extend(f"  ! {k} ({why})" for k, why in g.unsupported.items())
            lines.extend(f"  ? {k} ({why})" for k, why in g.unknown.items())
        creates = sum(g.create for g in self.groups)
        adds = sum(len(g.to_add) for g in self.groups)
        removes = sum(len(g.to_remove) for g in self.groups)
        unsupported = sum(len(g.unsupported) for g in self.groups)
        unknown = sum(len(g.unknown) for g in self.groups)
        groups = "1 group" if len(self.groups) == 1 else f"{len(self.groups)} groups"
        operations = (
            "1 operation" if self.operations == 1 else f"{self.operations} operations"
        )
        lines.append(
            f"{groups}: {creates} to create, {adds} to add, "
            f"{removes} to remove, {unsupported} unsupported, {unknown} unknown "
            f"({operations})"
        )
        return "\n".join(lines)
