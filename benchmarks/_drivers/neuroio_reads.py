"""Group reads with the unmodified ``neuroio`` 0.1.2 client, run in its own venv.

``python neuroio_reads.py '{"url", "token", "gids", "reads", "mode", "concurrency"}'``
with mode ``sync`` (one ``Client``, calls one after another, as its docs show),
``threads`` (the sync ``Client`` in a thread pool) or ``async`` (``AsyncClient``,
``concurrency`` calls at once). The client is pointed at the emulator the documented
way (WIRE.md §4.2). Prints one JSON line: seconds, reads, failures.
"""

import asyncio
import importlib
import json
import sys
import threading
import time
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


def run(config: dict[str, Any]) -> dict[str, Any]:
    neuroio = importlib.import_module("neuroio")
    base = importlib.import_module("neuroio.base")
    base.APIBaseBase.base_url = base.IAMBaseBase.base_url = config["url"]
    gids = [int(g) for g in config["gids"]]
    n, mode, width = config["reads"], config["mode"], config["concurrency"]
    failures = 0
    done = 0

    def check(response: Any) -> None:
        nonlocal failures
        if response.status_code != 200 or "id" not in response.json():
            failures += 1

    started = time.perf_counter()
    deadline = started + float(config.get("max_seconds", 1e9))
    if mode == "sync":
        client = neuroio.Client(api_token=config["token"])
        for i in range(n):
            if time.perf_counter() >= deadline:
                break
            check(client.groups.get(id=gids[i % len(gids)]))
            done += 1
    elif mode == "threads":
        client = neuroio.Client(api_token=config["token"])
        done = threaded(
            width,
            n,
            deadline,
            lambda i: check(client.groups.get(id=gids[i % len(gids)])),
        )
    elif mode == "async":
        client = neuroio.AsyncClient(api_token=config["token"])

        async def main() -> None:
            counter = iter(range(n))

            async def worker() -> None:
                nonlocal done
                for i in counter:
                    if time.perf_counter() >= deadline:
                        return
                    check(await client.groups.get(id=gids[i % len(gids)]))
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


if __name__ == "__main__":
    sys.stdout.write(json.dumps(run(json.loads(sys.argv[1]))) + "\n")
