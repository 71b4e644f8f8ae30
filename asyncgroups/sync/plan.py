"""Sync planning: desired membership vs observed state -> a `SyncPlan`.

[`plan_sync`][asyncgroups.sync.plan_sync] reads (through `asyncgroups.sync.observe`) and
never writes; `build_plan` is pure. A plan records, per group, what to add, remove or
create, what the backend cannot do, which keys it does not know, and a fingerprint of
the observed members so that ``apply`` can detect drift.
"""

from collections.abc import Callable, Iterable, Mapping

from asyncgroups import tracing
from asyncgroups.arguments import call_key_map, check_bool, check_count, check_key_map
from asyncgroups.capabilities import Capability
from asyncgroups.errors import InvalidInputError
from asyncgroups.sync.compare import (
    NO_MAPPING as NO_MAPPING,
    Rules,
    absent_group,
    build_plan,
    group_plan,
    known_only,
)
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
from asyncgroups.sync.syncplan import By, GroupPlan, SyncPlan
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
    collector (``gc.freeze``) and full collections are ten times rarer, unless
    something is frozen already.

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
    keys_of: dict[str, list[str]] = {}
    for key, gid in resolved.items():
        if gid is not None:
            keys_of.setdefault(gid, []).append(key)
    caps, backend = client.capabilities, client.backend_name
    rules = Rules(caps, backend, prune)
    broken: dict[str, Observed] = {}
    planned: dict[str, GroupPlan] = {}

    def plan_group(gid: str, seen: Observed) -> None:
        if not seen.complete:
            broken[gid] = Observed(complete=False, error=seen.error)
        for key in keys_of[gid]:
            lost = unmapped.get(key, ())
            planned[key] = group_plan(key, gid, wanted[key], seen, rules, lost)

    # Each group is planned as soon as its listing ends, and the listing dropped:
    # memory stays bounded by the desired state plus the plan. (A summary of
    # each listing kept until all had ended made 16 MB more to allocate at
    # 1,000,000 memberships; the page faults alone cost 0.1-0.2 s there.)
    await observe_each(client, list(keys_of), plan_group, concurrency=concurrency)
    if prune:
        check_complete(broken)
    known = None
    if Capability.USERS_LIST in caps and Capability.MEMBERS_ADD in caps:
        needs = any(gid is None or planned[key].to_add for key, gid in resolved.items())
        known = await known_users(client) if needs else None
    plans = [
        known_only(planned[key], known, backend)
        if gid is not None
        else absent_group(
            key, keys, rules, by, create_groups, unmapped.get(key, ()), known
        )
        for key, keys in wanted.items()
        for gid in (resolved.get(key),)
    ]
    return SyncPlan(plans, backend, prune, create_groups, by)
