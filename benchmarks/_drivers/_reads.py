"""The read loops the vendor drivers share (standard library only: vendor venvs).

A driver sets its client up and hands :func:`measure` a reader: ``read(i)`` reads
one group and returns what its client returned, ``ok(answer)`` says whether that
is a group. :func:`measure` runs the reads as the config's mode says and returns
the one JSON line the driver prints.
"""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def threaded(width: int, n: int, deadline: float, call: Any) -> int:
    """Run ``call(i)`` for up to n reads on ``width`` threads until ``deadline``."""
    lock = threading.Lock()
    counter = iter(range(n))
    done = 0

    def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            call(i)
            with lock:
                done += 1

    with ThreadPoolExecutor(max_workers=width) as pool:
        for future in [pool.submit(worker) for _ in range(width)]:
            future.result()
    return done


def measure(
    config: dict[str, Any],
    reader: Callable[[], Callable[[int], Any]],
    ok: Callable[[Any], bool],
    *,
    async_reader: Callable[[], Callable[[int], Awaitable[Any]]] | None = None,
) -> dict[str, Any]:
    """Time ``config["reads"]`` reads in ``config["mode"]``: seconds, reads, failures.

    Modes: ``sync`` (one reader, one read after another), ``threads`` (one reader
    shared by ``concurrency`` threads) and, where ``async_reader`` is given,
    ``async`` (``concurrency`` reads at once on one event loop). A reader is made
    once the clock runs; ``max_seconds`` bounds the run.
    """
    n, mode, width = config["reads"], config["mode"], config["concurrency"]
    failures = 0
    done = 0

    def check(answer: Any) -> None:
        nonlocal failures
        if not ok(answer):
            failures += 1

    started = time.perf_counter()
    deadline = started + float(config.get("max_seconds", 1e9))
    if mode == "sync":
        read = reader()
        for i in range(n):
            if time.perf_counter() >= deadline:
                break
            check(read(i))
            done += 1
    elif mode == "threads":
        read = reader()
        done = threaded(width, n, deadline, lambda i: check(read(i)))
    elif mode == "async" and async_reader is not None:
        read_async = async_reader()

        async def main() -> None:
            counter = iter(range(n))

            async def worker() -> None:
                nonlocal done
                for i in counter:
                    if time.perf_counter() >= deadline:
                        return
                    check(await read_async(i))
                    done += 1

            await asyncio.gather(*(worker() for _ in range(width)))

        asyncio.run(main())
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    return {
        "seconds": time.perf_counter() - started,
        "reads": done,
        "failures": failures,
    }
