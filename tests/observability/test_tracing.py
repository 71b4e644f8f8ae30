"""OpenTelemetry: one apply is a sync span with phase children and HTTP spans beneath.

The SDK's in-memory exporter collects the spans of asyncgroups and of
``opentelemetry-instrumentation-aiohttp-client``; the counts on the sync span are
compared with what the emulator recorded, through injected 429s and a 503.
"""

import subprocess
import sys
from collections.abc import Iterator

import pytest

pytest.importorskip("opentelemetry.sdk.trace")
pytest.importorskip("opentelemetry.instrumentation.aiohttp_client")

from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode

import asyncgroups as ag
from asyncgroups import tracing
from asyncgroups.testing import Fault, serve_emulator

HTTP_SCOPE = "opentelemetry.instrumentation.aiohttp_client"
PHASES = {"asyncgroups.sync.check", "asyncgroups.sync.apply", "asyncgroups.sync.verify"}


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Our spans and aiohttp's, to one in-memory exporter (no global provider)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.set_tracer_provider(provider)
    instrumentor = AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        tracing.set_tracer_provider(None)
        provider.shutdown()


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        above = by_id[parent.span_id]
        names.append(above.name)
        parent = above.parent
    return names


def _count(span: ReadableSpan, name: str) -> int:
    value = dict(span.attributes or {}).get(name, 0)
    assert isinstance(value, int)
    return value


def _is_http(span: ReadableSpan) -> bool:
    scope = span.instrumentation_scope
    return scope is not None and scope.name == HTTP_SCOPE


async def test_an_apply_is_a_sync_span_with_phases_and_http_spans_beneath(
    exporter: InMemorySpanExporter,
) -> None:
    async with serve_emulator("neuroio", seed=31) as emu:
        keys = emu.store.seed_users(40)
        for n in range(3):
            emu.store.seed_group(f"G{n}", members=keys[n * 10 : n * 10 + 4])
        desired = {f"G{n}": set(keys[n * 10 + 2 : n * 10 + 9]) for n in range(3)}
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        retry = ag.RetryPolicy(base_delay=0.01, max_delay=0.02)
        async with ag.Client(backend, retry=retry) as client:
            plan = await client.plan_sync(desired, prune=True)
            exporter.clear()
            before = len(emu.requests)
            emu.faults.add(
                Fault.status(429, retry_after=0.01),
                times=2,
                route="POST /v1/groups/persons/pids/",
            )
            emu.faults.add(Fault.status(503), times=1, route="GET /v1/groups/*")
            report = await client.apply(plan, max_removals=1.0)
        sent = emu.requests[before:]
        faults = dict(emu.faults.counts)
    assert report.converged, str(report)
    assert len(sent) > 6
    assert faults.get("429") == 2
    assert faults.get("503") == 1

    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    (sync,) = [s for s in spans if s.name == "asyncgroups.sync"]
    assert sync.parent is None
    assert sync.status.status_code is not StatusCode.ERROR
    attributes = dict(sync.attributes or {})
    # the counts on the span are the emulator's: every request it received, the
    # 429s and the 503 it answered, each of which was retried
    assert attributes[tracing.REQUESTS] == len(sent) == report.requests
    assert attributes[tracing.THROTTLED] == faults["429"] == report.throttled
    assert attributes[tracing.SERVER_ERRORS] == faults["503"]
    assert attributes[tracing.RETRIES] == faults["429"] + faults["503"]
    assert attributes[tracing.RETRIES] == report.retries
    assert attributes[tracing.BACKEND] == "neuroio"
    assert attributes[tracing.GROUPS] == 3
    assert attributes[tracing.KEYS] == plan.operations

    assert sync.context is not None
    phases = {
        s.name: s
        for s in spans
        if s.parent is not None and s.parent.span_id == sync.context.span_id
    }
    assert set(phases) == PHASES
    # phase counts add up to the sync's
    assert sum(_count(p, tracing.REQUESTS) for p in phases.values()) == len(sent)
    writes = dict(phases["asyncgroups.sync.apply"].attributes or {})
    assert writes[tracing.THROTTLED] == 2

    # one HTTP span per request the emulator received, each beneath a phase
    http = [s for s in spans if _is_http(s)]
    assert len(http) == len(sent)
    for span in http:
        above = _ancestors(span, by_id)
        assert above[-1] == "asyncgroups.sync"
        assert PHASES & set(above)
    # the writes nest under the members operations of the apply phase
    posts = [s for s in http if "POST" in s.name]
    assert posts
    for span in posts:
        above = _ancestors(span, by_id)
        assert above[:2] == ["asyncgroups.members.add_many", "asyncgroups.sync.apply"]
    statuses = [
        _count(s, "http.response.status_code") or _count(s, "http.status_code")
        for s in http
    ]
    assert statuses.count(429) == 2
    assert statuses.count(503) == 1


async def test_client_operations_are_spans(exporter: InMemorySpanExporter) -> None:
    async with serve_emulator("neuroio", seed=32) as emu:
        keys = emu.store.seed_users(5)
        gid = emu.store.seed_group("Eng", members=keys[:2])
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            assert (await client.groups.get(gid)).name == "Eng"
            await client.members.add(gid, keys[2:5])
            listed = [m.key async for m in client.members.list(gid)]
            with pytest.raises(ag.NotFoundError):
                await client.groups.get("999999")
        sent = len(emu.requests)
    assert sorted(listed) == sorted(keys)
    spans = exporter.get_finished_spans()
    ours = [s for s in spans if s.name.startswith("asyncgroups.")]
    assert [s.name for s in ours] == [
        "asyncgroups.groups.get",
        "asyncgroups.members.add",
        "asyncgroups.members.list",
        "asyncgroups.groups.get",
    ]
    get, add, listing, missing = (dict(s.attributes or {}) for s in ours)
    assert (get[tracing.GROUPS], get[tracing.REQUESTS]) == (1, 1)
    assert (add[tracing.GROUPS], add[tracing.KEYS]) == (1, 3)
    assert listing[tracing.KEYS] == 5
    assert ours[3].status.status_code is StatusCode.ERROR
    assert missing[tracing.BACKEND] == "neuroio"
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    http = [s for s in spans if _is_http(s)]
    assert len(http) == sent
    for span in http:
        assert _ancestors(span, by_id)[-1].startswith("asyncgroups.")


def test_without_opentelemetry_loaded_nothing_is_imported_or_traced() -> None:
    code = (
        "import sys, asyncio\n"
        "import asyncgroups, asyncgroups.tracing as t\n"
        "from asyncgroups.testing import serve_emulator\n"
        "async def main():\n"
        "    async with serve_emulator('neuroio', seed=1) as emu:\n"
        "        gid = emu.store.seed_group('Eng')\n"
        "        b = asyncgroups.connect('neuroio', base_url=emu.url, **emu.credentials)\n"
        "        async with asyncgroups.Client(b) as c:\n"
        "            plan = await c.plan_sync({'Eng': set()})\n"
        "            await c.apply(plan)\n"
        "            await c.groups.get(gid)\n"
        "asyncio.run(main())\n"
        "assert t.tracer() is None\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stderr
