"""What the shared-limit benchmarks share: a private ``redis-server``, worker options.

``shared_limit.py`` and ``shared_limit_failover.py`` both start worker processes
(the same script with ``--worker``) against one emulator and one Redis.
"""

import argparse
import contextlib
import shutil
import socket
import subprocess
import time


def free_port() -> int:
    """A TCP port free on 127.0.0.1 just now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(port: int) -> "subprocess.Popen[bytes]":
    """A ``redis-server`` on 127.0.0.1:``port``, without persistence, accepting."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("needs redis-server on the PATH")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return proc
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("redis-server did not start")
        time.sleep(0.02)


def add_worker_options(
    parser: argparse.ArgumentParser, *, rate: float, burst: int, count: int
) -> None:
    """The options a worker process is started with (``--worker`` and the rest)."""
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--url", default="")
    parser.add_argument("--creds", default="{}")
    parser.add_argument("--redis", default="")
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--rate", type=float, default=rate)
    parser.add_argument("--burst", type=int, default=burst)
    parser.add_argument("--group", default="")
    parser.add_argument("--count", type=int, default=count)
