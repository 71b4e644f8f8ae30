"""The commands' input files go through one reader: a bad file is exit 2, no write."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from asyncgroups.cli.main import amain
from asyncgroups.testing import Emulator, serve_emulator


@pytest.fixture
async def periscope() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("periscope", seed=4, sites=["second"]) as emu:
        yield emu


def use(monkeypatch: pytest.MonkeyPatch, emu: Emulator[Any]) -> None:
    monkeypatch.setenv("ASYNCGROUPS_BACKEND", emu.name)
    monkeypatch.setenv("ASYNCGROUPS_BASE_URL", emu.url)
    for key, value in emu.credentials.items():
        monkeypatch.setenv(f"ASYNCGROUPS_{key.upper()}", str(value))


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["sync", "--from", "{csv}"], id="sync-csv"),
        pytest.param(["plan", "--from", "{json}"], id="plan-json"),
        pytest.param(["users", "delete", "--csv", "{csv}"], id="users-delete"),
    ],
)
async def test_an_undecodable_or_missing_file_is_exit_2_and_sends_nothing(
    periscope: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
) -> None:
    use(monkeypatch, periscope)
    for name in ("bad.csv", "bad.json"):
        (tmp_path / name).write_bytes(b"email_address,group,member\n\xff\xfe,x,y\n")
    paths = {"csv": str(tmp_path / "bad.csv"), "json": str(tmp_path / "bad.json")}
    assert await amain([a.format(**paths) for a in argv]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err
    missing = {k: str(tmp_path / f"absent.{k}") for k in paths}
    assert await amain([a.format(**missing) for a in argv]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert periscope.requests == []


async def test_users_delete_takes_a_mail_column_on_every_site(
    periscope: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """The CLI reads e-mail columns as the library does, then fans out per site."""
    acme_key = periscope.credentials["api_key"]
    other_key = periscope.store.add_site("other", "other-key-5d1e")
    for site in ("acme", "other"):
        periscope.store.site(site).add_user("leaver@example.com")
    (tmp_path / "leavers.csv").write_text("Name,Mail\nL,leaver@example.com\n")
    (tmp_path / "sites.csv").write_text(
        f"site_name,api_key\nacme,{acme_key}\nother,{other_key}\n"
    )
    argv = ["users", "delete", "--csv", str(tmp_path / "leavers.csv")]
    argv += ["--sites", str(tmp_path / "sites.csv"), "--json"]
    argv += ["--base-url", periscope.url]
    assert await amain(argv) == 0
    out, err = capsys.readouterr()
    assert '"deleted": 2' in out
    assert acme_key not in out + err
    assert other_key not in out + err
    for site in ("acme", "other"):
        assert periscope.store.site(site).user("leaver@example.com") is None


async def test_users_on_sites_take_the_base_url_and_test_mode_from_the_environment(
    periscope: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """``--sites`` commands follow the flag-else-ASYNCGROUPS_* rule like the rest."""
    acme_key = periscope.credentials["api_key"]
    periscope.store.site("acme").add_user("leaver@example.com")
    (tmp_path / "leavers.csv").write_text("email\nleaver@example.com\n")
    monkeypatch.setenv("ASYNCGROUPS_SITES", f"acme:{acme_key}")
    monkeypatch.setenv("ASYNCGROUPS_BASE_URL", periscope.url)
    monkeypatch.setenv("ASYNCGROUPS_TEST_MODE", "1")
    argv = ["users", "delete", "--csv", str(tmp_path / "leavers.csv"), "--json"]
    assert await amain(argv) == 0
    assert json.loads(capsys.readouterr().out)["deleted"] == 1
    # test_mode reached the API: the user is still there.
    assert periscope.store.site("acme").user("leaver@example.com") is not None
    assert all("test_mode" in str(r.query) for r in periscope.requests)

    monkeypatch.delenv("ASYNCGROUPS_TEST_MODE")
    add = ["users", "add-to-sites", "--email", "new@example.com", "--json"]
    assert await amain(add) == 0
    assert json.loads(capsys.readouterr().out)["failed"] == 0
    assert periscope.store.site("acme").user("new@example.com") is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("[" * 100 + "]" * 100, "nested deeper than 32", id="nested"),
        pytest.param('{"a": ' + "9" * 5000 + "}", "5,000 digits", id="huge-number"),
        pytest.param('{"a": "' + "x" * 10_000 + '"}', "10,000 characters", id="cell"),
        pytest.param("{", "line 1: not valid JSON", id="truncated"),
    ],
)
async def test_a_hostile_plan_file_is_exit_2_and_sends_nothing(
    periscope: Emulator[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: str,
    message: str,
) -> None:
    use(monkeypatch, periscope)
    plan = tmp_path / "plan.json"
    plan.write_text(content)
    assert await amain(["sync", "--plan", str(plan)]) == 2
    err = capsys.readouterr().err
    assert f"{plan}: " in err
    assert message in err
    assert "Traceback" not in err
    assert periscope.requests == []
