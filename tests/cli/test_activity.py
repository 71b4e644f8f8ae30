"""Retry warnings come at most one every few seconds, counting the ones held back."""

import io

import asyncgroups as ag
from asyncgroups.cli.activity import Activity
from asyncgroups.cli.output import Output


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def retry(
    attempt: int, status: int | None = 503, error: str | None = None
) -> ag.RetryEvent:
    return ag.RetryEvent(
        "GET", "https://api.example/v1/groups", attempt, 1.5, status=status, error=error
    )


def test_warnings_are_throttled_and_count_what_they_held_back() -> None:
    err = io.StringIO()
    clock = Clock()
    activity = Activity(Output(stderr=err, fancy=False), every=2.0, clock=clock)
    hooks = activity.hooks()
    assert hooks.on_retry is not None
    hooks.on_retry(retry(1, status=429))
    clock.now += 0.5
    hooks.on_retry(retry(2))
    hooks.on_retry(retry(3, status=None, error="ConnectError"))
    clock.now += 2.0
    hooks.on_retry(retry(4, status=None, error="ConnectError"))
    lines = err.getvalue().splitlines()
    assert lines == [
        "WARNING: GET https://api.example/v1/groups rate limited (429) on attempt 1; "
        "retrying in 1.5 s",
        "WARNING: GET https://api.example/v1/groups failed (ConnectError) on attempt 4; "
        "retrying in 1.5 s; 2 more retries since the last warning",
    ]
    assert activity.retries == 4


def test_a_phase_counts_the_requests_answered_in_it() -> None:
    err = io.StringIO()
    activity = Activity(Output(stderr=err, fancy=False))
    hooks = activity.hooks()
    assert hooks.on_response is not None
    event = ag.ResponseEvent("GET", "https://api.example/", 1, 200, 0.01)
    hooks.on_response(event)
    with activity.phase("planning"):
        for _ in range(3):
            hooks.on_response(event)
    assert activity.responses == 4
    # Quick work prints no progress line at all.
    assert err.getvalue() == ""
