"""Transport overhead: raw aiohttp vs the full asyncgroups stack, same 5,000 GETs.

A tiny aiohttp.web server runs in a separate process (no added latency). Each round
sends 5,000 GET requests, 16 at once, first with a bare ``aiohttp.ClientSession``,
then through the stack a Client builds (``build_stack``: ``Retrying(RateLimited(
Aiohttp))`` with its counters; retries on, limiter unlimited), and through a bare
``AiohttpTransport`` to tell the layers' share from the base transport's; rounds are
interleaved (the order rotating) so drift hits all alike. Prints the ratio of medians
and writes ``benchmarks/results/transport_overhead.json``.

Run: ``python benchmarks/transport_overhead.py [--rounds 5] [--requests 5000]``
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
from asyncgroups.transport.stack import build_stack
from asyncgroups.transport.stats import TransportStats

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


async def run_raw(url: str, n: int) -> float:
    async with aiohttp.ClientSession() as session:
        counter = iter(range(n))

        async def worker() -> None:
            for i in counter:
                async with session.get(f"{url}/groups/{i}", headers=HEADERS) as resp:
                    await resp.read()
                    assert resp.status == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started


async def run_transport(url: str, n: int) -> float:
    """The bare AiohttpTransport: attributes overhead to it vs the layers above."""
    return await _run(AiohttpTransport(), url, n)


async def run_stack(url: str, n: int) -> float:
    stats = TransportStats()
    transport = build_stack(
        AiohttpTransport(),
        stats=stats,
        retry=ag.RetryPolicy(),
        rate_limit=ag.RateLimit.unlimited(),
    )
    elapsed = await _run(transport, url, n)
    assert stats.requests == n
    return elapsed


async def _run(transport: AsyncTransport, url: str, n: int) -> float:
    try:
        counter = iter(range(n))

        async def worker() -> None:
            for i in counter:
                response = await transport.send(
                    Request("GET", f"{url}/groups/{i}", headers=HEADERS)
                )
                assert response.status == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    finally:
        await transport.aclose()
    return elapsed


async def main(rounds: int, n: int) -> dict[str, object]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        await wait_up(url)
        await run_raw(url, 500)  # warm-up
        await run_stack(url, 500)
        raw: list[float] = []
        bare: list[float] = []
        stack: list[float] = []
        runs = [(raw, run_raw), (bare, run_transport), (stack, run_stack)]
        for round_ in range(rounds):
            # rotate the order each round so no variant always runs first or last
            shift = round_ % len(runs)
            for times, run in runs[shift:] + runs[:shift]:
                times.append(await run(url, n))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ratio = statistics.median(stack) / statistics.median(raw)
    return {
        "benchmark": "transport_overhead",
        "requests": n,
        "concurrency": CONCURRENCY,
        "rounds": rounds,
        "raw_seconds": raw,
        "transport_seconds": bare,
        "stack_seconds": stack,
        "raw_median_rps": n / statistics.median(raw),
        "transport_median_rps": n / statistics.median(bare),
        "stack_median_rps": n / statistics.median(stack),
        "ratio": ratio,
        "transport_ratio": statistics.median(bare) / statistics.median(raw),
        "layers_ratio": statistics.median(stack) / statistics.median(bare),
        "target": 1.10,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    result = asyncio.run(main(args.rounds, args.requests))
    out = Path(__file__).parent / "results" / "transport_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"raw {result['raw_median_rps']:.0f} req/s, stack {result['stack_median_rps']:.0f} req/s, "
        f"ratio {result['ratio']:.3f} (target <= 1.10); AiohttpTransport alone "
        f"{result['transport_ratio']:.3f}, retry+limiter layers on top "
        f"{result['layers_ratio']:.3f} -> {out}"
    )
