"""Event-loop stall: the longest gap a ticker task sees while hostile input is handled.

A ticker sleeps 1 ms in a loop and records the longest gap between its wake-ups
while the Client handles (a) a 50 MB HTML error page answered by a server in
another process (so only the client's work is measured), and (b) a 1 MB
e-mail-shaped key refused before any request. Target: no stall over 100 ms. A
baseline row measures the ticker alone, so a noisy machine shows up there too.
"""

import argparse
import asyncio
import multiprocessing
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncgroups as ag
from benchmarks._common import table, verdict, write_result

MB = 1024 * 1024
TARGET_MS = 100.0


async def _longest_stall(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(longest gap between ticks in ms, seconds the work took)."""
    longest = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    try:
        await work()
    finally:
        spent = time.perf_counter() - started
        done.set()
        await task
    return longest * 1000, spent


def _serve_error_page(port: int) -> None:
    """The child: answer every request with a 502 and a 50 MB hostile HTML page."""
    from aiohttp import web

    page = b"<html><title>" + b"<" * (50 * MB) + b"</title></html>"

    async def handler(_: web.Request) -> web.Response:
        return web.Response(status=502, body=page, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_for(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError("the error-page server did not start")


async def _run(port: int) -> list[tuple[str, float, float]]:
    rows: list[tuple[str, float, float]] = []
    await _wait_for(port)
    backend = ag.connect(
        "periscope", site="bench", api_key="k", base_url=f"http://127.0.0.1:{port}"
    )
    async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:

        async def idle() -> None:
            await asyncio.sleep(0.5)

        async def html_page() -> None:
            try:
                await client.groups.get("Everyone")
            except ag.ServerError:
                return
            raise AssertionError("the 502 page was not an error")

        async def huge_key() -> None:
            try:
                await client.users.get("a@" + "a." * (MB // 2))
            except ag.InvalidInputError:
                return
            raise AssertionError("the key was not refused")

        for name, work in (
            ("baseline (ticker alone, 0.5 s)", idle),
            ("50 MB HTML error page", html_page),
            ("1 MB e-mail-shaped key", huge_key),
        ):
            stall, spent = await _longest_stall(work)
            rows.append((name, stall, spent))
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    port = _free_port()
    child = multiprocessing.get_context("spawn").Process(
        target=_serve_error_page, args=(port,), daemon=True
    )
    child.start()
    try:
        rows = asyncio.run(_run(port))
    finally:
        child.terminate()
        child.join(10)
    worst = max(stall for name, stall, _ in rows if not name.startswith("baseline"))
    result = {
        "rows": [{"case": n, "longest_stall_ms": s, "seconds": t} for n, s, t in rows],
        "worst_stall_ms": worst,
        "target_ms": TARGET_MS,
        "verdict": verdict(worst, TARGET_MS, at_most=True),
    }
    print(
        table(
            ["case", "longest stall (ms)", "seconds"],
            [(n, round(s, 1), round(t, 3)) for n, s, t in rows],
        )
    )
    print(
        f"worst stall {worst:.1f} ms (target <= {TARGET_MS:.0f} ms): {result['verdict']}"
    )
    print(f"written to {write_result('event_loop_stall', result)}")
    return result


if __name__ == "__main__":
    main()
