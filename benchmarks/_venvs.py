"""Virtualenvs for the vendors' own clients (their pins conflict with ours).

Each lives under ``benchmarks/.venvs/`` (git-ignored) and is created with pip on
first use; the test suite's cached snip venv (``$TMPDIR/asyncgroups-snip-python-0.4.0``)
is reused when it already works.
"""

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"


def _works(python: Path, module: str) -> bool:
    if not python.exists():
        return False
    done = subprocess.run(
        [str(python), "-c", f"import {module}"], capture_output=True, check=False
    )
    return done.returncode == 0


def vendor_python(package: str, version: str, module: str) -> Path | None:
    """A python with ``package==version`` installed, or None if pip cannot install it."""
    candidates = [
        Path(tempfile.gettempdir()) / f"asyncgroups-{package}-{version}",
        VENVS / f"{package}-{version}",
    ]
    for home in candidates:
        if _works(home / "bin" / "python", module):
            return home / "bin" / "python"
    home = VENVS / f"{package}-{version}"
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    python = home / "bin" / "python"
    print(f"installing {package}=={version} into {home} ...", file=sys.stderr)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{package}=={version}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not _works(python, module):
        print(f"cannot install {package}: {done.stderr[-300:]}", file=sys.stderr)
        return None
    return python
