"""One apply's writes: creations, then additions, then removals, as they settle.

`Run` sends through the Client's members namespace (which chunks, packs,
isolates bad keys and caps requests in flight), records every outcome, tells the
caller's progress callback and, when the apply has a journal, journals each
request's intent before it is sent and its outcome after.
"""

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any

from attrs import define, field

from asyncgroups.batching import first_exception
from asyncgroups.errors import AsyncGroupsError
from asyncgroups.models import BatchResult
from asyncgroups.sync.outcome import Outcome
from asyncgroups.sync.port import SyncClient
from asyncgroups.sync.report import Phase, ProgressEvent
from asyncgroups.sync.resume import Recorder

__all__ = ["ProgressCallback", "Run", "together"]

ProgressCallback = Callable[[ProgressEvent], Any]


@define
class Run:
    """The state of one apply's writes (see the module docstring)."""

    client: SyncClient
    outcomes: dict[str, Outcome]
    #: Requests in flight at once.
    limit: int
    total: int
    on_progress: ProgressCallback | None
    done: int = 0
    #: The phase writing now (``None`` before the first write).
    phase_now: Phase | None = None
    #: Group id -> keys of this phase sent (or about to be): what may be in flight.
    sent: dict[str, set[str]] = field(factory=dict)
    #: Group keys whose creation was sent.
    creating: set[str] = field(factory=set)
    #: Where intents and outcomes are journaled, if anywhere.
    recorder: Recorder | None = None
    #: Group ids written (or sent to) in this run: what verification reads.
    written: set[str] = field(factory=set)
    #: Caps the creations in flight (the members namespace caps the writes).
    semaphore: asyncio.Semaphore = field(init=False)

    @semaphore.default
    def _semaphore(self) -> asyncio.Semaphore:
        return asyncio.Semaphore(self.limit)

    async def progress(
        self,
        phase: Phase,
        keys: Sequence[str],
        ok: int,
        bad: int,
        applied: Mapping[str, tuple[str, ...]] | None = None,
        unknown: int = 0,
    ) -> None:
        """Count settled changes and tell the caller's ``on_progress``."""
        self.done += ok + bad + unknown
        if self.on_progress is not None:
            event = ProgressEvent(
                phase,
                tuple(keys),
                ok,
                bad,
                self.done,
                self.total,
                dict(applied or {}),
                unknown,
            )
            result = self.on_progress(event)
            if inspect.isawaitable(result):
                await result

    async def create(self, outcome: Outcome) -> None:
        """Create ``outcome``'s group; record whether it was created."""
        key = outcome.plan.key
        async with self.semaphore:
            self.creating.add(key)
            if self.recorder is not None:
                self.recorder.creating(key)
            try:
                group = await self.client.groups.create(key)
            except AsyncGroupsError as exc:
                if self.recorder is not None:
                    self.recorder.create_failed(key, exc)
                lost = outcome.fail(key, exc)
                why = "outcome unknown" if lost else "failed"
                outcome.skipped.update(
                    dict.fromkeys(
                        outcome.plan.to_add, f"not sent: creating the group {why}"
                    )
                )
                await self.progress(
                    "create",
                    [key],
                    0,
                    0 if lost else 1,
                    unknown=int(lost),
                )
                return
        outcome.group_id, outcome.created = group.id, True
        if self.recorder is not None:
            self.recorder.created(key, group.id)
        await self.progress("create", [key], 1, 0)

    async def phase(self, phase: Phase) -> None:
        """Every add (or removal) of the plan, through the Client's batched writes.

        The Client chunks to the backend's limit, packs keys shared by several
        groups where one request can serve them, isolates bad keys and caps the
        requests in flight at this run's limit; each settled chunk is
        recorded and reported as progress as it completes.
        """
        self.phase_now = phase
        self.sent = {}
        wanted = {
            o.group_id: o.unsettled(
                o.plan.to_add if phase == "add" else o.plan.to_remove
            )
            for o in self.outcomes.values()
            if o.group_id is not None
        }
        wanted = {gid: keys for gid, keys in wanted.items() if keys}
        if not wanted:
            return
        by_id = {o.group_id: o for o in self.outcomes.values()}

        def chunk_done(
            gids: tuple[str, ...], result: BatchResult
        ) -> Coroutine[Any, Any, None] | None:
            if self.recorder is not None:
                self.recorder.settled(phase, gids, result)
            bad = lost = 0
            for gid in gids:
                failed, unknown = by_id[gid].record(
                    phase, result.succeeded, result.failed
                )
                bad, lost = bad + failed, lost + unknown
            ok = len(result.succeeded) * len(gids)
            if self.on_progress is None:
                # Counted only: no event is built for nobody (one per request).
                self.done += ok + bad + lost
                return None
            keys = [by_id[g].plan.key for g in gids]
            applied = tuple(sorted(result.succeeded))
            return self.progress(
                phase, keys, ok, bad, dict.fromkeys(keys, applied), lost
            )

        def sending(gids: tuple[str, ...], keys: Sequence[str]) -> None:
            if self.recorder is not None:
                self.recorder.intend(phase, gids, keys)
            self.written.update(gids)
            for gid in gids:
                self.sent.setdefault(gid, set()).update(keys)

        members = self.client.members
        write = members.add_many if phase == "add" else members.remove_many
        try:
            await write(
                wanted,
                concurrency=self.limit,
                on_chunk=chunk_done,
                on_send=sending,
            )
        except AsyncGroupsError as exc:
            # A call-wide refusal (the capability is gone, the client closed):
            # whatever no chunk settled failed with it.
            for gid, keys in wanted.items():
                outcome = by_id[gid]
                for key in keys:
                    if not outcome.settled(key):
                        outcome.fail(key, exc)


async def together(coros: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``coros`` concurrently; the first to raise cancels the others.

    A failure that is not an outcome (an ``on_progress`` callback's bug, a
    backend's ``TypeError``) must not leave sibling branches sending writes after
    ``apply`` has returned. The exception is raised as itself, not wrapped in an
    ``ExceptionGroup``; if several branches fail at once, the first is raised.
    """
    try:
        async with asyncio.TaskGroup() as tasks:
            for coro in coros:
                tasks.create_task(coro)
    except BaseExceptionGroup as eg:
        raise first_exception(eg) from None
