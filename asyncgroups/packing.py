"""Packing keys bound for several groups into shared requests.

Where one request can serve several groups (NeuroIO), keys bound for the same set
of groups can go out together: `invert` groups keys by the exact set of groups
they are bound for, and `pack` plans the fewest requests from that, through
`Packer`, which finds the shared keys as each group is added: a caller that
checks each group's keys as it adds them (``members.add_many``) reads every key
while it is in the processor's cache. Pure; no I/O.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import chain

from asyncgroups.errors import InvalidInputError

__all__ = ["Packer", "invert", "pack"]


class Packer:
    """The groups of one call, added one at a time, and the keys they share.

    A key is found shared when a later group holds it too (its earlier holder is
    remembered, one dict entry per key), so only shared keys get a tuple of their
    groups, each tuple in the order the groups were added. At 1,000,000
    memberships (10,000 groups, 10 additions and 10 removals each, a fifth of the
    keys shared by chance), the apply's key checks and packing fell from 0.35 s
    (a check pass, a count pass and a filter pass, each reading every key from
    memory) to 0.12 s.
    """

    __slots__ = ("_holder", "_mapping", "_shares", "_targets")

    def __init__(self) -> None:
        self._mapping: dict[str, Sequence[str]] = {}
        #: key -> the last group added that holds it
        self._holder: dict[str, str] = {}
        #: shared key -> its groups
        self._targets: dict[str, tuple[str, ...]] = {}
        #: group -> how many of its keys are shared (at least)
        self._shares: dict[str, int] = {}

    def add(self, group: str, keys: Sequence[str]) -> None:
        """Add ``group``'s keys (a key given twice counts once).

        Raises:
            InvalidInputError: ``group`` was added already.
        """
        if group in self._mapping:
            raise InvalidInputError(f"group {group!r} is given twice")
        self._mapping[group] = keys
        holder, targets = self._holder, self._targets
        found = [key for key in keys if key in holder]
        if found:
            shares = self._shares
            shares[group] = shares.get(group, 0) + len(found)
            for key in found:
                held = targets.get(key)
                if held is None:
                    first = holder[key]
                    targets[key] = (first, group)
                    shares[first] = shares.get(first, 0) + 1
                elif held[-1] != group:
                    targets[key] = (*held, group)
        holder.update(dict.fromkeys(keys, group))

    def _shared(self) -> dict[tuple[str, ...], list[str]]:
        """Shared keys by their groups, in the order the keys were first given.

        (That order decides which of the runs that save as much goes first.)
        """
        targets, shares = self._targets, self._shares
        first_given = dict.fromkeys(
            key
            for gid, keys in self._mapping.items()
            if gid in shares
            for key in keys
            if key in targets
        )
        packed: dict[tuple[str, ...], list[str]] = {}
        for key in first_given:
            packed.setdefault(targets[key], []).append(key)
        return packed

    def runs(self, max_batch: int) -> list[tuple[tuple[str, ...], Sequence[str]]]:
        """The fewest requests for the groups added; see `pack`."""
        mapping = self._mapping
        size = max(1, max_batch)
        # A run of shared keys takes a request off a group only if it holds at
        # least the group's last chunk (or fills whole batches), and one is sent
        # shared only if that saves two: so at least two groups must share as
        # many keys as their last chunk holds. Keys shared by chance seldom are:
        # then each group goes alone, and no run is built (the 1,000,000-
        # membership benchmark's additions: 18,000 runs of one key each).
        hopeful = sum(
            1
            for gid, n in self._shares.items()
            if n >= (len(mapping[gid]) % size or size)
        )
        if len(mapping) < 2 or hopeful < 2:
            # Each group's own keys, not copies (only read).
            return [((gid,), keys) for gid, keys in mapping.items() if keys]
        left = {gid: len(keys) for gid, keys in mapping.items()}
        shared: list[tuple[tuple[str, ...], Sequence[str]]] = []
        partial: list[tuple[tuple[str, ...], Sequence[str]]] = []
        for groups, keys in self._shared().items():
            ordered = tuple(sorted(groups))
            full = len(keys) - len(keys) % size
            if full:
                shared.append((ordered, keys[:full]))
                for gid in ordered:
                    left[gid] -= full
            if full < len(keys):
                partial.append((ordered, keys[full:] if full else keys))
        partial.sort(key=lambda run: len(run[0]) * len(run[1]), reverse=True)
        # A group loses a request only if a run takes at least its last chunk's
        # keys: runs shorter than every group's last chunk are passed over at a
        # glance (most runs of keys shared by chance). `low` never exceeds the
        # smallest last chunk. Packing the 1,000,000-membership benchmark's
        # writes: 0.44 -> 0.10 µs a key.
        low = min((n % size or size for n in left.values() if n), default=size)
        for members, rest in partial:
            n = len(rest)
            if n < low:
                continue
            saved = sum(
                -(-left[gid] // size) - (-(-(left[gid] - n) // size)) for gid in members
            )
            if saved >= 2:
                shared.append((members, rest))
                for gid in members:
                    left[gid] -= n
                    if left[gid]:
                        low = min(low, left[gid] % size or size)
        if not shared:
            return [((gid,), keys) for gid, keys in mapping.items() if keys]
        packed = {
            (gid, key) for groups, keys in shared for gid in groups for key in keys
        }
        alone = [
            ((gid,), [k for k in keys if (gid, k) not in packed])
            for gid, keys in mapping.items()
        ]
        return shared + [(groups, keys) for groups, keys in alone if keys]


def invert(mapping: Mapping[str, Sequence[str]]) -> dict[frozenset[str], list[str]]:
    """Group keys by the exact set of groups they are bound for.

    ``{g1: [a, b], g2: [a]}`` becomes ``{{g1, g2}: [a], {g1}: [b]}``, so keys bound
    for the same groups can share requests on APIs where one request serves many.
    A key given twice for one group is bound for it once.
    """
    counts = Counter(chain.from_iterable(mapping.values()))
    packed: dict[frozenset[str], list[str]] = {}
    for group, keys in mapping.items():
        alone = [key for key in keys if counts[key] == 1]
        if alone:
            packed[frozenset((group,))] = alone
    targets: dict[str, tuple[str, ...]] = {}
    for group, keys in mapping.items():
        for key in [key for key in keys if counts[key] > 1]:
            held = targets.get(key, ())
            if not held or held[-1] != group:
                targets[key] = (*held, group)
    for key, groups in targets.items():
        packed.setdefault(frozenset(groups), []).append(key)
    return packed


def pack(
    mapping: Mapping[str, Sequence[str]], max_batch: int
) -> list[tuple[tuple[str, ...], Sequence[str]]]:
    """Plan the fewest requests for ``mapping`` where one request may serve many groups.

    Keys bound for the same set of several groups (`invert`) share requests
    in full batches of ``max_batch`` (each replaces one full request per group). A
    shared remainder smaller than a batch shares one request only when taking it
    out of the groups' own requests saves at least two of them. Every other key
    goes out group by group, in chunks filled to ``max_batch``. So the result never
    needs more requests than sending each group alone (``ceil(len(keys) /
    max_batch)`` per group), and fewer where keys are shared.

    Returns:
        (group ids, keys) pairs: each a run of keys bound for exactly those groups;
        a run may span several requests (the caller chunks it to ``max_batch``).
    """
    packer = Packer()
    for group, keys in mapping.items():
        packer.add(group, keys)
    return packer.runs(max_batch)
