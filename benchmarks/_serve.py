"""Serve one seeded emulator with faults in its own process (used by the benchmarks).

``python -m benchmarks._serve neuroio --seed 1 --latency 0.02 --rate-limit 50 --burst 10``
starts ``serve_emulator`` on 127.0.0.1 (a free port), seeds it, applies the faults,
prints one JSON line (``url``, ``credentials``, ``group_ids``, ``keys`` count) and
then serves until its standard input closes or it is terminated. While it runs, a
``stats`` line on standard input is answered with one JSON line of server-side
counters (requests received, fault counts).
"""

import argparse
import asyncio
import gc
import json
import random
import signal
import sys
from typing import Any

from asyncgroups.testing import Fault, serve_emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", help="emulator name: neuroio, snip, periscope")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds a request")
    parser.add_argument("--rate-limit", type=float, default=0.0, help="requests/s")
    parser.add_argument("--burst", type=int, default=None)
    parser.add_argument(
        "--retry-after",
        choices=("integer", "exact"),
        default="integer",
        help="the rate limit's Retry-After: whole seconds (rounded up) or exact",
    )
    parser.add_argument(
        "--p429",
        type=float,
        default=0.0,
        help="share of requests answered 429 at random",
    )
    parser.add_argument("--users", type=int, default=0, help="users/persons to seed")
    parser.add_argument("--groups", type=int, default=1, help="groups to seed")
    parser.add_argument(
        "--members", type=int, default=0, help="seeded users put in the first group"
    )
    parser.add_argument(
        "--members-each",
        type=int,
        default=0,
        help="seed every group with this many keys: group i holds keys "
        "[(i * N + j) % users for j < N] (benchmarks.sync_scale's layout)",
    )
    parser.add_argument(
        "--print-keys",
        action="store_true",
        help="put the seeded member keys in the JSON line (as key_list)",
    )
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="do not keep every request in memory (counters only)",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=INT",
        help="emulator option, e.g. max_page_size=100",
    )
    return parser.parse_args(argv)


class _Coin:
    """A seeded coin: true for a share of the requests it is asked about."""

    def __init__(self, p: float, seed: int) -> None:
        self._p = p
        self._random = random.Random(seed)

    def __call__(self, _: Any) -> bool:
        return self._random.random() < self._p


async def serve(args: argparse.Namespace) -> None:
    options: dict[str, Any] = {}
    for item in args.option:
        name, _, value = item.partition("=")
        options[name] = int(value)
    async with serve_emulator(args.kind, seed=args.seed, **options) as emu:
        keys = emu.store.seed_users(args.users) if args.users else []
        each = args.members_each
        group_ids = [
            emu.store.seed_group(
                f"bench-{i}",
                members=(
                    [keys[(i * each + j) % len(keys)] for j in range(each)]
                    if each
                    else keys[: args.members]
                    if i == 0
                    else ()
                ),
            )
            for i in range(args.groups)
        ]
        # The seeded store lives as long as the server: kept off the collector,
        # whose full passes over a 1,000,000-membership store would pause the
        # server for the client under measurement, ten times longer than at
        # 100,000 (sync_scale.py, 1M: the plan's CPU 6.85 -> 6.14 s, the
        # apply's 19.7 -> 19.0 s, means of three runs each, alternating).
        gc.freeze()
        if args.p429 > 0:  # checked first: whatever the rate, as a busy shard does
            emu.faults.add(
                Fault.status(429, retry_after=1),
                when=_Coin(args.p429, args.seed),
            )
        if args.rate_limit > 0:
            emu.faults.add(
                Fault.rate_limit(
                    args.rate_limit,
                    burst=args.burst,
                    exact_retry_after=args.retry_after == "exact",
                )
            )
        if args.latency > 0:
            emu.faults.add(Fault.latency(args.latency))
        received = 0
        if args.no_record:

            class _Counter(list[Any]):
                def append(self, item: Any) -> None:
                    nonlocal received
                    received += 1

            emu.requests = _Counter()
        ready = {
            "kind": emu.name,
            "url": emu.url,
            "credentials": dict(emu.credentials),
            "group_ids": group_ids,
            "keys": len(keys),
        }
        if args.print_keys:
            ready["key_list"] = keys
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()

        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )

        async def commands() -> None:
            while line := await reader.readline():
                if line.strip() == b"stats":
                    stats = {
                        "requests": received if args.no_record else len(emu.requests),
                        "faults": dict(emu.faults.counts),
                    }
                    sys.stdout.write(json.dumps(stats) + "\n")
                    sys.stdout.flush()
            stop.set()

        task = asyncio.create_task(commands())
        await stop.wait()
        task.cancel()


def main() -> None:
    asyncio.run(serve(parse_args()))


if __name__ == "__main__":
    main()
