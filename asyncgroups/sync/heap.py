"""Keeping the cyclic garbage collector off what existed before a sync began.

A full collection walks every tracked container on the heap, and a sync's desired
state is a frozenset of keys per group: at a million memberships each full
collection walks a million entries, and a plan or an apply of that size sees
several. None of it can become garbage because of the sync, so `frozen_heap`
sets it aside (`gc.freeze`) for the sync's duration and hands it back
(`gc.unfreeze`) after: collections then walk only what the sync made. Nothing is
kept alive longer than the sync itself; garbage among the older objects is
collected by the first full collection after it.
"""

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["frozen_heap"]


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze what the collector tracks now, for the ``with`` block.

    Does nothing when something is frozen already (the application's own
    ``gc.freeze``, or an enclosing sync): only this block's own freeze is undone.
    Some interpreters start with objects frozen (CPython 3.12.1 holds 375 at
    start-up): there too nothing is done, so their freeze is never undone.
    """
    # A 1M-membership plan (10,000 groups) made 2 full collections, 0.28 s of
    # 6.8 s CPU, and an apply of it 4, 0.50 s of 19.9 s (load 4-5); at 100k, 0
    # and 1 of 0.04 s: the walk grows with the heap, so it grew the cost more
    # than tenfold between the two sizes. Frozen: the plan 1, 0.05 s, the apply
    # 4, 0.14 s (load 6-7; counted with gc.callbacks, benchmarks/sync_scale.py).
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
