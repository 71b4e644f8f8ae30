"""Group reads with the unmodified ``snip-python`` 0.4.0 client, run in its own venv.

``python snip_reads.py '{"url", "token", "gids", "reads", "mode", "concurrency"}'``
with mode ``sync`` (``account.get_group`` one after another) or ``threads`` (the
same calls in a thread pool). The deployment URL and a timeout are set through
the client's documented environment variables before import (WIRE.md §4.1).
Prints one JSON line: seconds, reads, failures.
"""

import importlib
import json
import os
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
    os.environ["SNIP_DEPLOYMENT_URL"] = config["url"]
    os.environ["SNIP_ADDITIONAL_REQUEST_ARGS"] = '{"timeout": 30}'
    account = importlib.import_module("snip.api.account")
    token_mod = importlib.import_module("snip.token")
    token = token_mod.AccountToken(
        name="bench", token=config["token"], deployment_url=config["url"]
    )
    gids = [int(g) for g in config["gids"]]
    n, mode, width = config["reads"], config["mode"], config["concurrency"]
    failures = 0
    done = 0

    def one(i: int) -> Any:
        return account.get_group(token, gids[i % len(gids)])

    def check(group: Any) -> None:
        nonlocal failures
        if getattr(group, "id", None) is None:
            failures += 1

    started = time.perf_counter()
    deadline = started + float(config.get("max_seconds", 1e9))
    if mode == "sync":
        for i in range(n):
            if time.perf_counter() >= deadline:
                break
            check(one(i))
            done += 1
    elif mode == "threads":
        done = threaded(width, n, deadline, lambda i: check(one(i)))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    return {
        "seconds": time.perf_counter() - started,
        "reads": done,
        "failures": failures,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(run(json.loads(sys.argv[1]))) + "\n")
