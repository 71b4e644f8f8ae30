"""Keeping the cyclic garbage collector off what existed before a sync began.

A full collection walks every tracked container on the heap, and a sync's desired
state is a frozenset of keys per group: at a million memberships each full
collection walks a million entries, and a plan or an apply of that size sees
several. None of it can become garbage because of the sync, so `frozen_heap`
sets it aside (`gc.freeze`) for the sync's duration and hands it back
(`gc.unfreeze`) after: collections then walk only what the sync made. Nothing is
kept alive longer than the sync itself; garbage among the older objects is
collected by the first full collection after it. What the sync makes itself (the
plan's and the outcomes' sets of keys) is walked by full collections too, so
those are made ten times rarer for the same duration.
"""

import contextlib
import gc
import os
from collections.abc import Iterator

__all__ = ["frozen_heap"]

#: How many times rarer full collections are during the block. A full collection
#: walks every key of every set and tuple the sync has made (the plan's, the
#: outcomes'), each read from memory: an apply of 1,000,000 memberships made four
#: (0.1 s each at the end), at 100,000 none, so they alone grew the apply's cost
#: more than tenfold; held off, the apply's collector time fell 0.59 -> 0.36 s and
#: its CPU 18.8 -> 17.9 s (three fresh runs each, alternating). Young collections
#: still run as usual: cyclic garbage seldom lives long enough to need a full one
#: (these full collections found none).
_HOLD_FULL = 10

#: The `frozen_heap` blocks whose freeze is in force here, innermost last: each
#: its thresholds before the block and while in it.
_Thresholds = tuple[int, int, int]
_OURS: list[tuple[_Thresholds, _Thresholds]] = []
#: The third threshold before the first of those blocks, and every value they set.
_FIRST: list[int] = []
_HELD: set[int] = set()


def _enter() -> tuple[_Thresholds, _Thresholds]:
    t0, t1, t2 = gc.get_threshold()
    ours = ((t0, t1, t2), (t0, t1, t2 * _HOLD_FULL))
    if not _OURS:
        _FIRST[:] = [t2]
        _HELD.clear()
    _HELD.add(ours[1][2])
    _OURS.append(ours)
    gc.set_threshold(*ours[1])
    return ours


def _leave(ours: tuple[_Thresholds, _Thresholds]) -> None:
    """Put the third threshold back, unless the application changed it since.

    Blocks that overlap without nesting (another thread, or a ``gc.unfreeze()``
    during a sync) may end in any order: when the last ends, a value any of them
    set goes back to the one before the first.
    """
    (_, _, before), (_, _, held) = ours
    _OURS[:] = [entry for entry in _OURS if entry is not ours]
    t0, t1, now = gc.get_threshold()
    if now == held:
        gc.set_threshold(t0, t1, now := before)
    if not _OURS:
        if now in _HELD and _FIRST:
            gc.set_threshold(t0, t1, _FIRST[0])
        _FIRST.clear()
        _HELD.clear()


def _release_in_child() -> None:
    # A process forked during a sync does not run the block's end: its copy of
    # the heap would stay frozen, and its full collections rare, for good.
    if not _OURS:
        return
    while _OURS:
        _leave(_OURS[-1])
    gc.unfreeze()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_release_in_child)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze what the collector tracks now, for the ``with`` block.

    Full collections are also made ten times rarer during the block (the third
    ``gc`` threshold times ten; put back at its end unless changed meanwhile).
    Does nothing when something is frozen already (the application's own
    ``gc.freeze``, or an enclosing sync): only this block's own freeze is undone,
    but a ``gc.freeze()`` made during the block is undone with it. A process
    forked during the block unfreezes at once. Some interpreters start with
    objects frozen (CPython 3.12.1 holds 375 at start-up): there too nothing is
    done.
    """
    # A 1M-membership plan (10,000 groups) made 2 full collections, 0.28 s of
    # 6.8 s CPU, and an apply of it 4, 0.50 s of 19.9 s (load 4-5); at 100k, 0
    # and 1 of 0.04 s: the walk grows with the heap, so it grew the cost more
    # than tenfold between the two sizes.
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    ours = _enter()
    try:
        yield
    finally:
        # Gone if a fork's child released it already.
        if any(entry is ours for entry in _OURS):
            _leave(ours)
            gc.unfreeze()
