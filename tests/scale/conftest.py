"""Scale-test helpers: the shared Redis, throwaway redis-servers, worker processes."""

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from asyncgroups.testing import Emulator

WORKER = Path(__file__).resolve().parent / "worker.py"
REDIS_ENV = "ASYNCGROUPS_TEST_REDIS_URL"


@pytest.fixture
def redis_url() -> str:
    """The shared test Redis (CI starts one); skip when there is none."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: no Redis to share a limit through")
    return url


@pytest.fixture
def key_prefix() -> str:
    """A fresh key prefix: tests never see each other's limits."""
    return f"asyncgroups-test:{uuid.uuid4().hex}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _private_redis() -> Iterator[tuple[str, "subprocess.Popen[bytes]"]]:
    """A throwaway redis-server on a free loopback port (the test may kill it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10.0
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.2),
            ):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)


class RestartableRedis:
    """A throwaway redis-server on a fixed loopback port, killed and restarted empty."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10.0
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=10)


@pytest.fixture
def restartable_redis() -> Iterator[RestartableRedis]:
    """A private redis-server (started) the test may kill and restart."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    server = RestartableRedis(binary)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _worker_command(
    mode: str, emulator: Emulator[Any], redis: str, prefix: str, **options: Any
) -> list[str]:
    cmd = [sys.executable, str(WORKER), mode, "--url", emulator.url]
    cmd += ["--backend", emulator.name, "--creds", json.dumps(emulator.credentials)]
    cmd += ["--redis", redis, "--prefix", prefix]
    for name, value in options.items():
        cmd += [f"--{name}", str(value)]
    return cmd


async def _run_workers(
    commands: Sequence[Sequence[str]], timeout: float
) -> list[tuple[int, dict[str, Any], str]]:
    """Run worker processes side by side; (exit code, result, stderr) for each."""
    procs = [
        await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        for cmd in commands
    ]
    try:
        async with asyncio.timeout(timeout):
            outputs = await asyncio.gather(*(p.communicate() for p in procs))
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    results = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        lines = out.decode().strip().splitlines()
        result = json.loads(lines[-1]) if lines else {}
        assert proc.returncode is not None
        results.append((proc.returncode, result, err.decode()))
    return results


@contextlib.asynccontextmanager
async def _started(
    commands: Sequence[Sequence[str]],
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Worker processes started in the background; killed if still running at exit."""
    procs = [
        await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        for cmd in commands
    ]
    try:
        yield procs
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()


class Workers:
    """Worker processes and throwaway redis-servers, for the scale tests."""

    command = staticmethod(_worker_command)
    run = staticmethod(_run_workers)
    started = staticmethod(_started)
    private_redis = staticmethod(_private_redis)


@pytest.fixture
def workers() -> Workers:
    """Helpers to start worker processes (and a private redis-server)."""
    return Workers()
