"""Vendor SDKs for the fidelity tests: each in a cached virtualenv of its own.

The SDKs' pins are not ours, so each lives in ``$ASYNCGROUPS_FIDELITY_CACHE`` (or
``~/.cache/asyncgroups``) under ``venv-<name>-<key>`` and runs its driver as a
subprocess that prints a JSON report. The key hashes the pinned requirements, so
a change of pins gets a virtualenv of its own; a file lock next to it lets test runs (and the
benchmarks, which share the cache) build it once and share it, side by side.
"""

import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
import venv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

#: Written into a virtualenv once pip has installed everything and ``check`` ran.
COMPLETE = ".asyncgroups-complete"


class VendorVenvError(Exception):
    """pip could not build the virtualenv (no index reachable, say)."""


def cache_key(packages: Sequence[str]) -> str:
    """A short hash of the pinned requirements: the same pins, the same virtualenv.

    The Python that runs the tests does not enter it: a driver runs under the
    virtualenv's own interpreter, whichever test run built it.
    """
    content = "\n".join(sorted(packages))
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def cache_dir(name: str, packages: Sequence[str]) -> Path:
    """Where the virtualenv ``venv-<name>-<key>`` for ``packages`` lives."""
    root = os.environ.get("ASYNCGROUPS_FIDELITY_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "asyncgroups"
    return base / f"venv-{name}-{cache_key(packages)}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing), blocking until free."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no flock: one run at a time
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _python_in(home: Path) -> Path:
    return home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _ready(home: Path, check: str) -> bool:
    python = _python_in(home)
    if not (home / COMPLETE).exists() or not python.exists():
        return False
    probe = [str(python), "-c", check]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def cached_python(
    name: str, packages: Sequence[str], check: str, *, timeout: float = 900
) -> Path:
    """A python with ``packages`` installed (``check`` imports them), cached.

    Concurrent callers for the same ``packages`` wait for one another: the first
    builds the virtualenv, the others find it ready.

    Raises:
        VendorVenvError: the virtualenv could not be built.
    """
    home = cache_dir(name, packages)
    with _locked(home.with_name(home.name + ".lock")):
        if _ready(home, check):
            return _python_in(home)
        python = _python_in(home)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(home)
            done = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *packages],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise VendorVenvError(
                f"cannot build a virtualenv with {packages[0]}: {exc}"
            ) from exc
        if done.returncode != 0:
            raise VendorVenvError(
                f"pip cannot install {packages[0]}: {done.stderr.strip()[-300:]}"
            )
        probe = subprocess.run(
            [str(python), "-c", check], capture_output=True, text=True, check=False
        )
        if probe.returncode != 0:
            raise VendorVenvError(
                f"{packages[0]} installed but {check!r} fails: {probe.stderr[-300:]}"
            )
        (home / COMPLETE).write_text("\n".join(packages) + "\n")
        return python


def vendor_python(
    name: str, packages: Sequence[str], check: str, *, timeout: float = 900
) -> Path:
    """`cached_python` for a test: skips the test when pip cannot build it."""
    import pytest

    try:
        return cached_python(name, packages, check, timeout=timeout)
    except VendorVenvError as exc:
        pytest.skip(str(exc))


async def drive(
    python: Path, driver: Path, config: dict[str, Any], *, timeout: float = 120
) -> list[dict[str, Any]]:
    """Run ``driver`` with ``config`` under ``python``; its JSON report."""
    proc = await asyncio.create_subprocess_exec(
        str(python),
        str(driver),
        json.dumps(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    assert proc.returncode == 0, err.decode()[-2000:]
    report: list[dict[str, Any]] = json.loads(out)
    return report
