"""The report is the truth: applied, failed, skipped or unknown, settled by a re-read.

Every test checks the report against what the emulator's store holds.
"""

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web

import asyncgroups as ag
from asyncgroups.errors import outcome_unknown
from asyncgroups.sync import partial_report
from asyncgroups.sync.outcome import CANCELLED_IN_FLIGHT, NOT_SENT, Outcome
from asyncgroups.sync.report import ProgressEvent
from asyncgroups.sync.syncplan import GroupPlan
from asyncgroups.testing import Emulator, Fault, serve_emulator

#: One attempt: an answer lost is not re-sent, so its outcome stays unknown.
ONCE = ag.RetryPolicy(max_attempts=1)
ADD_ROUTE = "POST /v1/groups/persons/pids/"


def _client(emu: Emulator[Any], retry: ag.RetryPolicy = ONCE) -> ag.Client:
    backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
    return ag.Client(backend, retry=retry)


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (ag.ConnectionDroppedError("dropped"), True),
        (ag.RequestTimeoutError("slow"), True),
        (ag.ServerError("bad gateway", status=502), True),
        (ag.ServerError("unavailable", status=503), True),
        (ag.ServerError("gateway timeout", status=504), True),
        (ag.ServerError("boom", status=500), False),
        (ag.ConnectError("refused"), False),
        (ag.RateLimitedError("slow down", status=429), False),
        (ag.RejectedRequestError("no such pid", status=400), False),
        (ag.RateLimitedError("slow down", status=429, attempts=2), True),
        (ag.RejectedRequestError("already", status=400, attempts=3), True),
        (ag.RateLimitedError("slow down", status=429, method="PUT"), True),
        (ag.NotFoundError("gone", status=404, method="DELETE"), True),
        (ag.NotFoundError("gone", status=404, method="PATCH"), False),
    ],
)
def test_the_one_rule_for_an_unknown_outcome(
    error: ag.AsyncGroupsError, unknown: bool
) -> None:
    assert outcome_unknown(error) is unknown


async def test_a_lost_answer_is_unknown_until_verification_sees_it_applied() -> None:
    """A chunk applied but answered by a dropped connection: unknown, then applied."""
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(150)
        gid = emu.store.seed_group("Eng")
        emu.faults.add(Fault.drop(after_apply=True), times=1, route=ADD_ROUTE)
        async with _client(emu) as client:
            plan = await client.plan_sync({"Eng": set(keys)})
            report = await client.apply(plan, verify=False)
        group = report.groups[0]
        stored = emu.store.members(gid)
        assert stored == frozenset(keys)
        assert not group.failed
        assert len(group.unknown) == 100
        assert set(group.unknown) | set(group.added) == set(keys)
        assert all("ConnectionDroppedError" in why for why in group.unknown.values())
        assert report.unknown == 100
        assert not report.converged
        data = json.loads(report.to_json())
        assert data["unknown"] == 100
        assert len(data["groups"][0]["unknown"]) == 100
        assert "unknown" in str(report).splitlines()[0]
        assert "unknown Eng:" in str(report)

        emu.store.seed_group("Ops")
        emu.faults.add(Fault.drop(after_apply=True), times=1, route=ADD_ROUTE)
        async with _client(emu) as client:
            plan = await client.plan_sync({"Ops": set(keys)})
            report = await client.apply(plan)
        assert report.unknown == report.failed == 0, str(report)
        assert report.added == 150
        assert report.verified is True
        assert report.converged


async def test_a_lost_request_never_applied_is_settled_as_failed() -> None:
    """Dropped before the server applied it: unknown, then failed with its error."""
    async with serve_emulator("neuroio", seed=2) as emu:
        keys = emu.store.seed_users(40)
        gid = emu.store.seed_group("Eng")
        emu.faults.add(Fault.drop(), times=1, route=ADD_ROUTE)
        async with _client(emu) as client:
            plan = await client.plan_sync({"Eng": set(keys)})
            report = await client.apply(plan)
            assert emu.store.members(gid) == frozenset()
            group = report.groups[0]
            assert not group.unknown
            assert set(group.failed) == set(keys)
            assert all(
                isinstance(e, ag.ConnectionDroppedError) for e in group.failed.values()
            )
            assert report.drift["Eng"].missing == tuple(sorted(keys))
            again = await client.apply(await client.plan_sync({"Eng": set(keys)}))
        assert again.converged
        assert emu.store.members(gid) == frozenset(keys)


async def test_gateway_errors_on_writes_are_unknown_and_settled_per_key() -> None:
    """HTML 503s from a gateway on every add: unknown, settled as failed, exactly."""
    async with serve_emulator("neuroio", seed=3) as emu:
        keys = emu.store.seed_users(30)
        gid = emu.store.seed_group("Eng")
        emu.faults.add(Fault.status(503, html=True), route=ADD_ROUTE)
        async with _client(emu) as client:
            report = await client.apply(
                await client.plan_sync({"Eng": set(keys)}), verify=False
            )
            assert report.unknown == 30
            with pytest.raises(ag.PartialSyncError) as caught:
                await client.apply(
                    await client.plan_sync({"Eng": set(keys)}), raise_on_error=True
                )
        settled = caught.value.report
        assert settled.failed == 30
        assert settled.unknown == 0
        assert emu.store.members(gid) == frozenset()
        assert all(isinstance(e, ag.ServerError) for e in caught.value.exceptions)


def test_settling_moves_what_the_reread_shows() -> None:
    """Failed or unknown changes seen in place are applied; unknown unseen ones failed."""
    plan = GroupPlan(
        "g",
        "1",
        desired=("a", "b", "c", "d"),
        to_add=("a", "b", "c", "d"),
        to_remove=("x", "y", "z"),
    )
    outcome = Outcome(plan, "1")
    lost = ag.ConnectionDroppedError("lost")
    refused = ag.ServerError("boom", status=500)
    outcome.record("add", ["a"], {"b": lost, "c": lost, "d": refused})
    outcome.record("remove", [], {"x": lost, "y": lost, "z": refused})
    assert set(outcome.unknown) == {"b", "c", "x", "y"}
    partial = Outcome(plan, "1", unknown=dict(outcome.unknown))
    partial.settle(frozenset({"a", "b", "y"}), complete=False)
    assert partial.added == {"b"}
    assert set(partial.unknown) == {"c", "x", "y"}
    outcome.settle(frozenset({"a", "b", "d", "y", "z"}))
    assert outcome.added == {"a", "b", "d"}
    assert outcome.removed == {"x"}
    assert outcome.failed == {"c": lost, "y": lost, "z": refused}
    assert outcome.unknown == {}


def test_an_interrupted_apply_marks_in_flight_unknown_and_later_phases_skipped() -> (
    None
):
    plan = GroupPlan("g", "1", desired=("a", "b"), to_add=("a", "b"), to_remove=("x",))
    outcome = Outcome(plan, "1", added={"a"})
    outcome.interrupted("add", {"a", "b"})
    report = outcome.report()
    assert report.added == ("a",)
    assert report.unknown == {"b": CANCELLED_IN_FLIGHT}
    assert report.skipped == {"x": NOT_SENT}
    created = Outcome(
        GroupPlan("n", None, create=True, desired=("a",), to_add=("a",)), None
    )
    created.interrupted("create", {"n"})
    assert created.report().unknown == {"n": CANCELLED_IN_FLIGHT}
    assert created.report().skipped == {"a": NOT_SENT}
    queued = Outcome(
        GroupPlan("q", None, create=True, desired=("a",), to_add=("a",)), None
    )
    queued.interrupted("create", set())
    assert queued.report().skipped == {"q": NOT_SENT, "a": NOT_SENT}
    assert queued.report().unknown == {}


async def test_a_cancelled_apply_carries_a_partial_report_that_matches_the_store() -> (
    None
):
    """Cancelled mid-apply: applied keys are stored, in-flight keys unknown, none lost."""
    async with serve_emulator("neuroio", seed=4) as emu:
        keys = emu.store.seed_users(1000)
        gid = emu.store.seed_group("Sync")
        old = emu.store.seed_group("Old", members=keys[:20])
        emu.faults.add(Fault.latency(0.01))
        async with _client(emu, ag.RetryPolicy()) as client:
            plan = await client.plan_sync({"Sync": set(keys), "Old": set()}, prune=True)
            three = asyncio.Event()
            events: list[ProgressEvent] = []

            def on_progress(event: ProgressEvent) -> None:
                events.append(event)
                if len(events) == 3:
                    three.set()

            task = asyncio.create_task(
                client.apply(
                    plan, concurrency=2, on_progress=on_progress, max_removals=1.0
                )
            )
            await three.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError) as caught:
                await task
        report = partial_report(caught.value)
        assert report is not None
        assert any("cancelled" in note for note in caught.value.__notes__)
        sync, old_group = report.groups
        stored = emu.store.members(gid)
        assert set(sync.added) <= stored
        assert stored <= set(sync.added) | set(sync.unknown)
        assert set(sync.added) | set(sync.unknown) | set(sync.skipped) == set(keys)
        # at most the two requests in flight at the cancel are unknown
        assert 0 < len(sync.unknown) <= 2 * 100
        assert sync.skipped
        assert set(sync.skipped).isdisjoint(stored)
        assert all(why == CANCELLED_IN_FLIGHT for why in sync.unknown.values())
        assert set(old_group.skipped) == set(keys[:20])
        assert emu.store.members(old) == frozenset(keys[:20])
        assert not report.converged
        assert partial_report(ValueError()) is None


async def test_periscope_write_applied_even_if_the_reread_fails() -> None:
    """The PUT succeeded and the verifying GET failed: applied, not failed."""
    async with serve_emulator("periscope", seed=1) as emu:
        (email,) = emu.store.seed_users(1)
        group = emu.store.seed_group("Team")
        # The first GET of the user is the read; the second, the verifying re-read.
        emu.faults.add(Fault.status(500), times=1, after=1, route="GET /api/v1/users")
        async with _client(emu) as client:
            result = await client.members.add(group, [email])
        assert email in emu.store.members(group)
        assert result.ok, result.failed
        assert result.succeeded == {email}
        assert emu.faults.counts["500"] == 1


async def test_a_resent_put_refused_at_last_is_checked_then_unknown() -> None:
    """A PUT applied, its answer lost, re-sent and answered 429: never a failure.

    aiohttp re-sends the PUT by itself when the kept-alive connection drops, so
    the 429 is the re-send's. Periscope re-reads the record and finds the change;
    if that re-read fails too, the change is unknown until verification sees it.
    """
    async with serve_emulator("periscope", seed=2) as emu:
        emails = emu.store.seed_users(2)
        team = emu.store.seed_group("Team")
        put, get = "PUT /api/v1/users", "GET /api/v1/users"

        def user1(request: web.Request) -> bool:
            # the user's own record: its first GET is the read, the next the check
            return request.headers.get("HTTP-X-EMAIL") == emails[1]

        once = ag.RetryPolicy(max_attempts=1)
        async with _client(emu, once) as client:
            emu.faults.add(Fault.drop(after_apply=True), times=1, route=put)
            emu.faults.add(Fault.status(429, retry_after=0.01), times=1, route=put)
            plan = await client.plan_sync({"Team": {emails[0]}})
            report = await client.apply(plan, verify=False)
            assert emu.store.members(team) == {emails[0]}
            assert report.groups[0].added == (emails[0],), str(report)
            assert emu.faults.counts["429"] == 1

            plan = await client.plan_sync({"Team": set(emails)})
            emu.faults.add(Fault.drop(after_apply=True), times=1, route=put)
            emu.faults.add(Fault.status(429, retry_after=0.01), times=1, route=put)
            emu.faults.add(Fault.status(500), times=1, after=1, route=get, when=user1)
            report = await client.apply(plan, verify=False)
            assert emu.store.members(team) == set(emails)
            assert not report.failed, str(report)
            assert "RateLimitedError" in report.groups[0].unknown[emails[1]]

            plan = await client.plan_sync({"Team": {emails[0]}}, prune=True)
            emu.faults.add(Fault.drop(after_apply=True), times=1, route=put)
            emu.faults.add(Fault.status(429, retry_after=0.01), times=1, route=put)
            emu.faults.add(Fault.status(500), times=1, after=1, route=get, when=user1)
            report = await client.apply(plan)
        assert emu.store.members(team) == {emails[0]}
        assert report.converged, str(report)
        assert report.groups[0].removed == (emails[1],)
