"""Applying a [`SyncPlan`][asyncgroups.sync.SyncPlan]: guard, write, verify.

Order: the ``max_removals`` guard (before any request), a re-read of observed state
compared with the plan's fingerprints (drift aborts, or re-plans), group creations,
additions, removals, then an optional verifying re-read. Writes go through the
Client's members namespace only, so batching limits, bad-key isolation, retries and
rate limits are the Client's; this module decides what to send and records every
outcome (`outcome` decides failed or unknown) in a
[`SyncReport`][asyncgroups.sync.SyncReport].
"""

import asyncio
import time
from typing import Any

from asyncgroups import tracing
from asyncgroups.errors import (
    InvalidInputError,
    PartialSyncError,
    SyncAbortedError,
)
from asyncgroups.sync.checks import check_apply_arguments, removal_limit
from asyncgroups.sync.guard import drifted_groups, guard_removals
from asyncgroups.sync.heap import frozen_heap
from asyncgroups.sync.journal import JournalStore, plan_fingerprint
from asyncgroups.sync.outcome import Outcome
from asyncgroups.sync.plan import SyncClient, SyncPlan, plan_sync
from asyncgroups.sync.report import SyncReport, attach_report
from asyncgroups.sync.resume import Recorder, Replayed, replay, restore
from asyncgroups.sync.run import ProgressCallback, Run, together
from asyncgroups.sync.verify import verify as _verify

__all__ = ["apply", "removal_limit"]

DRY_RUN = "dry run"


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
    journal: JournalStore | None = None,
) -> SyncReport:
    """Apply ``plan`` safely: guard, check for drift, write, verify.

    While it runs, the objects that existed before it are frozen from the cyclic
    garbage collector (``gc.freeze``) and full collections are ten times rarer,
    unless something is frozen already.

    Args:
        client: the Client to write through.
        plan: from [`plan_sync`][asyncgroups.sync.plan_sync] (or
            ``SyncPlan.from_json``).
        max_removals: per group, the most removals allowed: a count, a fraction
            of the group's observed members, or ``None`` (10%, at least 10).
            Checked for every group before any request.
        concurrency: requests in flight (default: the Client's).
        on_progress: called with a [`ProgressEvent`][asyncgroups.sync.ProgressEvent] as
            work completes; may return an awaitable. Each event's ``applied`` names the
            member keys written, so a caller that cancels the apply knows what was
            applied.
        raise_on_error: raise [`PartialSyncError`][asyncgroups.errors.PartialSyncError]
            if anything failed or its outcome stayed unknown.
        dry_run: send no write; report every change as skipped.
        replan: on drift, plan again from the same desired state instead of
            aborting.
        verify: re-read afterwards, settle what the re-read shows (a change whose
            answer was lost, or one that failed yet is in place) and report any
            drift.
        journal: where to record each write's intent before it is sent and its
            outcome after ([`SQLiteJournal`][asyncgroups.sync.SQLiteJournal],
            [`RedisJournal`][asyncgroups.sync.RedisJournal]). A journal that holds
            an earlier, interrupted apply of the same plan resumes it: what it
            recorded is kept, only the groups with writes left open are re-read,
            and the report covers both runs. Bound to the plan's fingerprint.

    Returns:
        What was applied, failed, skipped and unknown (sent, answer lost), with
        request counts and timings.

    Raises:
        SyncAbortedError: removals exceed ``max_removals``, the state drifted since
            planning, a listing needed for removals is incomplete, or the plan was
            made against another backend, or ``journal`` records another plan.
            Nothing was written.
        PartialSyncError: ``raise_on_error`` is set and some changes failed or
            stayed unknown.
        asyncio.CancelledError: the apply was cancelled. Once writing started, the
            same exception is re-raised carrying a partial report (changes in
            flight unknown, changes not yet sent skipped): read it with
            `partial_report`.
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
    if journal is not None and (replan or dry_run):
        raise InvalidInputError(
            "a journal records one plan's writes: it cannot be used with "
            + ("replan=True" if replan else "dry_run=True")
        )
    started = time.monotonic()
    before = client.stats.snapshot()
    if plan.backend and plan.backend != client.backend_name:
        raise SyncAbortedError(
            f"the plan was made against {plan.backend!r}, not {client.backend_name!r}"
        )
    # Removals the journal shows made count too: the plan's per-group removals,
    # made or not, stay within the limit.
    guard_removals(plan, max_removals)
    recorder = state = None
    if journal is not None:
        state = replay(journal.open(plan_fingerprint(plan), plan.to_json()))
        recorder = Recorder(journal)
    try:
        with (
            frozen_heap(),
            tracing.span(
                client,
                "asyncgroups.sync",
                groups=len(plan.groups),
                keys=plan.operations,
            ),
        ):
            return await _apply(
                client,
                plan,
                max_removals,
                concurrency,
                on_progress,
                raise_on_error=raise_on_error,
                dry_run=dry_run,
                replan=replan,
                verify=verify,
                recorder=recorder,
                state=state,
                started=started,
                before=before,
            )
    finally:
        if journal is not None:
            journal.close()


async def _apply(
    client: SyncClient,
    plan: SyncPlan,
    max_removals: int | float | None,
    concurrency: int | None,
    on_progress: ProgressCallback | None,
    *,
    raise_on_error: bool,
    dry_run: bool,
    replan: bool,
    verify: bool,
    recorder: Recorder | None,
    state: Replayed | None,
    started: float,
    before: Any,
) -> SyncReport:
    resumed = state is not None and bool(
        state.checked or state.created or state.open or state.open_creates
    )
    reads = client.stats.snapshot()
    if state is None or not state.checked:
        with tracing.span(client, "asyncgroups.sync.check", groups=len(plan.groups)):
            drifted = await drifted_groups(client, plan, concurrency)
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
            guard_removals(plan, max_removals)
        if recorder is not None:
            recorder.checked()
    outcomes = {g.key: Outcome(g, g.group_id) for g in plan.groups}
    for outcome in outcomes.values():
        outcome.skipped.update(outcome.plan.unsupported)
        outcome.skipped.update(outcome.plan.unknown)
    if state is not None and recorder is not None:
        await restore(client, plan, outcomes, state, recorder, concurrency)
    drift_reads = client.stats.since(reads).requests
    verify_reads = 0

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
            drift_reads=drift_reads,
            verify_reads=verify_reads,
            resumed=resumed,
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
        run = Run(
            client,
            outcomes,
            concurrency or client.concurrency,
            plan.operations,
            on_progress,
            recorder=recorder,
        )
        try:
            with tracing.span(
                client,
                "asyncgroups.sync.apply",
                groups=len(plan.groups),
                keys=plan.operations,
            ):
                run.phase_now = "create"
                await together(
                    run.create(o)
                    for o in outcomes.values()
                    if o.plan.create
                    and o.group_id is None
                    and not o.settled(o.plan.key)
                )
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
            reads = client.stats.snapshot()
            written = run.written | {
                o.group_id for o in outcomes.values() if o.created and o.group_id
            }
            if state is not None:
                written |= state.unfinished_groups
            with tracing.span(client, "asyncgroups.sync.verify", groups=len(written)):
                verified = await _verify(client, plan, outcomes, concurrency, written)
            verify_reads = client.stats.since(reads).requests
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
