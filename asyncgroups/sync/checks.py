"""Checks of ``apply``'s arguments, before any request, and the removal limit.

Kept apart from [`asyncgroups.sync.apply`][asyncgroups.sync.apply] so that module stays
about writing.
"""

import math

from asyncgroups.arguments import check_bool, check_callable, check_count
from asyncgroups.errors import InvalidInputError
from asyncgroups.sync.syncplan import SyncPlan

__all__ = ["check_apply_arguments", "removal_limit"]


def removal_limit(observed: int, max_removals: int | float | None) -> int:
    """The most removals allowed from a group with ``observed`` members.

    Args:
        observed: members the plan observed.
        max_removals: a count, a fraction (``0.0``-``1.0``) of ``observed``, or
            ``None`` for the default: 10% of ``observed``, at least 10.

    Raises:
        InvalidInputError: ``max_removals`` is negative, or a fraction above 1.
    """
    if max_removals is None:
        return max(10, math.ceil(observed * 0.1))
    if isinstance(max_removals, bool) or not isinstance(max_removals, int | float):
        raise InvalidInputError("max_removals must be an int count or a float fraction")
    if isinstance(max_removals, float):
        if not 0.0 <= max_removals <= 1.0:
            raise InvalidInputError("a max_removals fraction must be within 0.0-1.0")
        return math.floor(observed * max_removals)
    if max_removals < 0:
        raise InvalidInputError("max_removals must not be negative")
    return max_removals


def check_apply_arguments(
    plan: object,
    max_removals: object,
    concurrency: object,
    on_progress: object,
    **flags: object,
) -> None:
    """Refuse a wrong ``apply`` argument before any request, naming it.

    Raises:
        InvalidInputError: ``plan`` is not a [`SyncPlan`][asyncgroups.sync.SyncPlan],
            ``max_removals``, ``concurrency`` or ``on_progress`` is wrong, or a flag is
            not a bool.
    """
    if not isinstance(plan, SyncPlan):
        raise InvalidInputError(
            f"plan must be a SyncPlan (from plan_sync or SyncPlan.from_json), "
            f"not {type(plan).__name__}"
        )
    removal_limit(0, max_removals)  # type: ignore[arg-type]
    check_count(concurrency, "concurrency", optional=True)
    check_callable(on_progress, "on_progress")
    for name, flag in flags.items():
        check_bool(flag, name)
