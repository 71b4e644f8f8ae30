"""What the SDK fidelity tests share: one seeded directory, two runs, common checks.

A fidelity test seeds two emulators identically, lets the vendor's SDK (through
its driver, :func:`tests.emulators.vendor.drive`) work on one and our backend do
the same operations on the other, then compares what each side got and sent.
"""

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from attrs import frozen
from tests.emulators.vendor import drive

import asyncgroups as ag
from asyncgroups.testing import Emulator, serve_emulator

#: Users in the seeded directory, all of them members of "Big".
USERS = 12
#: Items a page, on both sides: the listings take three pages.
PAGE_SIZE = 5
#: The seeded groups, in the order they were made.
GROUPS = [f"G{i:02d}" for i in range(12)] + ["Big"]


def seed_directory(emu: Emulator[Any]) -> tuple[list[str], str]:
    """Seed :data:`USERS` users and :data:`GROUPS`: the user ids and Big's id."""
    store = emu.store
    users = store.seed_users(USERS)
    for name in GROUPS[:-1]:
        store.seed_group(name)
    return users, store.seed_group("Big", members=users)


@frozen
class Runs:
    """Both sides of a run: the SDK's report and the two emulators (now stopped).

    Attributes:
        config: what the driver was given (``url`` is the SDK's emulator).
        steps: the driver's report, by step name.
        theirs: the emulator the SDK worked on.
        ours: the emulator our backend worked on.
    """

    config: dict[str, Any]
    steps: dict[str, dict[str, Any]]
    theirs: Emulator[Any]
    ours: Emulator[Any]


async def side_by_side(
    name: str,
    python: Path,
    driver: Path,
    setup: Callable[[Emulator[Any]], dict[str, Any]],
    ours: Callable[[Emulator[Any], dict[str, Any]], Awaitable[None]],
) -> Runs:
    """Seed two ``name`` emulators alike; the SDK drives one, ``ours`` the other."""
    async with (
        serve_emulator(name, seed=3) as real,
        serve_emulator(name, seed=3) as mine,
    ):
        config = setup(real)
        assert setup(mine) | {"url": real.url} == config
        report = await drive(python, driver, config)
        await ours(mine, config)
    return Runs(config, {r["step"]: r for r in report}, real, mine)


@contextlib.asynccontextmanager
async def our_client(emu: Emulator[Any]) -> AsyncIterator[ag.Client]:
    """Our backend on ``emu``: pages as large as the SDK's, one request a call."""
    backend = ag.connect(
        emu.name, base_url=emu.url, page_size=PAGE_SIZE, **emu.credentials
    )
    async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
        yield client


async def list_directory(client: ag.Client, group_id: str, groups: int) -> None:
    """List every group and Big's members, as the SDK's first steps do."""
    assert len([g async for g in client.groups.list()]) == groups
    assert len([m async for m in client.members.list(group_id)]) == USERS


def assert_listed(steps: dict[str, dict[str, Any]], names: list[str]) -> None:
    """The SDK listed ``names`` and Big's members, three pages each."""
    assert steps["list_groups"]["pages"] == 3
    assert steps["list_groups"]["names"] == names
    assert steps["list_members"]["pages"] == 3
    assert len(steps["list_members"]["ids"]) == USERS


def absent_here(module: str) -> bool:
    """Whether the python running the tests cannot import ``module``.

    Only a python that ran and found no such module says so (a crash does not).
    """
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is not None)"
    return subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
