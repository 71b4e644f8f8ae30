"""Group reads with the unmodified ``neuroio`` 0.1.2 client, run in its own venv.

``python neuroio_reads.py '{"url", "token", "gids", "reads", "mode", "concurrency"}'``
with mode ``sync`` (one ``Client``, calls one after another, as its docs show),
``threads`` (the sync ``Client`` in a thread pool) or ``async`` (``AsyncClient``,
``concurrency`` calls at once). The client is pointed at the emulator the documented
way (WIRE.md §4.2). Prints one JSON line: seconds, reads, failures.
"""

import importlib
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks._drivers._reads import measure


def run(config: dict[str, Any]) -> dict[str, Any]:
    neuroio = importlib.import_module("neuroio")
    base = importlib.import_module("neuroio.base")
    base.APIBaseBase.base_url = base.IAMBaseBase.base_url = config["url"]
    gids = [int(g) for g in config["gids"]]

    def reader() -> Callable[[int], Any]:
        client = neuroio.Client(api_token=config["token"])
        return lambda i: client.groups.get(id=gids[i % len(gids)])

    def async_reader() -> Callable[[int], Awaitable[Any]]:
        client = neuroio.AsyncClient(api_token=config["token"])
        return lambda i: client.groups.get(id=gids[i % len(gids)])

    def ok(response: Any) -> bool:
        return response.status_code == 200 and "id" in response.json()

    return measure(config, reader, ok, async_reader=async_reader)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(run(json.loads(sys.argv[1]))) + "\n")
