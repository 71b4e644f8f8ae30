"""Sharded syncs: split a desired state by group so N processes complete one sync.

Each group belongs to exactly one shard, chosen by a stable hash (SHA-256 of the
group key), so every process, on every machine and Python version, agrees without
talking. Shard ``I`` of ``N`` plans, applies and prunes only its own groups;
together the ``N`` shards cover the whole desired state once. Shards are numbered
from 1 (``1/4`` .. ``4/4``). Pure; no I/O.
"""

import hashlib
from collections.abc import Iterable, Mapping
from typing import TypeVar

from asyncgroups.errors import InvalidInputError

__all__ = ["parse_shard", "shard_desired", "shard_of"]

V = TypeVar("V")


def parse_shard(value: object) -> tuple[int, int]:
    """Read ``"I/N"`` (or ``(I, N)``) with ``1 <= I <= N``.

    Raises:
        InvalidInputError: not of that form.
    """
    if isinstance(value, str):
        index_text, sep, count_text = value.partition("/")
        if not sep or not index_text.strip().isdigit():
            raise InvalidInputError(f"shard {value!r}: expected I/N, e.g. 1/4")
        if not count_text.strip().isdigit():
            raise InvalidInputError(f"shard {value!r}: expected I/N, e.g. 1/4")
        index, count = int(index_text), int(count_text)
    elif (
        isinstance(value, tuple)
        and len(value) == 2
        and all(type(n) is int for n in value)
    ):
        index, count = value
    else:
        raise InvalidInputError(f"shard {value!r}: expected I/N, e.g. 1/4")
    if count < 1 or not 1 <= index <= count:
        raise InvalidInputError(f"shard {index}/{count}: need 1 <= I <= N")
    return index, count


def shard_of(group: str | int, count: int) -> int:
    """The shard (1..``count``) that owns ``group``: SHA-256 of its key, mod ``count``."""
    digest = hashlib.sha256(str(group).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def shard_desired(
    desired: Mapping[str, V] | Mapping[int, V] | Mapping[str | int, V],
    shard: "str | tuple[int, int]",
) -> dict[str, V]:
    """The part of ``desired`` (group -> members) that shard ``I/N`` owns.

    Give the result to ``plan_sync``; with ``prune=True`` only this shard's groups
    are pruned, since a plan touches only the groups it is given.

    Args:
        desired: group key -> member keys (any value is passed through).
        shard: ``"I/N"`` or ``(I, N)``, ``1 <= I <= N``.

    Raises:
        InvalidInputError: a malformed shard.
    """
    index, count = parse_shard(shard)
    items: Iterable[tuple[str | int, V]] = desired.items()
    return {str(g): v for g, v in items if shard_of(g, count) == index}
