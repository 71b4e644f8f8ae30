"""Resuming an apply from its journal: what was done, what may have been.

`Recorder` writes an apply's intents and outcomes to a
[`JournalStore`][asyncgroups.sync.JournalStore]; `replay` reads them back and
`restore` carries them into a new run's outcomes, re-reading only the groups
whose writes were sent without a recorded outcome (the run stopped while they
were in flight, or their answers were lost). Reads only; never writes members.
"""

from collections.abc import Mapping, Sequence

from attrs import define, field

from asyncgroups.errors import AsyncGroupsError, outcome_unknown
from asyncgroups.models import BatchResult
from asyncgroups.sync.journal import Entry, JournalStore, Kind
from asyncgroups.sync.observe import observe, resolve_groups
from asyncgroups.sync.outcome import Outcome
from asyncgroups.sync.port import SyncClient
from asyncgroups.sync.report import Phase
from asyncgroups.sync.syncplan import SyncPlan

__all__ = ["EARLIER", "Recorder", "Replayed", "replay", "restore"]

#: How a failure recorded by an earlier run is reported.
EARLIER = "in an earlier run of this plan: "

_Slot = tuple[str, str]  # (phase, group id)


@define
class Recorder:
    """Writes one apply's intents and outcomes to its journal."""

    store: JournalStore

    def checked(self) -> None:
        """The drift check passed."""
        self.store.append([Entry("checked")])

    def intend(self, phase: str, groups: Sequence[str], keys: Sequence[str]) -> None:
        """A request for ``keys`` of ``groups`` is about to be sent."""
        self.store.append([Entry("intent", phase, tuple(groups), tuple(keys))])

    def settled(self, phase: str, groups: Sequence[str], result: BatchResult) -> None:
        """A chunk settled: its applied keys, and each failure, failed or unknown."""
        entries = []
        if result.succeeded:
            entries.append(
                Entry("applied", phase, tuple(groups), tuple(sorted(result.succeeded)))
            )
        for key, error in result.failed.items():
            kind: Kind = "unknown" if outcome_unknown(error) else "failed"
            entries.append(Entry(kind, phase, tuple(groups), (key,), str(error)))
        if entries:
            self.store.append(entries)

    def creating(self, key: str) -> None:
        """A group creation is about to be sent."""
        self.store.append([Entry("intent", "create", (key,))])

    def created(self, key: str, group_id: str) -> None:
        """The group was created with ``group_id``."""
        self.store.append([Entry("created", "create", (key,), (group_id,))])

    def create_failed(self, key: str, error: AsyncGroupsError) -> None:
        """The creation failed, or its answer was lost."""
        kind: Kind = "unknown" if outcome_unknown(error) else "failed"
        self.store.append([Entry(kind, "create", (key,), (), str(error))])


@define
class Replayed:
    """An earlier run as its journal tells it."""

    checked: bool = False
    created: dict[str, str] = field(factory=dict)
    failed_creates: dict[str, str] = field(factory=dict)
    open_creates: set[str] = field(factory=set)
    applied: dict[_Slot, set[str]] = field(factory=dict)
    failed: dict[_Slot, dict[str, str]] = field(factory=dict)
    open: dict[_Slot, set[str]] = field(factory=dict)

    @property
    def unfinished_groups(self) -> set[str]:
        """Group ids with writes sent but not known to have ended."""
        return {gid for (_, gid), keys in self.open.items() if keys}


def replay(entries: Sequence[Entry]) -> Replayed:
    """Fold a journal's entries into what was done, failed, or is still open."""
    state = Replayed()
    for entry in entries:
        if entry.kind == "checked":
            state.checked = True
            continue
        if entry.phase == "create":
            key = entry.groups[0]
            if entry.kind == "intent" or entry.kind == "unknown":
                state.open_creates.add(key)
            elif entry.kind == "created":
                state.open_creates.discard(key)
                state.created[key] = entry.keys[0]
            else:
                state.open_creates.discard(key)
                state.failed_creates[key] = entry.reason
            continue
        for gid in entry.groups:
            slot = (entry.phase, gid)
            pending = state.open.setdefault(slot, set())
            if entry.kind in ("intent", "unknown"):
                pending.update(entry.keys)
            elif entry.kind == "applied":
                pending.difference_update(entry.keys)
                state.applied.setdefault(slot, set()).update(entry.keys)
            else:
                pending.difference_update(entry.keys)
                failed = state.failed.setdefault(slot, {})
                failed.update(dict.fromkeys(entry.keys, entry.reason))
    return state


async def restore(
    client: SyncClient,
    plan: SyncPlan,
    outcomes: Mapping[str, Outcome],
    state: Replayed,
    recorder: Recorder,
    concurrency: int | None,
) -> None:
    """Carry an earlier run's outcomes into ``outcomes``; settle what was open.

    Groups whose writes were open are listed once: an addition seen in place, or a
    removal seen gone, is applied (and journaled); anything else stays to be sent
    again (additions and removals are idempotent). A creation left open is looked
    up by its key.
    """
    if state.open_creates:
        found = await resolve_groups(client, sorted(state.open_creates), plan.by)
        for key, gid in found.items():
            if gid is not None and key not in state.created:
                state.created[key] = gid
                recorder.created(key, gid)
    for key, outcome in outcomes.items():
        if key in state.created and outcome.group_id is None:
            outcome.group_id, outcome.created = state.created[key], True
        elif key in state.failed_creates and outcome.group_id is None:
            error = AsyncGroupsError(EARLIER + state.failed_creates[key])
            outcome.failed[key] = error
            outcome.skipped.update(
                dict.fromkeys(
                    outcome.plan.to_add, "not sent: creating the group failed"
                )
            )
    by_id = {o.group_id: o for o in outcomes.values() if o.group_id is not None}
    for (phase, gid), keys in state.applied.items():
        if gid in by_id:
            planned = (
                by_id[gid].plan.to_add if phase == "add" else by_id[gid].plan.to_remove
            )
            by_id[gid].done(phase).update(keys.intersection(planned))  # type: ignore[arg-type]
    for (_, gid), reasons in state.failed.items():
        if gid in by_id:
            for key, reason in reasons.items():
                by_id[gid].failed[key] = AsyncGroupsError(EARLIER + reason)
    reread = sorted(state.unfinished_groups & set(by_id))
    seen = await observe(client, reread, concurrency=concurrency)
    for gid in reread:
        listing = seen[gid]
        if not listing.complete:
            continue
        phases: tuple[Phase, ...] = ("add", "remove")
        for phase in phases:
            open_keys = state.open.get((phase, gid), set())
            if phase == "add":
                done = open_keys & listing.keys
            else:
                done = open_keys - listing.keys
            if done:
                by_id[gid].done(phase).update(done)
                recorder.settled(phase, [gid], BatchResult(frozenset(done)))
