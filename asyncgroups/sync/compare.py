"""The pure half of planning: desired and observed state compared, group by group.

`build_plan` makes a whole `SyncPlan` from listings already read; `plan_sync`
(`asyncgroups.sync.plan`) plans each group with the same rules as soon as its
listing ends. No I/O.
"""

from collections.abc import Iterable, Mapping

from attrs import evolve, frozen

from asyncgroups.capabilities import Capability
from asyncgroups.sync.observe import Observed
from asyncgroups.sync.syncplan import By, GroupPlan, SyncPlan, key_tuple

__all__ = [
    "NO_MAPPING",
    "Rules",
    "absent_group",
    "build_plan",
    "group_plan",
    "known_only",
]

#: Why a source key is in a plan's ``unknown``: the ``key_map`` did not translate it.
NO_MAPPING = "no mapping for source key"

#: What a group nothing was listed of is planned against.
_UNSEEN = Observed()

#: Owners cannot be pruned: removing one would orphan the group (Snip refuses it).
_PROTECTED_ROLES = frozenset({"owner"})


def build_plan(
    desired: Mapping[str, frozenset[str]],
    resolved: Mapping[str, str | None],
    observed: Mapping[str, Observed],
    *,
    capabilities: frozenset[Capability],
    backend: str = "",
    known_users: frozenset[str] | None = None,
    prune: bool = False,
    create_groups: bool = False,
    by: By = "name",
    unmapped: Mapping[str, Iterable[str]] | None = None,
) -> SyncPlan:
    """Compare desired and observed state; pure (no I/O).

    Args:
        desired: group key -> desired member keys.
        resolved: group key -> its id, or ``None`` when it does not exist.
        observed: group id -> its observed members.
        capabilities: what the backend can do.
        backend: the backend's registry name (for messages).
        known_users: every user id and e-mail, when the backend can list users.
        prune: remove members that are not desired.
        create_groups: create desired groups that do not exist.
        by: how desired groups are named.
        unmapped: group key -> source keys the ``key_map`` could not translate;
            listed under the group's ``unknown`` (never added).

    Returns:
        The plan.
    """
    rules = Rules(capabilities, backend, prune)
    plans: list[GroupPlan] = []
    for key, wanted in desired.items():
        gid = resolved.get(key)
        lost = (unmapped or {}).get(key, ())
        if gid is None:
            plans.append(
                absent_group(key, wanted, rules, by, create_groups, lost, known_users)
            )
            continue
        plan = group_plan(key, gid, wanted, observed.get(gid, _UNSEEN), rules, lost)
        plans.append(known_only(plan, known_users, backend))
    return SyncPlan(plans, backend, prune, create_groups, by)


@frozen
class Rules:
    """What a plan may do to every group: the backend's abilities, ``prune``."""

    capabilities: frozenset[Capability]
    backend: str
    prune: bool

    @property
    def can_add(self) -> bool:
        """Whether the backend can add members."""
        return Capability.MEMBERS_ADD in self.capabilities

    @property
    def can_remove(self) -> bool:
        """Whether the backend can remove members."""
        return Capability.MEMBERS_REMOVE in self.capabilities

    @property
    def no_add(self) -> str:
        """Why an addition is unsupported."""
        return f"cannot add: the {self.backend or 'backend'} backend has no MEMBERS_ADD"

    @property
    def no_remove(self) -> str:
        """Why a removal is unsupported."""
        name = self.backend or "backend"
        return f"cannot remove: the {name} backend has no MEMBERS_REMOVE"


def group_plan(
    key: str,
    gid: str,
    wanted: frozenset[str],
    seen: Observed,
    rules: Rules,
    lost: Iterable[str],
) -> GroupPlan:
    """One existing group's plan from its listing (every user taken as known)."""
    additions = seen.absent if seen.absent is not None else wanted - seen.keys
    removals = seen.keys - wanted if rules.prune else frozenset()
    unsupported: dict[str, str] = {}
    if not rules.can_add:
        unsupported.update(dict.fromkeys(additions, rules.no_add))
        additions = frozenset()
    # Only a listing with roles can hold an owner: 0.5 against 6.6 µs a group
    # of 10 removals without roles (best of 5 x 100,000, load 6.9).
    if seen.roles:
        roles = seen.roles
        protected = {k for k in removals if roles.get(k) in _PROTECTED_ROLES}
        unsupported.update(dict.fromkeys(protected, "cannot remove the group's owner"))
        removals -= protected
    if removals and not rules.can_remove:
        unsupported.update(dict.fromkeys(removals, rules.no_remove))
        removals = frozenset()
    ordered = key_tuple(wanted)
    # Every desired key to be added (a group filled from empty): its keys
    # sorted once, not twice.
    every = len(additions) == len(wanted) and additions <= wanted
    return GroupPlan(
        key=key,
        group_id=gid,
        desired=ordered,
        to_add=ordered if every else additions,
        to_remove=removals,
        unsupported=unsupported,
        unknown=dict.fromkeys(lost, NO_MAPPING),
        observed_count=seen.size,
        fingerprint=seen.fingerprint,
        complete=seen.complete,
        note=None if seen.complete else f"listing incomplete: {seen.error}",
    )


def known_only(
    plan: GroupPlan, known_users: frozenset[str] | None, backend: str
) -> GroupPlan:
    """``plan`` adding only keys that are users (``known_users``), when known."""
    if known_users is None or not plan.to_add:
        return plan
    missing = {k for k in plan.to_add if _unknown(k, known_users)}
    if not missing:
        return plan
    return evolve(
        plan,
        to_add=tuple(k for k in plan.to_add if k not in missing),
        unknown={
            **plan.unknown,
            **dict.fromkeys(missing, f"not a user on this {backend}"),
        },
    )


def absent_group(
    key: str,
    wanted: frozenset[str],
    rules: Rules,
    by: By,
    create_groups: bool,
    unmapped: Iterable[str],
    known_users: frozenset[str] | None,
) -> GroupPlan:
    """The plan of a desired group that does not exist."""
    plan = _missing(key, wanted, rules.capabilities, by, create_groups, rules.no_add)
    plan = evolve(plan, unknown={**dict.fromkeys(unmapped, NO_MAPPING), **plan.unknown})
    # A group to be created: its keys must exist as users all the same.
    return known_only(plan, known_users, rules.backend)


def _unknown(key: str, known: frozenset[str]) -> bool:
    return key not in known and key.lower() not in known


def _missing(
    key: str,
    wanted: frozenset[str],
    capabilities: frozenset[Capability],
    by: By,
    create_groups: bool,
    no_add: str,
) -> GroupPlan:
    if by == "id":
        why = "no group has this id"
    elif not create_groups:
        why = "no group has this name (create_groups=False)"
    elif Capability.GROUPS_CREATE not in capabilities:
        why = "no group has this name and the backend cannot create groups"
    elif Capability.MEMBERS_ADD not in capabilities:
        return GroupPlan(
            key,
            None,
            create=True,
            desired=wanted,
            unsupported=dict.fromkeys(wanted, no_add),
        )
    else:
        ordered = key_tuple(wanted)
        return GroupPlan(key, None, create=True, desired=ordered, to_add=ordered)
    return GroupPlan(
        key,
        None,
        desired=wanted,
        unsupported=dict.fromkeys(wanted, f"group missing: {why}"),
        note=why,
    )
