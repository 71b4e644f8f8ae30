"""Shared pieces of the benchmarks: machine facts, results files, tables, read loops.

Every figure is a ratio of two things measured side by side in the same run, so a
shared, noisy machine moves both alike. Nothing here asserts a time.
"""

import asyncio
import json
import os
import platform
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

import asyncgroups as ag

RESULTS = Path(__file__).resolve().parent / "results"

#: The session settings the Client's own transport uses, for the raw baseline.
RAW_TIMEOUT = aiohttp.ClientTimeout(total=30.0, connect=30.0, sock_read=30.0)


def machine() -> dict[str, Any]:
    """Where the figures came from."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "asyncgroups": getattr(ag, "__version__", "?"),
        "platform": platform.platform(),
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write ``results/NAME.json`` (with the machine facts) and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    payload = {"benchmark": name, **result, "machine": machine()}
    out.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return out


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, columns padded."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.3f}"
    return str(value)


def verdict(value: float, target: float, *, at_most: bool) -> str:
    """``met`` or ``MISSED`` for a ratio against its target."""
    ok = value <= target if at_most else value >= target
    return "met" if ok else "MISSED"


async def run_bounded(
    n: int, concurrency: int, one: Callable[[int], Awaitable[Any]]
) -> float:
    """Call ``one(i)`` for i in range(n), ``concurrency`` at once; return seconds."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    return time.perf_counter() - started


def raw_session(limit: int = 100) -> aiohttp.ClientSession:
    """A bare session with the same settings as the Client's own."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, enable_cleanup_closed=False),
        timeout=RAW_TIMEOUT,
        trust_env=False,
    )


async def raw_group_reads(
    url: str, token: str, gids: Sequence[str], n: int, concurrency: int
) -> tuple[float, float]:
    """NeuroIO ``GET /v1/groups/persons/{id}/`` with bare aiohttp, JSON decoded.

    Returns:
        (wall seconds, CPU seconds of this process).
    """
    headers = {"Authorization": f"Token {token}"}
    async with raw_session(max(100, concurrency)) as session:

        async def one(i: int) -> None:
            gid = gids[i % len(gids)]
            async with session.get(
                f"{url}/v1/groups/persons/{gid}/",
                headers=headers,
                allow_redirects=False,
            ) as resp:
                data = await resp.json()
                assert resp.status == 200, data

        cpu = time.process_time()
        wall = await run_bounded(n, concurrency, one)
        return wall, time.process_time() - cpu


def neuroio_client(url: str, token: str, **kwargs: Any) -> ag.Client:
    """An asyncgroups Client on the NeuroIO emulator at ``url``."""
    backend = ag.connect("neuroio", base_url=url, token=token)
    kwargs.setdefault("concurrency", 16)
    return ag.Client(backend, **kwargs)


async def client_group_reads(
    client: ag.Client, gids: Sequence[str], n: int, concurrency: int
) -> tuple[float, float]:
    """``client.groups.get`` n times, ``concurrency`` at once.

    Returns:
        (wall seconds, CPU seconds of this process).
    """

    async def one(i: int) -> None:
        await client.groups.get(gids[i % len(gids)])

    cpu = time.process_time()
    wall = await run_bounded(n, concurrency, one)
    return wall, time.process_time() - cpu
