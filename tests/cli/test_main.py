"""The asyncgroups command: main(argv) against running emulators."""

import asyncio
import builtins
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from asyncgroups.cli.main import amain, main
from asyncgroups.testing import Emulator, serve_emulator

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
async def neuroio() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("neuroio", seed=3) as emu:
        yield emu


@pytest.fixture
async def periscope() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("periscope", seed=4, sites=["second"]) as emu:
        yield emu


@pytest.fixture
async def snip() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("snip", seed=5) as emu:
        yield emu


def use(monkeypatch: pytest.MonkeyPatch, emu: Emulator[Any]) -> None:
    """Point the CLI at ``emu`` through ASYNCGROUPS_* variables."""
    monkeypatch.setenv("ASYNCGROUPS_BACKEND", emu.name)
    monkeypatch.setenv("ASYNCGROUPS_BASE_URL", emu.url)
    for key, value in emu.credentials.items():
        monkeypatch.setenv(f"ASYNCGROUPS_{key.upper()}", str(value))


def secrets_of(emu: Emulator[Any]) -> list[str]:
    return [str(v) for k, v in emu.credentials.items() if k in {"token", "api_key"}]


def assert_no_secret(text: str, *emus: Emulator[Any]) -> None:
    for emu in emus:
        for secret in secrets_of(emu):
            assert secret not in text


def writes(emu: Emulator[Any]) -> list[str]:
    return [f"{r.method} {r.path}" for r in emu.requests if r.method in WRITES]


async def test_groups_list_json_shows_groups_and_no_credential(
    neuroio: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``groups list --json`` prints every group and never the token."""
    use(monkeypatch, neuroio)
    gid = neuroio.store.seed_group("Engineering")
    assert await amain(["groups", "list", "--json"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["version"] == 1
    groups = document["groups"]
    assert {"id": gid, "name": "Engineering", "description": None} in groups
    assert_no_secret(out + err, neuroio)


async def test_credentials_from_flags_work_and_stay_hidden(
    neuroio: Emulator[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Flags work as well as variables; output is plain lines when not a terminal."""
    keys = neuroio.store.seed_users(3)
    gid = neuroio.store.seed_group("Ops", members=keys)
    argv = ["members", "list", "Ops", "--backend", "neuroio", "--base-url", neuroio.url]
    argv += ["--token", neuroio.credentials["token"]]
    assert await amain(argv) == 0
    out, err = capsys.readouterr()
    assert "Ops: 3 members" in out
    assert "key\temail\trole" in out
    for key in keys:
        assert key in out
    assert gid
    assert_no_secret(out + err, neuroio)


async def test_a_wrong_token_is_exit_1_with_a_redacted_error(
    neuroio: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A request the server refuses is exit 1; the message holds no credential."""
    use(monkeypatch, neuroio)
    monkeypatch.setenv("ASYNCGROUPS_TOKEN", "wrong-token-value-123")
    assert await amain(["groups", "list"]) == 1
    out, err = capsys.readouterr()
    assert "error:" in err
    assert "wrong-token-value-123" not in out + err


async def test_missing_configuration_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No backend chosen, or a missing credential, is a configuration error."""
    for name in ("BACKEND", "TOKEN", "BASE_URL", "SITE", "API_KEY"):
        monkeypatch.delenv(f"ASYNCGROUPS_{name}", raising=False)
    assert await amain(["groups", "list"]) == 2
    assert "ASYNCGROUPS_BACKEND" in capsys.readouterr().err
    assert await amain(["groups", "list", "--backend", "neuroio"]) == 2
    assert "ASYNCGROUPS_TOKEN" in capsys.readouterr().err


async def test_usage_errors_are_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown commands and flags exit 2, as argparse does; --help exits 0."""
    assert await amain(["nonsense"]) == 2
    assert await amain(["sync", "--no-such-flag"]) == 2
    assert await amain([]) == 2
    assert await amain(["--help"]) == 0
    assert "usage: asyncgroups" in capsys.readouterr().out


async def test_sync_from_csv_applies_and_a_second_plan_is_empty(
    neuroio: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """``sync --from CSV`` adds the members; ``plan`` afterwards finds 0 operations."""
    use(monkeypatch, neuroio)
    keys = neuroio.store.seed_users(5)
    gid = neuroio.store.seed_group("Eng")
    csv_file = tmp_path / "desired.csv"
    csv_file.write_text("group,member\n" + "".join(f"Eng,{k}\n" for k in keys))
    assert await amain(["sync", "--from", str(csv_file), "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["converged"] is True
    assert neuroio.store.members(gid) == frozenset(keys)
    assert_no_secret(out + err, neuroio)

    assert await amain(["plan", "--from", str(csv_file), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert all(not g["to_add"] and not g["to_remove"] for g in plan["groups"])

    assert await amain(["sync", "--from", str(csv_file)]) == 0
    out = capsys.readouterr().out
    assert "converged" in out
    assert "group\tcreated\tadded" in out


async def test_sync_dry_run_changes_nothing(
    neuroio: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """``sync --dry-run`` reports and sends no write."""
    use(monkeypatch, neuroio)
    (key,) = neuroio.store.seed_users(1)
    gid = neuroio.store.seed_group("Eng")
    desired = tmp_path / "desired.json"
    desired.write_text(json.dumps({"Eng": [key]}))
    assert await amain(["sync", "--from", str(desired), "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out
    assert neuroio.store.members(gid) == frozenset()
    assert writes(neuroio) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("team,member\nEng,p1\n", "line 1", id="missing-column"),
        pytest.param(
            "group,member\nEng,p1\nEng,p2\nEng,p1\n", "line 4", id="duplicate-row"
        ),
        pytest.param("group,member\nEng,p1\nEng,\n", "line 3", id="empty-member"),
    ],
)
async def test_a_bad_csv_names_its_line_and_applies_nothing(
    neuroio: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    text: str,
    expected: str,
) -> None:
    """A malformed desired-state CSV is exit 2, names the line, and writes nothing."""
    use(monkeypatch, neuroio)
    neuroio.store.seed_group("Eng")
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(text)
    assert await amain(["sync", "--from", str(csv_file)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert writes(neuroio) == []


async def test_a_bad_email_in_a_periscope_csv_names_its_line(
    periscope: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """Periscope members are e-mails: a bad one is exit 2 with its line, no write."""
    use(monkeypatch, periscope)
    emails = periscope.store.seed_users(2)
    periscope.store.seed_group("Sales")
    csv_file = tmp_path / "desired.csv"
    csv_file.write_text(f"group,member\nSales,{emails[0]}\nSales,not-an-email\n")
    assert await amain(["sync", "--from", str(csv_file)]) == 2
    assert "line 3: 'not-an-email' is not an e-mail address" in capsys.readouterr().err
    assert writes(periscope) == []


async def test_max_removals_refuses_the_sync_with_exit_3(
    snip: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A prune over ``--max-removals`` is refused (exit 3) and removes nothing."""
    use(monkeypatch, snip)
    keys = snip.store.seed_users(5)
    gid = snip.store.seed_group("Alumni", members=keys)
    before = snip.store.members(gid)
    owner = before - set(keys)
    desired = tmp_path / "desired.json"
    desired.write_text(json.dumps({"Alumni": sorted(owner | {keys[0]})}))
    argv = ["sync", "--from", str(desired), "--prune", "--max-removals", "2"]
    assert await amain(argv) == 3
    assert "error:" in capsys.readouterr().err
    assert snip.store.members(gid) == before
    assert writes(snip) == []

    argv[-1] = "4"
    assert await amain(argv) == 0
    assert snip.store.members(gid) == owner | {keys[0]}


async def test_members_export_round_trips_through_sync(
    neuroio: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """``members export`` writes CSV/JSON that ``plan --from`` reads as no change."""
    use(monkeypatch, neuroio)
    keys = neuroio.store.seed_users(4)
    neuroio.store.seed_group("A", members=keys[:2])
    neuroio.store.seed_group("B", members=keys[2:])
    assert await amain(["members", "export"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "group,member"
    assert f"A,{keys[0]}" in out.splitlines()
    for name in ("state.csv", "state.json"):
        target = tmp_path / name
        assert await amain(["members", "export", "-o", str(target)]) == 0
        assert "wrote 4 memberships of 2 groups" in capsys.readouterr().out
        assert await amain(["plan", "--from", str(target), "--summary"]) == 0
        assert "(0 operations)" in capsys.readouterr().out
    exported = json.loads((tmp_path / "state.json").read_text())
    assert exported == {"A": sorted(keys[:2]), "B": sorted(keys[2:])}


async def test_users_delete_csv_checks_the_whole_file_first(
    periscope: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A bad e-mail or a duplicate stops ``users delete --csv`` before any deletion."""
    use(monkeypatch, periscope)
    emails = periscope.store.seed_users(3)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"email_address\n{emails[0]}\nnot-an-email\n{emails[0]}\n")
    assert await amain(["users", "delete", "--csv", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err
    assert "line 4: duplicate of line 2" in err
    assert "DELETE" not in " ".join(writes(periscope))
    missing = tmp_path / "missing.csv"
    missing.write_text("name\nx\n")
    assert await amain(["users", "delete", "--csv", str(missing)]) == 2
    assert "line 1" in capsys.readouterr().err

    good = tmp_path / "good.csv"
    good.write_text("email_address\n" + "\n".join(emails[:2]) + "\n")
    assert await amain(["users", "delete", "--csv", str(good), "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["deleted"] == 2
    assert result["failed"] == 0
    assert_no_secret(out + err, periscope)
    remaining = {u.casefold() for u in periscope.store.site().users}
    assert emails[2].casefold() in remaining
    assert emails[0].casefold() not in remaining


async def test_users_add_to_sites_creates_the_user_on_every_site(
    periscope: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """``users add-to-sites`` creates one user on each listed site."""
    first = periscope.credentials["site"]
    sites = [
        {"site_name": first, "api_key": periscope.credentials["api_key"]},
        {"site_name": "second", "api_key": periscope.store.site("second").key},
    ]
    sites_file = tmp_path / "sites.json"
    sites_file.write_text(json.dumps(sites))
    argv = ["users", "add-to-sites", "--email", "new@example.com"]
    argv += ["--first-name", "New", "--last-name", "User", "--sites", str(sites_file)]
    argv += [
        "--base-url",
        periscope.url,
        "--invited-by",
        periscope.credentials["admin_email"],
    ]
    assert await amain([*argv, "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert [s["status"] for s in result["sites"]] == ["added", "added"]
    for site in (first, "second"):
        assert "new@example.com" in periscope.store.site(site).users
    for entry in sites:
        assert entry["api_key"] not in out + err


async def test_emulator_command_prints_its_test_credentials(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``emulator KIND`` serves a seeded emulator and prints its credentials."""
    task = asyncio.create_task(amain(["emulator", "neuroio", "--port", "0", "--json"]))
    out = ""
    for _ in range(200):
        await asyncio.sleep(0.02)
        out += capsys.readouterr().out
        if out.strip().endswith("}"):
            break
    details = json.loads(out)
    assert details["url"].startswith("http://127.0.0.1:")
    assert details["env"]["ASYNCGROUPS_TOKEN"] == details["credentials"]["token"]
    assert details["users"] == 100
    monkey = pytest.MonkeyPatch()
    try:
        for key, value in details["env"].items():
            monkey.setenv(key, value)
        assert await amain(["groups", "list", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)["groups"]
        assert len(listed) == 5
    finally:
        monkey.undo()
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_without_the_cli_extra_the_output_is_plain(
    neuroio: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without rich every command works, with plain lines even on a terminal."""
    real_import = builtins.__import__

    def no_rich(name: str, *args: object, **kwargs: object) -> object:
        if name == "rich" or name.startswith("rich."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_rich)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    use(monkeypatch, neuroio)
    gid = neuroio.store.seed_group("Plain")
    assert await amain(["groups", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{gid}\tPlain\t" in out


def test_main_runs_its_own_event_loop(capsys: pytest.CaptureFixture[str]) -> None:
    """``main`` is the console entry point; it returns the exit code."""
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("asyncgroups ")


@pytest.mark.slow
async def test_demo_quick_converges(capsys: pytest.CaptureFixture[str]) -> None:
    """``demo --quick`` syncs under faults, exits 0 and says converged."""
    assert await amain(["demo", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "converged:" in out
    assert "NOT converged" not in out
    assert await amain(["demo", "--quick", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["converged"] is True
    assert summary["applied"] > 0
    assert all(b["replan_operations"] == 0 for b in summary["backends"])
