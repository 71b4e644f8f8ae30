"""Applying a :class:`~asyncgroups.SyncPlan`: guard, write, verify.

Order: the ``max_removals`` guard (before any request), a re-read of observed state
compared with the plan's fingerprints (drift aborts, or re-plans), group creations,
additions, removals, then an optional verifying re-read. Writes go through the
Client's members namespace only, so batching limits, bad-key isolation, retries and
rate limits are the Client's; this module decides what to send and records every
outcome (:mod:`~asyncgroups.sync.outcome` decides failed or unknown) in a
:class:`~asyncgroups.SyncReport`.
"""

import asyncio
import inspect
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any

from attrs import define, field

from asyncgroups.batching import first_exception
from asyncgroups.errors import (
    AsyncGroupsError,
    PartialSyncError,
    SyncAbortedError,
)
from asyncgroups.models import BatchResult
from asyncgroups.sync.checks import check_apply_arguments, removal_limit
from asyncgroups.sync.outcome import Outcome
from asyncgroups.sync.plan import (
    SyncClient,
    SyncPlan,
    check_complete,
    observe,
    plan_sync,
)
from asyncgroups.sync.report import (
    Phase,
    ProgressEvent,
    SyncReport,
    attach_report,
)
from asyncgroups.sync.verify import verify as _verify

__all__ = ["apply", "removal_limit"]

ProgressCallback = Callable[[ProgressEvent], Any]

DRY_RUN = "dry run"


def _guard_removals(plan: SyncPlan, max_removals: int | float | None) -> None:
    over = [
        f"{g.key}: {len(g.to_remove)} of {g.observed_count} "
        f"(limit {removal_limit(g.observed_count, max_removals)})"
        for g in plan.groups
        if len(g.to_remove) > removal_limit(g.observed_count, max_removals)
    ]
    if over:
        raise SyncAbortedError(
            "refusing to apply: removals exceed max_removals in "
            + "; ".join(over)
            + " (raise max_removals to allow it)"
        )


async def _drifted(
    client: SyncClient, plan: SyncPlan, concurrency: int | None
) -> list[str]:
    """Groups whose state changed since planning (an incomplete prune aborts)."""
    existing = [g for g in plan.groups if g.group_id is not None]
    observed = await observe(
        client, [g.group_id for g in existing if g.group_id], concurrency=concurrency
    )
    check_complete(
        {
            g.group_id: observed[g.group_id]
            for g in existing
            if g.group_id and g.to_remove
        }
    )
    drifted = [
        g.key
        for g in existing
        if g.group_id
        and g.complete
        and observed[g.group_id].complete
        and observed[g.group_id].fingerprint != g.fingerprint
    ]
    if any(g.create for g in plan.groups):
        names = set()
        async for group in client.groups.list():
            names.add(group.name if plan.by == "name" else group.id)
        drifted.extend(g.key for g in plan.groups if g.create and g.key in names)
    return drifted


@define
class _Run:
    client: SyncClient
    outcomes: dict[str, Outcome]
    semaphore: asyncio.Semaphore
    total: int
    on_progress: ProgressCallback | None
    done: int = 0
    #: The phase writing now (``None`` before the first write).
    phase_now: Phase | None = None
    #: Group id -> keys of this phase sent (or about to be): what may be in flight.
    sent: dict[str, set[str]] = field(factory=dict)
    #: Group keys whose creation was sent.
    creating: set[str] = field(factory=set)

    async def progress(
        self,
        phase: Phase,
        keys: Sequence[str],
        ok: int,
        bad: int,
        applied: Mapping[str, tuple[str, ...]] | None = None,
        unknown: int = 0,
    ) -> None:
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
        key = outcome.plan.key
        async with self.semaphore:
            self.creating.add(key)
            try:
                group = await self.client.groups.create(key)
            except AsyncGroupsError as exc:
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
        await self.progress("create", [key], 1, 0)

    async def phase(self, phase: Phase) -> None:
        """Every add (or removal) of the plan, through the Client's batched writes.

        The Client chunks to the backend's limit, packs keys shared by several
        groups where one request can serve them, isolates bad keys and caps the
        requests in flight with this run's semaphore; each settled chunk is
        recorded and reported as progress as it completes.
        """
        self.phase_now = phase
        self.sent = {}
        wanted = {
            o.group_id: [
                k
                for k in (o.plan.to_add if phase == "add" else o.plan.to_remove)
                if not o.settled(k)
            ]
            for o in self.outcomes.values()
            if o.group_id is not None
        }
        wanted = {gid: keys for gid, keys in wanted.items() if keys}
        if not wanted:
            return
        by_id = {o.group_id: o for o in self.outcomes.values()}

        async def chunk_done(gids: tuple[str, ...], result: BatchResult) -> None:
            applied: dict[str, tuple[str, ...]] = {}
            bad = lost = 0
            for gid in gids:
                outcome = by_id[gid]
                applied[outcome.plan.key] = tuple(sorted(result.succeeded))
                failed, unknown = outcome.record(phase, result.succeeded, result.failed)
                bad, lost = bad + failed, lost + unknown
            ok = len(result.succeeded) * len(gids)
            keys = [by_id[g].plan.key for g in gids]
            await self.progress(phase, keys, ok, bad, applied, lost)

        def sending(gids: tuple[str, ...], keys: Sequence[str]) -> None:
            for gid in gids:
                self.sent.setdefault(gid, set()).update(keys)

        members = self.client.members
        write = members.add_many if phase == "add" else members.remove_many
        try:
            await write(
                wanted,
                concurrency=self.semaphore,
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


async def _together(coros: Iterable[Coroutine[Any, Any, None]]) -> None:
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


async def apply(
    client: SyncClient,
    plan: SyncPlan,
    *,
    max_removals: int | float | None = None,
    concurrency: int | None = None,
    on_progress: ProgressCallback | None = None,
    raise_on_error: bool = False,
    dry_run: bool = False,
    replan: bool = False,
    verify: bool = True,
) -> SyncReport:
    """Apply ``plan`` safely: guard, check for drift, write, verify.

    Args:
        client: the Client to write through.
        plan: from :func:`~asyncgroups.sync.plan.plan_sync` (or ``SyncPlan.from_json``).
        max_removals: per group, the most removals allowed: a count, a fraction
            of the group's observed members, or ``None`` (10%, at least 10).
            Checked for every group before any request.
        concurrency: requests in flight (default: the Client's).
        on_progress: called with a :class:`ProgressEvent` as work completes; may
            return an awaitable. Each event's ``applied`` names the member keys
            written, so a caller that cancels the apply knows what was applied.
        raise_on_error: raise :class:`PartialSyncError` if anything failed or
            its outcome stayed unknown.
        dry_run: send no write; report every change as skipped.
        replan: on drift, plan again from the same desired state instead of
            aborting.
        verify: re-read afterwards, settle what the re-read shows (a change whose
            answer was lost, or one that failed yet is in place) and report any
            drift.

    Returns:
        What was applied, failed, skipped and unknown (sent, answer lost), with
        request counts and timings.

    Raises:
        SyncAbortedError: removals exceed ``max_removals``, the state drifted since
            planning, a listing needed for removals is incomplete, or the plan was
            made against another backend. Nothing was written.
        PartialSyncError: ``raise_on_error`` is set and some changes failed or
            stayed unknown.
        asyncio.CancelledError: the apply was cancelled. Once writing started, the
            same exception is re-raised carrying a partial report (changes in
            flight unknown, changes not yet sent skipped): read it with
            :func:`~asyncgroups.sync.partial_report`.
    """
    check_apply_arguments(
        plan,
        max_removals,
        concurrency,
        on_progress,
        raise_on_error=raise_on_error,
        dry_run=dry_run,
        replan=replan,
        verify=verify,
    )
    started = time.monotonic()
    before = client.stats.snapshot()
    if plan.backend and plan.backend != client.backend_name:
        raise SyncAbortedError(
            f"the plan was made against {plan.backend!r}, not {client.backend_name!r}"
        )
    _guard_removals(plan, max_removals)
    drifted = await _drifted(client, plan, concurrency)
    if drifted and not replan:
        raise SyncAbortedError(
            f"refusing to apply: {len(drifted)} group(s) changed since planning "
            f"({', '.join(drifted[:10])}); plan again or pass replan=True"
        )
    if drifted:
        plan = await plan_sync(
            client,
            plan.desired(),
            prune=plan.prune,
            create_groups=plan.create_groups,
            by=plan.by,
            concurrency=concurrency,
        )
        _guard_removals(plan, max_removals)
    outcomes = {g.key: Outcome(g, g.group_id) for g in plan.groups}
    for outcome in outcomes.values():
        outcome.skipped.update(outcome.plan.unsupported)
        outcome.skipped.update(outcome.plan.unknown)

    def report(verified: bool | None = None) -> SyncReport:
        spent = client.stats.since(before)
        return SyncReport(
            groups=[o.report() for o in outcomes.values()],
            backend=client.backend_name,
            dry_run=dry_run,
            requests=spent.requests,
            retries=spent.retries,
            throttled=spent.throttled,
            seconds=time.monotonic() - started,
            verified=verified,
        )

    verified: bool | None = None
    if dry_run:
        for outcome in outcomes.values():
            g = outcome.plan
            if g.create:
                outcome.skipped[g.key] = f"{DRY_RUN}: create group"
            outcome.skipped.update(dict.fromkeys(g.to_add, f"{DRY_RUN}: add"))
            outcome.skipped.update(dict.fromkeys(g.to_remove, f"{DRY_RUN}: remove"))
    else:
        run = _Run(
            client,
            outcomes,
            asyncio.Semaphore(concurrency or client.concurrency),
            plan.operations,
            on_progress,
        )
        try:
            run.phase_now = "create"
            await _together(run.create(o) for o in outcomes.values() if o.plan.create)
            await run.phase("add")
            await run.phase("remove")
        except asyncio.CancelledError as cancelled:
            for outcome in outcomes.values():
                in_flight = (
                    {outcome.plan.key} & run.creating
                    if outcome.group_id is None
                    else run.sent.get(outcome.group_id, set())
                )
                outcome.interrupted(run.phase_now, in_flight)
            attach_report(cancelled, report())
            raise
        if verify:
            verified = await _verify(client, plan, outcomes, concurrency)
    final = report(verified)
    if raise_on_error and (final.failed or final.unknown):
        errors = list(
            {id(e): e for o in outcomes.values() for e in o.errors()}.values()
        )
        raise PartialSyncError(
            f"{final.failed} of {plan.operations} sync operations failed"
            + (f", {final.unknown} unknown" if final.unknown else ""),
            errors[:100],
            final,
        )
    return final
