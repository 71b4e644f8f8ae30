"""Sync planning: desired membership vs observed state -> a `SyncPlan`.

[`plan_sync`][asyncgroups.sync.plan_sync] reads (through `asyncgroups.sync.observe`) and
never writes; `build_plan` is pure. A plan records, per group, what to add, remove or
create, what the backend cannot do, which keys it does not know, and a fingerprint of
the observed members so that ``apply`` can detect drift.
"""

from collections.abc import Callable, Iterable, Mapping

from attrs import evolve

from asyncgroups import tracing
from asyncgroups.arguments import call_key_map, check_bool, check_count, check_key_map
from asyncgroups.capabilities import Capability
from asyncgroups.errors import InvalidInputError
from asyncgroups.sync.heap import frozen_heap
from asyncgroups.sync.observe import (
    Observed,
    SyncClient,
    check_complete,
    fingerprint,
    known_users,
    observe,
    observe_each,
    resolve_groups,
)
from asyncgroups.sync.syncplan import By, GroupPlan, SyncPlan, key_tuple
from asyncgroups.validation import normalise_id, plain_ids

__all__ = [
    "By",
    "DesiredInput",
    "GroupPlan",
    "KeyMap",
    "Observed",
    "SyncClient",
    "SyncPlan",
    "build_plan",
    "check_complete",
    "fingerprint",
    "map_key",
    "normalise_desired",
    "observe",
    "plan_sync",
]

#: Desired state as users give it: group -> member keys (ints are accepted as ids).
DesiredInput = (
    Mapping[str, Iterable[str | int]]
    | Mapping[int, Iterable[str | int]]
    | Mapping[str | int, Iterable[str | int]]
)

#: Source key -> target key: a mapping, or a callable returning ``None`` for no match.
KeyMap = Mapping[str, str] | Callable[[str], str | None]

#: Why a source key is in a plan's ``unknown``: the ``key_map`` did not translate it.
NO_MAPPING = "no mapping for source key"

#: What a group nothing was listed of is planned against.
_UNSEEN = Observed()

#: Owners cannot be pruned: removing one would orphan the group (Snip refuses it).
_PROTECTED_ROLES = frozenset({"owner"})


def map_key(key: str, key_map: KeyMap) -> str | None:
    """Translate one key through ``key_map`` (``None``: it has no translation).

    Raises:
        InvalidInputError: ``key_map`` gave something other than a non-empty
            string or ``None``.
    """
    return call_key_map(key, key_map)


def normalise_desired(
    desired: DesiredInput,
) -> dict[str, frozenset[str]]:
    """Validate a desired-state mapping: group -> member keys.

    Raises:
        InvalidInputError: it is not a mapping, a group or key is malformed, or two
            groups normalise to the same key (``1`` and ``"1"``).
    """
    if not isinstance(desired, Mapping):
        raise InvalidInputError(
            "desired state must map groups to member keys, "
            f"not {type(desired).__name__}"
        )
    result: dict[str, frozenset[str]] = {}
    spelt: dict[str, object] = {}
    for group, keys in desired.items():
        name = normalise_id(group, "group")
        if name in spelt:
            raise InvalidInputError(
                f"group {name!r} is given twice in the desired state "
                f"(as {spelt[name]!r} and as {group!r}): one would overwrite the other"
            )
        spelt[name] = group
        if isinstance(keys, str | bytes) or not isinstance(keys, Iterable):
            raise InvalidInputError(f"members of {name!r} must be a collection of keys")
        if isinstance(keys, frozenset | set | list | tuple) and plain_ids(keys):
            result[name] = frozenset(keys)
            continue
        result[name] = frozenset(normalise_id(k, f"member of {name!r}") for k in keys)
    return result


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
    can_add = Capability.MEMBERS_ADD in capabilities
    can_remove = Capability.MEMBERS_REMOVE in capabilities
    no_add = f"cannot add: the {backend or 'backend'} backend has no MEMBERS_ADD"
    no_remove = (
        f"cannot remove: the {backend or 'backend'} backend has no MEMBERS_REMOVE"
    )
    plans: list[GroupPlan] = []
    for key, wanted in desired.items():
        gid = resolved.get(key)
        lost = dict.fromkeys((unmapped or {}).get(key, ()), NO_MAPPING)
        if gid is None:
            plan = _missing(key, wanted, capabilities, by, create_groups, no_add)
            if plan.to_add and known_users is not None:
                # A group to be created: its keys must exist as users all the same.
                missing = {k for k in plan.to_add if _unknown(k, known_users)}
                lost.update(dict.fromkeys(missing, f"not a user on this {backend}"))
                plan = evolve(plan, to_add=set(plan.to_add) - missing)
            plans.append(evolve(plan, unknown={**lost, **plan.unknown}))
            continue
        seen = observed.get(gid, _UNSEEN)
        additions = seen.absent if seen.absent is not None else wanted - seen.keys
        removals = seen.keys - wanted if prune else frozenset()
        unsupported: dict[str, str] = {}
        unknown: dict[str, str] = lost
        if not can_add:
            unsupported.update(dict.fromkeys(additions, no_add))
            additions = frozenset()
        elif known_users is not None:
            missing = {k for k in additions if _unknown(k, known_users)}
            unknown.update(dict.fromkeys(missing, f"not a user on this {backend}"))
            additions -= missing
        # Only a listing with roles can hold an owner: 0.5 against 6.6 µs a group
        # of 10 removals without roles (best of 5 x 100,000, load 6.9).
        if seen.roles:
            roles = seen.roles
            protected = {k for k in removals if roles.get(k) in _PROTECTED_ROLES}
            unsupported.update(
                dict.fromkeys(protected, "cannot remove the group's owner")
            )
            removals -= protected
        if removals and not can_remove:
            unsupported.update(dict.fromkeys(removals, no_remove))
            removals = frozenset()
        note = None if seen.complete else f"listing incomplete: {seen.error}"
        ordered = key_tuple(wanted)
        # Every desired key to be added (a group filled from empty): its keys
        # sorted once, not twice.
        every = len(additions) == len(wanted) and additions <= wanted
        plans.append(
            GroupPlan(
                key=key,
                group_id=gid,
                desired=ordered,
                to_add=ordered if every else additions,
                to_remove=removals,
                unsupported=unsupported,
                unknown=unknown,
                observed_count=seen.size,
                fingerprint=seen.fingerprint,
                complete=seen.complete,
                note=note,
            )
        )
    return SyncPlan(plans, backend, prune, create_groups, by)


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


async def plan_sync(
    client: SyncClient,
    desired: DesiredInput,
    *,
    prune: bool = False,
    create_groups: bool = False,
    by: By = "name",
    key_map: KeyMap | None = None,
    concurrency: int | None = None,
) -> SyncPlan:
    """Plan a sync of ``desired`` (group -> member keys) against the backend.

    Reads only: lists groups once, lists every group's members concurrently, and
    lists users once when the backend can (to report unknown keys). While it
    runs, the objects that existed before it are frozen from the cyclic garbage
    collector (``gc.freeze``), unless something is frozen already.

    Args:
        client: the Client to plan against.
        desired: group name (or id, with ``by="id"``) -> desired member keys.
        prune: also remove members that are not desired.
        create_groups: create desired groups that do not exist.
        by: ``"name"`` or ``"id"``.
        key_map: source key -> target key (a mapping or a callable), applied to
            every desired key first; keys it does not map are not added: they are
            listed under the group's ``unknown`` ("no mapping for source key").
        concurrency: member listings in flight (default: the Client's).

    Returns:
        The plan; ``str(plan)`` is a readable diff.

    Raises:
        InvalidInputError: the desired state is malformed, or a name matches
            several groups.
        SyncAbortedError: ``prune`` is set and a members listing failed part-way.
    """
    if by not in ("name", "id"):
        raise InvalidInputError("by must be 'name' or 'id'")
    check_bool(prune, "prune")
    check_bool(create_groups, "create_groups")
    check_key_map(key_map)
    check_count(concurrency, "concurrency", optional=True)
    wanted = normalise_desired(desired)
    unmapped: dict[str, frozenset[str]] = {}
    if key_map is not None:
        mapped = {g: {k: map_key(k, key_map) for k in ks} for g, ks in wanted.items()}
        wanted = {
            g: frozenset(t for t in pairs.values() if t) for g, pairs in mapped.items()
        }
        unmapped = {
            g: frozenset(k for k, t in pairs.items() if not t)
            for g, pairs in mapped.items()
        }
    with (
        frozen_heap(),
        tracing.span(
            client,
            "asyncgroups.sync.plan",
            groups=len(wanted),
            keys=sum(len(keys) for keys in wanted.values()),
        ),
    ):
        return await _plan(
            client,
            wanted,
            unmapped,
            prune=prune,
            create_groups=create_groups,
            by=by,
            concurrency=concurrency,
        )


async def _plan(
    client: SyncClient,
    wanted: dict[str, frozenset[str]],
    unmapped: dict[str, frozenset[str]],
    *,
    prune: bool,
    create_groups: bool,
    by: By,
    concurrency: int | None,
) -> SyncPlan:
    resolved = await resolve_groups(client, wanted, by)
    wanted_of = {gid: wanted[key] for key, gid in resolved.items() if gid is not None}
    # Each listing is reduced to what the plan needs as soon as it ends: memory
    # stays bounded by the desired state plus the differences.
    observed = await observe_each(
        client,
        list(wanted_of),
        lambda gid, seen: seen.against(wanted_of[gid]),
        concurrency=concurrency,
    )
    if prune:
        check_complete(observed)
    caps = client.capabilities
    known = None
    if Capability.USERS_LIST in caps and Capability.MEMBERS_ADD in caps:
        needs = any(
            gid is None or observed[gid].absent for key, gid in resolved.items()
        )
        known = await known_users(client) if needs else None
    return build_plan(
        wanted,
        resolved,
        observed,
        capabilities=caps,
        backend=client.backend_name,
        known_users=known,
        prune=prune,
        create_groups=create_groups,
        by=by,
        unmapped=unmapped,
    )
