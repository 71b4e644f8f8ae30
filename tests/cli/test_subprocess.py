"""The command as a user runs it: a separate process against a real emulator.

The emulator serves in the test's event loop (so its store can be read directly)
while ``python -m asyncgroups`` runs as a child process: exit codes, what reaches
stdout and stderr, a reader that closes the pipe, Ctrl-C during an apply, files in
other encodings, JSON errors, and the base install without extras.
"""

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from asyncgroups.testing import Emulator, Fault, serve_emulator

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@attrs.frozen
class Run:
    code: int
    out: str
    err: str


def cli_env(emu: Emulator[Any] | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCGROUPS_")}
    env.pop("COLUMNS", None)
    if emu is not None:
        env["ASYNCGROUPS_BACKEND"] = emu.name
        env["ASYNCGROUPS_BASE_URL"] = emu.url
        env.update(
            {f"ASYNCGROUPS_{k.upper()}": str(v) for k, v in emu.credentials.items()}
        )
    env.update(extra)
    return env


async def run(*argv: str, env: Mapping[str, str], timeout: float = 60) -> Run:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncgroups",
        *argv,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def writes(emu: Emulator[Any]) -> list[str]:
    return [f"{r.method} {r.path}" for r in emu.requests if r.method in WRITES]


@pytest.fixture
async def neuroio() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("neuroio", seed=21) as emu:
        yield emu


@pytest.fixture
async def snip() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("snip", seed=22) as emu:
        yield emu


# -- input files in other encodings ---------------------------------------------


def desired_csv(path: Path, group: str, keys: list[str], encoding: str) -> Path:
    text = "group,member\r\n" + "".join(f"{group},{k}\r\n" for k in keys)
    path.write_bytes(text.encode(encoding))
    return path


async def test_a_utf16_file_with_a_bom_is_read(
    neuroio: Emulator[Any], tmp_path: Path
) -> None:
    keys = neuroio.store.seed_users(3)
    gid = neuroio.store.seed_group("Équipe")
    path = desired_csv(tmp_path / "excel.csv", "Équipe", keys, "utf-16")
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    result = await run("sync", "--from", str(path), env=cli_env(neuroio))
    assert result.code == 0, result.err
    assert neuroio.store.members(gid) == frozenset(keys)


@pytest.mark.parametrize(
    ("encoding", "group"),
    [("latin-1", "Équipe"), ("cp1252", "\u201cOps\u201d \u2013 Z\u00fcrich")],
)
async def test_a_file_in_another_encoding_is_refused_naming_its_line_then_read(
    neuroio: Emulator[Any], tmp_path: Path, encoding: str, group: str
) -> None:
    """Exit 2 with the file, the line and --encoding; with --encoding it applies."""
    keys = neuroio.store.seed_users(2)
    gid = neuroio.store.seed_group(group)
    path = desired_csv(tmp_path / "legacy.csv", group, keys, encoding)
    refused = await run("sync", "--from", str(path), env=cli_env(neuroio))
    assert refused.code == 2
    assert f"{path}: line 2: not UTF-8 text" in refused.err
    assert "--encoding" in refused.err
    assert "Traceback" not in refused.err
    assert writes(neuroio) == []

    read = await run(
        "sync", "--from", str(path), "--encoding", encoding, env=cli_env(neuroio)
    )
    assert read.code == 0, read.err
    assert neuroio.store.members(gid) == frozenset(keys)


async def test_an_unknown_encoding_is_exit_2(
    neuroio: Emulator[Any], tmp_path: Path
) -> None:
    path = desired_csv(tmp_path / "d.csv", "g", ["1"], "utf-8")
    result = await run(
        "plan", "--from", str(path), "--encoding", "klingon", env=cli_env(neuroio)
    )
    assert result.code == 2
    assert "encoding" in result.err
    assert neuroio.requests == []


# -- a reader that goes away --------------------------------------------------------


async def test_a_closed_pipe_is_quiet_and_exit_0(
    neuroio: Emulator[Any], tmp_path: Path
) -> None:
    """``members list | head -1``: one line, the command's exit 0, empty stderr."""
    keys = neuroio.store.seed_users(6000)  # far more output than a pipe buffers
    neuroio.store.seed_group("Everyone", members=keys)
    err = tmp_path / "stderr.txt"
    command = (
        "set -o pipefail; "
        f"{sys.executable} -m asyncgroups members list Everyone 2>{err} | head -1"
    )
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        command,
        env=cli_env(neuroio),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    assert out.decode() == "# Everyone: 6000 members\n"
    assert err.read_text() == ""


# -- exit codes: refused, skipped ---------------------------------------------------


async def test_a_safety_refusal_exits_3_and_writes_nothing(
    snip: Emulator[Any], tmp_path: Path
) -> None:
    keys = snip.store.seed_users(6)
    gid = snip.store.seed_group("Alumni", members=keys)
    before = snip.store.members(gid)
    owner = before - set(keys)
    desired = tmp_path / "desired.json"
    desired.write_text(json.dumps({"Alumni": sorted(owner)}))
    result = await run(
        "sync", "--from", str(desired), "--prune", "--max-removals", "2",
        env=cli_env(snip),
    )  # fmt: skip
    assert result.code == 3
    assert "refusing to apply" in result.err
    assert snip.store.members(gid) == before
    assert writes(snip) == []


async def test_a_sync_that_skipped_something_is_not_converged_and_exits_1(
    neuroio: Emulator[Any], tmp_path: Path
) -> None:
    """A missing group without --create-groups is skipped: exit 1, NOT converged."""
    keys = neuroio.store.seed_users(4)
    gid = neuroio.store.seed_group("Eng")
    desired = tmp_path / "desired.json"
    desired.write_text(json.dumps({"Eng": keys[:2], "Missing": keys[2:]}))
    result = await run("sync", "--from", str(desired), env=cli_env(neuroio))
    assert result.code == 1, result.err
    assert "NOT converged" in result.out
    assert "; converged" not in result.out
    assert neuroio.store.members(gid) == frozenset(keys[:2])

    as_json = await run("sync", "--from", str(desired), "--json", env=cli_env(neuroio))
    assert as_json.code == 1
    report = json.loads(as_json.out)
    assert report["version"] == 1
    assert report["converged"] is False
    missing = next(g for g in report["groups"] if g["key"] == "Missing")
    assert set(missing["skipped"]) == set(keys[2:])


async def test_unknown_keys_are_reported_for_a_group_to_be_created(
    tmp_path: Path,
) -> None:
    """The plan lists unknown keys of a group "(to be created)" too."""
    async with serve_emulator("periscope", seed=23) as emu:
        keys = emu.store.seed_users(2)
        desired = tmp_path / "desired.json"
        desired.write_text(json.dumps({"New": [*keys, "nobody@example.com"]}))
        result = await run(
            "plan", "--from", str(desired), "--create-groups", "--json",
            env=cli_env(emu),
        )  # fmt: skip
        text = await run(
            "plan", "--from", str(desired), "--create-groups", env=cli_env(emu)
        )
    assert result.code == 0, result.err
    (group,) = json.loads(result.out)["groups"]
    assert group["create"] is True
    assert set(group["to_add"]) == set(keys)
    assert set(group["unknown"]) == {"nobody@example.com"}
    assert "+ nobody@example.com" not in text.out
    assert "? nobody@example.com" in text.out
    assert "1 unknown" in text.out


# -- JSON errors ---------------------------------------------------------------


async def test_json_errors_are_one_json_object_on_stdout(
    neuroio: Emulator[Any], tmp_path: Path
) -> None:
    bad_token = await run(
        "groups", "list", "--json", env=cli_env(neuroio, ASYNCGROUPS_TOKEN="wrong-1")
    )
    bad_file = await run(
        "sync", "--from", str(tmp_path / "absent.csv"), "--json", env=cli_env(neuroio)
    )
    for result, code, kind in (
        (bad_token, 1, "AuthenticationError"),
        (bad_file, 2, "InvalidInputError"),
    ):
        assert result.code == code
        document = json.loads(result.out)  # exactly one JSON document
        assert document == {
            "version": 1,
            "error": {
                "type": kind,
                "message": document["error"]["message"],
                "notes": document["error"]["notes"],
                "exit_code": code,
            },
        }
        assert document["error"]["message"]
        assert result.err == ""
        assert "wrong-1" not in result.out


# -- Ctrl-C during an apply -------------------------------------------------------


async def test_ctrl_c_during_apply_prints_the_partial_report_and_exits_130(
    neuroio: Emulator[Any], tmp_path: Path
) -> None:
    """The report's counts match the store; a request in flight is counted unknown."""
    pids = neuroio.store.seed_users(2000)
    desired: dict[str, list[str]] = {}
    gids: dict[str, str] = {}
    for i in range(20):  # one request of 100 pids per group, one at a time
        name = f"g{i:02d}"
        gids[name] = neuroio.store.seed_group(name)
        desired[name] = pids[i * 100 : (i + 1) * 100]
    path = tmp_path / "desired.json"
    path.write_text(json.dumps(desired))
    neuroio.faults.add(Fault.latency(0.1), route="POST *")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncgroups", "sync", "--from", str(path),
        "--json", "--concurrency", "1",
        env=cli_env(neuroio),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    for _ in range(600):  # until a few writes have been answered
        if len(writes(neuroio)) >= 4:
            break
        await asyncio.sleep(0.05)
    assert len(writes(neuroio)) >= 4
    proc.send_signal(signal.SIGINT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 130
    document = json.loads(out)
    assert document["version"] == 1
    assert document["error"]["exit_code"] == 130
    partial = document["partial"]
    assert partial["total"] == 2000
    assert partial["applied"] + partial["failed"] + partial["unknown"] == 2000
    assert partial["failed"] == 0
    reported = {g: set(keys) for g, keys in partial["added"].items()}
    assert sum(map(len, reported.values())) == partial["applied"] > 0
    stored = {name: set(neuroio.store.members(gid)) for name, gid in gids.items()}
    for name, keys in reported.items():
        assert keys <= stored[name]  # everything reported applied is applied
    # What the store holds beyond the report was in flight: at most one request.
    beyond = sum(len(stored[name] - reported.get(name, set())) for name in gids)
    assert beyond <= min(100, partial["unknown"])
    assert 0 < partial["unknown"] < 2000


async def test_ctrl_c_plain_text_partial_report(
    neuroio: Emulator[Any], tmp_path: Path
) -> None:
    pids = neuroio.store.seed_users(1000)
    desired = {f"g{i}": pids[i * 100 : (i + 1) * 100] for i in range(10)}
    for name in desired:
        neuroio.store.seed_group(name)
    path = tmp_path / "desired.json"
    path.write_text(json.dumps(desired))
    neuroio.faults.add(Fault.latency(0.1), route="POST *")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncgroups", "sync", "--from", str(path),
        "--concurrency", "1",
        env=cli_env(neuroio),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    for _ in range(600):
        if len(writes(neuroio)) >= 2:
            break
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 130
    assert "interrupted: " in out.decode()
    assert " of 1000 operations applied" in out.decode()
    assert "Traceback" not in err.decode()


# -- extras -------------------------------------------------------------------------

BLOCK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
from asyncgroups.cli.main import main
code = main({argv!r})
extras = sorted(m for m in sys.modules if m.split(".")[0] in {extras!r})
print("extras:", extras, file=sys.stderr)
raise SystemExit(code)
"""

EXTRAS = {"rich", "redis", "scim2_models", "scim2_server", "matplotlib"}


async def python(code: str, env: Mapping[str, str]) -> Run:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, env=dict(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


async def test_version_works_without_any_extra() -> None:
    """``--version`` on the base install: no rich, and no extra is even imported."""
    code = BLOCK.format(blocked=EXTRAS, argv=["--version"], extras=EXTRAS)
    result = await python(code, cli_env())
    assert result.code == 0, result.err
    assert result.out.startswith("asyncgroups ")
    assert "extras: []" in result.err


async def test_the_scim_emulator_without_its_extra_names_it() -> None:
    blocked = {"scim2_models", "scim2_server"}
    code = BLOCK.format(
        blocked=blocked, argv=["emulator", "scim", "--port", "0"], extras=blocked
    )
    result = await python(code, cli_env())
    assert result.code == 2
    assert "pip install 'asyncgroups[scim]'" in result.err
    assert "Traceback" not in result.err


async def test_the_scim_emulator_serves_standalone() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncgroups", "emulator", "scim", "--port", "0",
        "--json", "--groups", "3",
        env=cli_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    text = ""
    try:
        while not text.rstrip().endswith("}"):
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, "the emulator ended early"
            text += line.decode()
        details = json.loads(text)
        assert details["version"] == 1
        listed = await run(
            "groups", "list", "--json", env={**cli_env(), **details["env"]}
        )
        assert listed.code == 0, listed.err
        assert len(json.loads(listed.out)["groups"]) == 3
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0


# -- progress and warnings ------------------------------------------------------------


async def test_retries_and_429s_are_warned_on_stderr(neuroio: Emulator[Any]) -> None:
    """A 429 that holds a request back and a 503 retried: WARNING lines, exit 0."""
    gid = neuroio.store.seed_group("Ops")
    neuroio.faults.add(Fault.status(429, retry_after=0.2), times=1)
    neuroio.faults.add(Fault.status(503), times=1, after=1)
    result = await run("groups", "list", env=cli_env(neuroio))
    assert result.code == 0, result.err
    assert gid in result.out
    warnings = [
        line for line in result.err.splitlines() if line.startswith("WARNING: ")
    ]
    assert warnings, result.err
    assert "rate limited (429) on attempt 1; retrying in" in warnings[0]
    assert neuroio.credentials["token"] not in result.err


async def test_planning_shows_progress_while_it_waits(
    neuroio: Emulator[Any], tmp_path: Path
) -> None:
    """A slow plan prints plain progress lines on stderr (not a terminal)."""
    pids = neuroio.store.seed_users(40)
    desired = {}
    for i in range(40):
        neuroio.store.seed_group(f"g{i}")
        desired[f"g{i}"] = [pids[i]]
    path = tmp_path / "desired.json"
    path.write_text(json.dumps(desired))
    neuroio.faults.add(Fault.latency(0.1), route="GET *")
    result = await run(
        "plan", "--from", str(path), "--concurrency", "1", env=cli_env(neuroio)
    )
    assert result.code == 0, result.err
    progress = [
        line
        for line in result.err.splitlines()
        if line.startswith("planning neuroio: ")
    ]
    assert progress, result.err
    assert progress[-1].endswith(" requests")


# -- the library's own log lines ---------------------------------------------------


async def test_library_warnings_never_interleave_with_the_output(
    neuroio: Emulator[Any],
) -> None:
    """429s and repeated retries: the command's own WARNING lines, no raw log lines."""
    neuroio.store.seed_group("Engineering")
    neuroio.faults.add(
        Fault.status(429, retry_after=0.05), times=3, route="GET /v1/groups/persons/"
    )
    done = await run("groups", "list", env=cli_env(neuroio))
    assert done.code == 0, done.err
    assert "Engineering" in done.out
    assert neuroio.faults.counts["429"] == 3
    # the library logged a closing gate and later retries at WARNING; the command
    # shows retries its own way and keeps those records off the terminal
    for raw in ("rate-limit gate closed", "retrying GET", "giving up on"):
        assert raw not in done.out
        assert raw not in done.err
    assert "WARNING" in done.err
