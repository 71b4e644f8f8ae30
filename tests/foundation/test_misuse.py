"""Misuse of the public API: a typed error naming the argument, before any request.

Each case calls one public entry point (Client and its policies, the namespaces,
plan/apply, the desired-state sources) with a wrong type, a wrong value, an empty
or a huge input. Each must raise ``ConfigurationError`` (setup) or
``InvalidInputError`` (input) whose message names the argument, and the emulator
must have received no request at all.
"""

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

import asyncgroups as ag
from asyncgroups import sync
from asyncgroups.testing import Emulator

# Misuse is what the types forbid: the table calls through ``Any`` on purpose.
Call = Callable[[Any, Emulator[Any], Path], Any]
loose: Any = ag
sources: Any = sync
desired_from_client = sources.desired_from_client
desired_from_csv = sources.desired_from_csv
desired_from_json = sources.desired_from_json
desired_from_mapping = sources.desired_from_mapping

HUGE = "x" * 100_000


@attrs.frozen
class Case:
    id: str
    call: Call
    error: type[ag.AsyncGroupsError]
    names: str  # what the message must name
    backend: str = "neuroio"


def client_with(**kwargs: Any) -> Call:
    def call(client: Any, emu: Emulator[Any], tmp: Path) -> object:
        return loose.Client(client.backend, **kwargs)

    return call


def policy(cls: type[Any], **kwargs: Any) -> Call:
    return lambda client, emu, tmp: cls(**kwargs)


async def _plan(client: ag.Client) -> ag.SyncPlan:
    return await client.plan_sync({})


C, In = ag.ConfigurationError, ag.InvalidInputError

CASES = [
    # Client: types and values
    Case("client-backend", lambda c, e, t: loose.Client("neuroio"), C, "backend"),
    Case("client-timeout-str", client_with(timeout="x"), C, "timeout"),
    Case("client-timeout-negative", client_with(timeout=-1), C, "timeout"),
    Case("client-timeout-nan", client_with(timeout=math.nan), C, "timeout"),
    Case("client-rate-limit-str", client_with(rate_limit="x"), C, "rate_limit"),
    Case("client-retry-str", client_with(retry="x"), C, "retry"),
    Case("client-concurrency-str", client_with(concurrency="x"), C, "concurrency"),
    Case("client-concurrency-zero", client_with(concurrency=0), C, "concurrency"),
    Case("client-concurrency-bool", client_with(concurrency=True), C, "concurrency"),
    Case("client-max-body-str", client_with(max_body="x"), C, "max_body"),
    Case("client-max-body-zero", client_with(max_body=0), C, "max_body"),
    Case("client-hooks-str", client_with(hooks="x"), C, "hooks"),
    Case("client-verify-str", client_with(verify="no"), C, "verify"),
    Case("client-ssl-context-str", client_with(ssl_context="x"), C, "ssl_context"),
    Case(
        "client-trace-configs-str", client_with(trace_configs="x"), C, "trace_configs"
    ),
    # Policies
    Case("retry-statuses-none", policy(ag.RetryPolicy, statuses=None), C, "statuses"),
    Case("retry-statuses-str", policy(ag.RetryPolicy, statuses="429"), C, "statuses"),
    Case("retry-statuses-range", policy(ag.RetryPolicy, statuses=[99]), C, "statuses"),
    Case(
        "retry-attempts-zero", policy(ag.RetryPolicy, max_attempts=0), C, "max_attempts"
    ),
    Case(
        "retry-attempts-str",
        policy(ag.RetryPolicy, max_attempts="3"),
        C,
        "max_attempts",
    ),
    Case("retry-base-delay", policy(ag.RetryPolicy, base_delay=-1), C, "base_delay"),
    Case(
        "retry-max-delay-inf",
        policy(ag.RetryPolicy, max_delay=math.inf),
        C,
        "max_delay",
    ),
    Case("retry-jitter-str", policy(ag.RetryPolicy, jitter="yes"), C, "jitter"),
    Case("rate-per-second-str", policy(ag.RateLimit, per_second="10"), C, "per_second"),
    Case("rate-burst-zero", policy(ag.RateLimit, burst=0), C, "burst"),
    Case(
        "rate-concurrency-float",
        policy(ag.RateLimit, max_concurrency=1.5),
        C,
        "max_concurrency",
    ),
    Case("rate-adaptive-str", policy(ag.RateLimit, adaptive="yes"), C, "adaptive"),
    # Groups
    Case("groups-create-empty", lambda c, e, t: c.groups.create(""), In, "name"),
    Case("groups-create-int", lambda c, e, t: c.groups.create(123), In, "name"),
    Case("groups-create-huge", lambda c, e, t: c.groups.create(HUGE), In, "name"),
    Case(
        "groups-create-description",
        lambda c, e, t: c.groups.create("a", description=5),
        In,
        "description",
    ),
    Case(
        "groups-create-extra-list",
        lambda c, e, t: c.groups.create("a", extra=["x"]),
        In,
        "extra",
    ),
    Case("groups-get-empty", lambda c, e, t: c.groups.get(""), In, "group id"),
    Case("groups-get-none", lambda c, e, t: c.groups.get(None), In, "group id"),
    Case("groups-get-huge", lambda c, e, t: c.groups.get(HUGE), In, "group id"),
    Case(
        "groups-list-query", lambda c, e, t: anext(c.groups.list(query=5)), In, "query"
    ),
    # Members
    Case(
        "members-add-string",
        lambda c, e, t: c.members.add("1", "single-string"),
        In,
        "keys",
    ),
    Case("members-add-bytes", lambda c, e, t: c.members.add("1", b"ab"), In, "keys"),
    Case("members-add-none", lambda c, e, t: c.members.add("1", None), In, "keys"),
    Case("members-add-none-key", lambda c, e, t: c.members.add("1", [None]), In, "key"),
    Case("members-add-empty-key", lambda c, e, t: c.members.add("1", [""]), In, "key"),
    Case("members-add-huge-key", lambda c, e, t: c.members.add("1", [HUGE]), In, "key"),
    Case(
        "members-add-concurrency-zero",
        lambda c, e, t: c.members.add("1", ["a"], concurrency=0),
        In,
        "concurrency",
    ),
    Case(
        "members-add-concurrency-str",
        lambda c, e, t: c.members.add("1", ["a"], concurrency="2"),
        In,
        "concurrency",
    ),
    Case(
        "members-add-group-empty",
        lambda c, e, t: c.members.add("", ["a"]),
        In,
        "group id",
    ),
    Case(
        "members-remove-string",
        lambda c, e, t: c.members.remove("1", "abc"),
        In,
        "keys",
    ),
    Case(
        "members-add-many-str",
        lambda c, e, t: c.members.add_many("1"),
        In,
        "memberships",
    ),
    Case(
        "members-add-many-keys-str",
        lambda c, e, t: c.members.add_many({"1": "abc"}),
        In,
        "keys",
    ),
    Case(
        "members-add-many-on-chunk",
        lambda c, e, t: c.members.add_many({"1": ["a"]}, on_chunk=5),
        In,
        "on_chunk",
    ),
    Case(
        "members-list-empty", lambda c, e, t: anext(c.members.list("")), In, "group id"
    ),
    # Users
    Case(
        "users-create-email-int",
        lambda c, e, t: c.users.create(email=5),
        In,
        "email",
        "periscope",
    ),
    Case(
        "users-get-empty", lambda c, e, t: c.users.get(""), In, "user id", "periscope"
    ),
    Case(
        "users-update-first-name",
        lambda c, e, t: c.users.update("a@example.com", first_name=3),
        In,
        "first_name",
        "periscope",
    ),
    Case(
        "users-update-huge",
        lambda c, e, t: c.users.update("a@example.com", last_name=HUGE),
        In,
        "last_name",
        "periscope",
    ),
    # Plan and apply
    Case("plan-none", lambda c, e, t: c.plan_sync(None), In, "desired"),
    Case(
        "plan-keys-string",
        lambda c, e, t: c.plan_sync({"g": "abc"}),
        In,
        "members of 'g'",
    ),
    Case("plan-by", lambda c, e, t: c.plan_sync({"g": ["a"]}, by="nope"), In, "by"),
    Case(
        "plan-prune-str",
        lambda c, e, t: c.plan_sync({"g": ["a"]}, prune="yes"),
        In,
        "prune",
    ),
    Case(
        "plan-create-groups-str",
        lambda c, e, t: c.plan_sync({"g": ["a"]}, create_groups="no"),
        In,
        "create_groups",
    ),
    Case(
        "plan-key-map-int",
        lambda c, e, t: c.plan_sync({"g": ["a"]}, key_map=5),
        In,
        "key_map",
    ),
    Case(
        "plan-key-map-returns-int",
        lambda c, e, t: c.plan_sync({"g": ["a"]}, key_map=lambda k: 5),
        In,
        "key_map",
    ),
    Case(
        "plan-huge-key", lambda c, e, t: c.plan_sync({"g": [HUGE]}), In, "member of 'g'"
    ),
    Case("apply-none", lambda c, e, t: c.apply(None), In, "plan"),
    Case("apply-dict", lambda c, e, t: c.apply({"groups": []}), In, "plan"),
    Case(
        "apply-concurrency-negative",
        lambda c, e, t: _apply(c, concurrency=-1),
        In,
        "concurrency",
    ),
    Case(
        "apply-concurrency-str",
        lambda c, e, t: _apply(c, concurrency="4"),
        In,
        "concurrency",
    ),
    Case(
        "apply-max-removals-str",
        lambda c, e, t: _apply(c, max_removals="x"),
        In,
        "max_removals",
    ),
    Case(
        "apply-max-removals-negative",
        lambda c, e, t: _apply(c, max_removals=-1),
        In,
        "max_removals",
    ),
    Case(
        "apply-on-progress", lambda c, e, t: _apply(c, on_progress=5), In, "on_progress"
    ),
    Case("apply-dry-run-str", lambda c, e, t: _apply(c, dry_run="no"), In, "dry_run"),
    # Sources
    Case(
        "source-mapping-list",
        lambda c, e, t: desired_from_mapping([("g", ["a"])]),
        In,
        "desired",
    ),
    Case("source-csv-path-int", lambda c, e, t: desired_from_csv(5), In, "path"),
    Case(
        "source-csv-encoding",
        lambda c, e, t: desired_from_csv(_csv(t), encoding="nope"),
        In,
        "encoding",
    ),
    Case(
        "source-json-encoding-int",
        lambda c, e, t: desired_from_json(_csv(t), encoding=8),
        In,
        "encoding",
    ),
    Case(
        "source-client-groups-str",
        lambda c, e, t: desired_from_client(c, "eng"),
        In,
        "groups",
    ),
    Case(
        "source-client-key-map",
        lambda c, e, t: desired_from_client(c, key_map=5),
        In,
        "key_map",
    ),
    Case("source-client-by", lambda c, e, t: desired_from_client(c, by="x"), In, "by"),
    Case(
        "source-client-not-a-client",
        lambda c, e, t: desired_from_client(None),
        In,
        "source",
    ),
]


async def _apply(client: Any, **kwargs: Any) -> object:
    return await client.apply(ag.SyncPlan(), **kwargs)


def _csv(tmp: Path) -> Path:
    path = tmp / "desired.csv"
    path.write_text("group,member\ng,a\n", encoding="utf-8")
    return path


async def _call(case: Case, client: Any, emu: Emulator[Any], tmp: Path) -> None:
    result = case.call(client, emu, tmp)
    if isinstance(result, Awaitable):
        await result
    # A wrong argument must fail; getting here is a missed check.
    pytest.fail(f"{case.id}: no error")


@pytest.fixture
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator[Any]]:
    case: Case = request.node.callspec.params["case"]
    async with loose.testing.serve_emulator(case.backend, seed=2) as emu:
        yield emu


def test_the_table_is_large_enough() -> None:
    """At least 40 misuses, each with its own id."""
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_misuse_is_a_typed_error_naming_the_argument_and_sends_nothing(
    emulator: Emulator[Any], tmp_path: Path, case: Case
) -> None:
    backend = ag.connect(case.backend, base_url=emulator.url, **emulator.credentials)
    async with ag.Client(backend) as client:
        with pytest.raises(case.error) as caught:
            await _call(case, client, emulator, tmp_path)
    assert case.names in str(caught.value), str(caught.value)
    assert emulator.requests == []
