"""Transport overhead: raw aiohttp vs the full asyncgroups stack, same 5,000 GETs.

A tiny aiohttp.web server runs in a separate process (no added latency). Each round
sends 5,000 GET requests, 16 at once, with a bare ``aiohttp.ClientSession``, through
the one path a Client installs (``Observed(Retrying(RateLimited(Aiohttp)))``:
counting, retries on, limiter unlimited), through a bare ``AiohttpTransport`` (to
tell the layers' share from the base transport's), and through an
``AiohttpTransport`` that reads every body with ``resp.read()`` (what taking a body
that has fully arrived straight from the stream saves). Rounds are interleaved, the
order rotating, so drift hits all alike.

Two figures per variant: wall time, and the client's CPU per request (this
process's CPU time; the server is another process). CPU per request is the figure
that holds on a shared machine: the wall ratio mostly measures the server. Prints
the ratios of medians and writes ``benchmarks/results/transport_overhead.json``.

Run: ``python benchmarks/transport_overhead.py [--rounds 15] [--requests 5000]``
"""

import argparse
import asyncio
import json
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

import asyncgroups as ag
from asyncgroups.transport.aiohttp import AiohttpTransport
from asyncgroups.transport.base import AsyncTransport, Request
from asyncgroups.transport.observed import ObservedTransport, Observer
from asyncgroups.transport.stack import build_stack

Timing = tuple[float, float]  # (wall seconds, client CPU seconds)

SERVER = """
import sys
from aiohttp import web

async def group(request):
    return web.json_response({"id": request.match_info["gid"], "name": "Engineering"})

app = web.Application()
app.router.add_get("/groups/{gid}", group)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

CONCURRENCY = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(url + "/groups/1") as resp:
                    await resp.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError("benchmark server did not start")


HEADERS = {"Authorization": "Token bench-token-123456"}


async def run_raw(url: str, n: int) -> Timing:
    async with aiohttp.ClientSession() as session:
        counter = iter(range(n))

        async def worker() -> None:
            for i in counter:
                async with session.get(f"{url}/groups/{i}", headers=HEADERS) as resp:
                    await resp.read()
                    assert resp.status == 200

        cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started, time.process_time() - cpu


async def run_transport(url: str, n: int) -> Timing:
    """The bare AiohttpTransport: attributes overhead to it vs the layers above."""
    return await _run(AiohttpTransport(), url, n)


class _ReadThrough(AiohttpTransport):
    """Every body through ``resp.read()``, as a traced session reads it."""

    def __init__(self) -> None:
        super().__init__()
        self._take_received = False


async def run_read_through(url: str, n: int) -> Timing:
    """The bare AiohttpTransport without taking received bodies from the stream."""
    return await _run(_ReadThrough(), url, n)


async def run_stack(url: str, n: int) -> Timing:
    """The one path a Client installs around its own transport."""
    observer = Observer()
    transport = ObservedTransport(
        build_stack(
            AiohttpTransport(),
            observer=observer,
            retry=ag.RetryPolicy(),
            rate_limit=ag.RateLimit.unlimited(),
        ),
        observer,
    )
    timing = await _run(transport, url, n)
    assert observer.stats.requests == n
    return timing


async def _run(transport: AsyncTransport, url: str, n: int) -> Timing:
    try:
        counter = iter(range(n))

        async def worker() -> None:
            for i in counter:
                response = await transport.send(
                    Request("GET", f"{url}/groups/{i}", headers=HEADERS)
                )
                assert response.status == 200

        cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        timing = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await transport.aclose()
    return timing


async def main(rounds: int, n: int) -> dict[str, object]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        await wait_up(url)
        await run_raw(url, 500)  # warm-up
        await run_stack(url, 500)
        raw: list[Timing] = []
        bare: list[Timing] = []
        through: list[Timing] = []
        stack: list[Timing] = []
        runs = [
            (raw, run_raw),
            (bare, run_transport),
            (through, run_read_through),
            (stack, run_stack),
        ]
        for round_ in range(rounds):
            # rotate the order each round so no variant always runs first or last
            shift = round_ % len(runs)
            for times, run in runs[shift:] + runs[:shift]:
                times.append(await run(url, n))
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    def wall(timings: list[Timing]) -> float:
        return statistics.median(t[0] for t in timings)

    def cpu(timings: list[Timing]) -> float:
        return statistics.median(t[1] for t in timings)

    return {
        "benchmark": "transport_overhead",
        "requests": n,
        "concurrency": CONCURRENCY,
        "rounds": rounds,
        "raw_seconds": [t[0] for t in raw],
        "transport_seconds": [t[0] for t in bare],
        "stack_seconds": [t[0] for t in stack],
        "raw_cpu_seconds": [t[1] for t in raw],
        "transport_cpu_seconds": [t[1] for t in bare],
        "stack_cpu_seconds": [t[1] for t in stack],
        "raw_median_rps": n / wall(raw),
        "transport_median_rps": n / wall(bare),
        "stack_median_rps": n / wall(stack),
        "raw_cpu_us_per_request": 1e6 * cpu(raw) / n,
        "transport_cpu_us_per_request": 1e6 * cpu(bare) / n,
        "stack_cpu_us_per_request": 1e6 * cpu(stack) / n,
        "read_through_cpu_us_per_request": 1e6 * cpu(through) / n,
        "received_body_cpu_ratio": cpu(bare) / cpu(through),
        "ratio": wall(stack) / wall(raw),
        "transport_ratio": wall(bare) / wall(raw),
        "layers_ratio": wall(stack) / wall(bare),
        "cpu_ratio": cpu(stack) / cpu(raw),
        "transport_cpu_ratio": cpu(bare) / cpu(raw),
        "layers_cpu_ratio": cpu(stack) / cpu(bare),
        "target": 1.10,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    result = asyncio.run(main(args.rounds, args.requests))
    out = Path(__file__).parent / "results" / "transport_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"client CPU per request: raw {result['raw_cpu_us_per_request']:.1f} us, "
        f"AiohttpTransport {result['transport_cpu_us_per_request']:.1f} us, "
        f"one path {result['stack_cpu_us_per_request']:.1f} us; "
        f"ratio {result['cpu_ratio']:.3f} (target <= 1.10; AiohttpTransport alone "
        f"{result['transport_cpu_ratio']:.3f}, layers on top "
        f"{result['layers_cpu_ratio']:.3f}); taking received bodies from the "
        f"stream: {result['received_body_cpu_ratio']:.3f} of reading them through "
        f"resp.read() ({result['read_through_cpu_us_per_request']:.1f} us)"
    )
    print(
        f"wall: raw {result['raw_median_rps']:.0f} req/s, one path "
        f"{result['stack_median_rps']:.0f} req/s, ratio {result['ratio']:.3f} "
        f"(AiohttpTransport {result['transport_ratio']:.3f}, layers "
        f"{result['layers_ratio']:.3f}) -> {out}"
    )
