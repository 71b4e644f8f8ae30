"""kill -9 of a CLI sync at a random point, then ``sync --resume``: it converges.

The emulator serves in the test's event loop, through seeded random faults
(429s, 503s, connections dropped after the server applied the request); the CLI
runs as a child process with ``--journal`` and is killed with SIGKILL after a
random number of writes reached the server. ``sync --resume JOURNAL`` then ends
with the store equal to the desired state, no group ever lost more members than
``--max-removals``, and the resumed run lists, before its first write, exactly
the groups the journal left unfinished. Three trials here; the full ten run
with ``ASYNCGROUPS_SLOW=1`` (marked slow).
"""

import asyncio
import json
import os
import random
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from asyncgroups.sync import SQLiteJournal, SyncPlan
from asyncgroups.sync.journal import plan_fingerprint
from asyncgroups.sync.resume import replay
from asyncgroups.testing import Emulator, serve_emulator

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
GROUPS = 16
MAX_REMOVALS = 15


def _env(emu: Emulator[Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCGROUPS_")}
    env["ASYNCGROUPS_BACKEND"] = emu.name
    env["ASYNCGROUPS_BASE_URL"] = emu.url
    env.update({f"ASYNCGROUPS_{k.upper()}": str(v) for k, v in emu.credentials.items()})
    return env


def _seed(emu: Emulator[Any], rng: random.Random) -> dict[str, dict[str, Any]]:
    pids = emu.store.seed_users(600)
    groups: dict[str, dict[str, Any]] = {}
    for i in range(GROUPS):
        now = rng.sample(pids, 150)
        gid = emu.store.seed_group(f"G{i:02d}", members=now)
        keep = now[: 150 - MAX_REMOVALS]
        new = rng.sample([p for p in pids if p not in now], 120)
        groups[f"G{i:02d}"] = {
            "id": gid,
            "before": frozenset(now),
            "desired": sorted({*keep, *new}),
        }
    return groups


async def _cli(*argv: str, env: Mapping[str, str]) -> "asyncio.subprocess.Process":
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncgroups", *argv, env=dict(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def _writes(emu: Emulator[Any]) -> int:
    return sum(r.method in WRITES for r in emu.requests)


def _listed(requests: list[Any]) -> set[str]:
    return {
        r.path.split("/")[-3]
        for r in requests
        if r.method == "GET" and r.path.endswith("/pids/")
    }


async def kill_and_resume(trial: int, tmp_path: Path) -> None:
    """One trial; raises AssertionError when any property fails."""
    rng = random.Random(1000 + trial)
    async with serve_emulator("neuroio", seed=trial) as emu:
        groups = _seed(emu, rng)
        desired = tmp_path / f"desired-{trial}.json"
        desired.write_text(json.dumps({k: g["desired"] for k, g in groups.items()}))
        journal = tmp_path / f"sync-{trial}.journal"
        env = _env(emu)
        emu.faults.random(
            seed=trial, p429=0.05, p503=0.05, pdrop=0.05, retry_after=0.05
        )
        argv = ("sync", "--from", str(desired), "--prune", "--max-removals",
                str(MAX_REMOVALS), "--concurrency", "4")  # fmt: skip
        proc = await _cli(*argv, "--journal", str(journal), env=env)
        # plan 16 x (120 adds, 15 removals): 32+ writes; kill after 1..30 of them
        kill_after = rng.randint(1, 30)
        while _writes(emu) < kill_after and proc.returncode is None:
            await asyncio.sleep(0.001)
        assert proc.returncode is None, "the sync ended before the kill"
        proc.kill()
        await proc.communicate()
        assert await proc.wait() == -9
        # what the journal left unfinished, as the resumed run will read it
        saved = SQLiteJournal(journal).read_plan()
        assert saved is not None
        plan = SyncPlan.from_json(saved)
        reader = SQLiteJournal(journal)
        state = replay(reader.open(plan_fingerprint(plan)))
        reader.close()
        first_run = len(emu.requests)
        resumed = await _cli("sync", "--resume", str(journal), "--max-removals",
                             str(MAX_REMOVALS), "--json", env=env)  # fmt: skip
        out, err = await asyncio.wait_for(resumed.communicate(), 120)
        assert resumed.returncode == 0, (out.decode(), err.decode())
        report = json.loads(out)
        assert report["resumed"]
        assert report["converged"]
        second = emu.requests[first_run:]
        first_write = next(
            (i for i, r in enumerate(second) if r.method in WRITES), len(second)
        )
        assert _listed(second[:first_write]) == state.unfinished_groups
        for name, g in groups.items():
            now = emu.store.members(g["id"])
            assert now == frozenset(g["desired"]), name
            assert len(g["before"] - now) <= MAX_REMOVALS


@pytest.mark.parametrize("trial", range(3))
async def test_kill_9_then_resume_converges(trial: int, tmp_path: Path) -> None:
    await kill_and_resume(trial, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("ASYNCGROUPS_SLOW") != "1", reason="ASYNCGROUPS_SLOW=1 runs it"
)
@pytest.mark.parametrize("trial", range(3, 10))
async def test_kill_9_then_resume_converges_all_ten(trial: int, tmp_path: Path) -> None:
    await kill_and_resume(trial, tmp_path)
