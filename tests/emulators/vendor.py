"""Vendor SDKs for the fidelity tests: each in a cached virtualenv of its own.

The SDKs' pins are not ours, so each lives in ``$ASYNCGROUPS_FIDELITY_CACHE`` (or
``~/.cache/asyncgroups``) under ``venv-<name>`` and runs its driver as a
subprocess that prints a JSON report.
"""

import asyncio
import json
import os
import subprocess
import venv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest


def cache_dir(name: str) -> Path:
    """Where the virtualenv ``venv-<name>`` lives."""
    root = os.environ.get("ASYNCGROUPS_FIDELITY_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "asyncgroups"
    return base / f"venv-{name}"


def vendor_python(
    name: str, packages: Sequence[str], check: str, *, timeout: float = 900
) -> Path:
    """A python with ``packages`` installed (``check`` imports them), cached.

    Skips the test when pip cannot build it (no index reachable, say).
    """
    home = cache_dir(name)
    python = home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    probe = [str(python), "-c", check]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *packages],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot build a virtualenv with {packages[0]}: {exc}")
    if done.returncode != 0:
        pytest.skip(f"pip cannot install {packages[0]}: {done.stderr.strip()[-300:]}")
    return python


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
