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
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks._drivers._reads import measure


def run(config: dict[str, Any]) -> dict[str, Any]:
    os.environ["SNIP_DEPLOYMENT_URL"] = config["url"]
    os.environ["SNIP_ADDITIONAL_REQUEST_ARGS"] = '{"timeout": 30}'
    account = importlib.import_module("snip.api.account")
    token_mod = importlib.import_module("snip.token")
    token = token_mod.AccountToken(
        name="bench", token=config["token"], deployment_url=config["url"]
    )
    gids = [int(g) for g in config["gids"]]

    def reader() -> Callable[[int], Any]:
        return lambda i: account.get_group(token, gids[i % len(gids)])

    def ok(group: Any) -> bool:
        return getattr(group, "id", None) is not None

    return measure(config, reader, ok)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(run(json.loads(sys.argv[1]))) + "\n")
