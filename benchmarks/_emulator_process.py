"""Start an emulator in a separate process and read its URL and credentials.

The client being measured and the emulator must not share a process (nor an event
loop): :func:`emulator_process` runs ``python -m benchmarks._serve`` and yields an
:class:`EmulatorProcess` once the child printed its JSON line. The child stops when
its standard input closes; it is terminated (then killed) if it lingers.
"""

import contextlib
import json
import os
import selectors
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from attrs import define

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 120.0


@define
class EmulatorProcess:
    """A running emulator process: where it listens and how to authenticate."""

    kind: str
    url: str
    credentials: dict[str, str]
    group_ids: list[str]
    keys: int
    key_list: list[str]
    proc: "subprocess.Popen[bytes]"

    def stats(self) -> dict[str, Any]:
        """Server-side counters: requests received and fault counts by kind."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"stats\n")
        self.proc.stdin.flush()
        stats: dict[str, Any] = json.loads(_read_line(self.proc, 10.0))
        return stats


def _read_line(proc: "subprocess.Popen[bytes]", timeout: float) -> bytes:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise TimeoutError("the emulator process did not answer in time")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the emulator process exited (code {proc.poll()})")
    return line


def serve_command(
    kind: str,
    *,
    seed: int = 1,
    latency: float = 0.0,
    rate_limit: float = 0.0,
    burst: int | None = None,
    retry_after: str = "integer",
    p429: float = 0.0,
    users: int = 0,
    groups: int = 1,
    members: int = 0,
    members_each: int = 0,
    record: bool = False,
    print_keys: bool = False,
    options: dict[str, int] | None = None,
) -> list[str]:
    """The command line of ``benchmarks._serve`` for these settings."""
    cmd = [sys.executable, "-m", "benchmarks._serve", kind, "--seed", str(seed)]
    cmd += ["--latency", str(latency), "--rate-limit", str(rate_limit)]
    if burst is not None:
        cmd += ["--burst", str(burst)]
    cmd += ["--retry-after", retry_after, "--p429", str(p429)]
    cmd += ["--users", str(users), "--groups", str(groups), "--members", str(members)]
    if members_each:
        cmd += ["--members-each", str(members_each)]
    if not record:
        cmd.append("--no-record")
    if print_keys:
        cmd.append("--print-keys")
    for name, value in (options or {}).items():
        cmd += ["--option", f"{name}={value}"]
    return cmd


@contextlib.contextmanager
def emulator_process(kind: str, **settings: Any) -> Iterator[EmulatorProcess]:
    """Serve the emulator ``kind`` in a child process for the ``with`` block.

    Args:
        kind: "neuroio" or "snip" (any registered emulator).
        settings: see :func:`serve_command` (seed, latency, rate_limit, burst, ...).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    proc = subprocess.Popen(
        serve_command(kind, **settings),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    try:
        ready = json.loads(_read_line(proc, STARTUP_TIMEOUT))
        yield EmulatorProcess(
            kind=ready["kind"],
            url=ready["url"],
            credentials=ready["credentials"],
            group_ids=ready["group_ids"],
            keys=ready["keys"],
            key_list=ready.get("key_list", []),
            proc=proc,
        )
    finally:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
