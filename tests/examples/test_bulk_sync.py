"""examples/bulk_sync.py against the NeuroIO emulator: plan, apply, guards."""

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from asyncgroups.testing import serve_emulator


def _environ(emu: Any) -> dict[str, str]:
    env = {"ASYNCGROUPS_BACKEND": emu.name, "ASYNCGROUPS_BASE_URL": emu.url}
    env.update({f"ASYNCGROUPS_{k.upper()}": v for k, v in emu.credentials.items()})
    return env


def _csv(path: Path, rows: dict[str, list[str]]) -> str:
    lines = ["group,member"] + [f"{g},{k}" for g, ks in rows.items() for k in ks]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


async def test_plan_only_writes_nothing(
    example: Callable[[str], ModuleType],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = example("bulk_sync")
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(4)
        gid = emu.store.seed_group("Eng", members=keys[:1])
        desired = _csv(tmp_path / "desired.csv", {"Eng": keys[1:]})
        status = await module.run([desired, "--prune"], _environ(emu))
        assert status == 0
        assert emu.store.members(gid) == frozenset(keys[:1])
    out = capsys.readouterr().out
    assert f"  - {keys[0]}" in out
    assert "3 to add, 1 to remove" in out


async def test_apply_converges(
    example: Callable[[str], ModuleType],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = example("bulk_sync")
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(300)
        eng = emu.store.seed_group("Eng", members=keys[:10])
        desired = _csv(
            tmp_path / "desired.csv", {"Eng": keys[5:250], "Ops": keys[200:]}
        )
        status = await module.run(
            [desired, "--apply", "--prune", "--create-groups", "--max-removals", "5"],
            _environ(emu),
        )
        assert status == 0
        assert emu.store.members(eng) == frozenset(keys[5:250])
        (ops,) = set(emu.store.group_ids()) - {eng}
        assert emu.store.members(ops) == frozenset(keys[200:])
        # A second run finds nothing to do.
        assert await module.run([desired, "--apply", "--prune"], _environ(emu)) == 0
    assert "0 operations" in capsys.readouterr().out


async def test_max_removals_refuses_before_any_write(
    example: Callable[[str], ModuleType],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = example("bulk_sync")
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(50)
        gid = emu.store.seed_group("Eng", members=keys)
        desired = _csv(tmp_path / "desired.csv", {"Eng": keys[:5]})
        status = await module.run(
            [desired, "--apply", "--prune", "--max-removals", "10"], _environ(emu)
        )
        assert status == 2
        assert emu.store.members(gid) == frozenset(keys)
    assert "refused" in capsys.readouterr().err


async def test_a_bad_file_is_a_usage_error(
    example: Callable[[str], ModuleType],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = example("bulk_sync")
    bad = tmp_path / "desired.csv"
    bad.write_text("team,person\nEng,1\n", encoding="utf-8")
    assert await module.run([str(bad)], {"ASYNCGROUPS_TOKEN": "t"}) == 2
    assert "bulk_sync:" in capsys.readouterr().err
