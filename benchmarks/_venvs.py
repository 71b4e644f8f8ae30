"""Virtualenvs for the vendors' own clients (their pins conflict with ours).

They share the fidelity tests' cache (`tests.emulators.vendor`): one virtualenv per
set of pinned requirements, under `$ASYNCGROUPS_FIDELITY_CACHE` (or
`~/.cache/asyncgroups`), keyed by a hash of the pins and built under a file lock,
so a benchmark and a test run side by side build it once.
"""

import sys
from pathlib import Path

from tests.emulators.vendor import VendorVenvError, cached_python


def vendor_python(package: str, version: str, module: str) -> Path | None:
    """A python with ``package==version`` installed, or None if pip cannot install it."""
    try:
        return cached_python(package, (f"{package}=={version}",), f"import {module}")
    except VendorVenvError as exc:
        print(f"cannot install {package}: {exc}", file=sys.stderr)
        return None
