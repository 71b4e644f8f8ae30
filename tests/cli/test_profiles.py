"""Named profiles of the config file, against running emulators.

Each test writes a config file whose profiles point at in-process emulators and
runs the command; which emulator a command reached is read from the emulators'
request logs, so a setting's precedence (flag > variable > profile > default) is
shown by where the requests went. No credential written in a profile ever reaches
stdout or stderr, an error included.
"""

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from asyncgroups.cli.main import amain
from asyncgroups.cli.profiles import ProfileError, load_config
from asyncgroups.cli.settings import prepare, resolve
from asyncgroups.testing import Emulator, Fault, serve_emulator

pytestmark = pytest.mark.usefixtures("every_error_scrubbed")

#: A credential written in the file; it must never be printed.
INLINE = "inline-credential-7f3a9c1e"


@pytest.fixture
async def neuroio() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("neuroio", seed=3) as emu:
        emu.store.seed_group("Neuro team")
        yield emu


@pytest.fixture
async def neuroio_twin() -> AsyncIterator[Emulator[Any]]:
    """A second neuroio emulator: the same seed, so the same token."""
    async with serve_emulator("neuroio", seed=3) as emu:
        emu.store.seed_group("Twin team")
        yield emu


@pytest.fixture
async def snip() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("snip", seed=5) as emu:
        emu.store.seed_group("Snip team")
        yield emu


def token(emu: Emulator[Any]) -> str:
    return str(emu.credentials["token"])


def write_config(folder: Path, text: str, *, mode: int = 0o600) -> Path:
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def two_profiles(tmp_path: Path, neuroio: Emulator[Any], snip: Emulator[Any]) -> Path:
    """Profile ``a``: neuroio, token from a variable; ``b``: snip, token from a file."""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "snip.token").write_text(f"  {token(snip)}\n")
    return write_config(
        tmp_path,
        f"""
[profiles.a]
backend = "neuroio"
base_url = "{neuroio.url}"
token_env = "NEURO_TOKEN"

[profiles.b]
backend = "snip"
base_url = "{snip.url}"
token_file = "secrets/snip.token"
""",
    )


def reached(emu: Emulator[Any]) -> int:
    return len(emu.requests)


def sent_token(emu: Emulator[Any], value: str) -> bool:
    """Every request ``emu`` received carried ``value`` in a header."""
    return bool(emu.requests) and all(
        any(value in header for header in r.headers.values()) for r in emu.requests
    )


async def group_names(
    argv: list[str], capsys: pytest.CaptureFixture[str], *flags: str
) -> set[str]:
    """``groups list --json`` (with ``argv`` before the command, ``flags`` after)."""
    assert await amain([*argv, "groups", "list", "--json", *flags]) == 0
    out, err = capsys.readouterr()
    assert INLINE not in out + err
    return {g["name"] for g in json.loads(out)["groups"]}


async def test_each_profile_reaches_its_own_emulator(
    neuroio: Emulator[Any],
    snip: Emulator[Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--profile a`` lists neuroio's groups, ``--profile b`` snip's, each with its token."""
    config = two_profiles(tmp_path, neuroio, snip)
    monkeypatch.setenv("NEURO_TOKEN", token(neuroio))

    names = await group_names(["--config", str(config), "--profile", "a"], capsys)
    assert names == {"Neuro team"}
    assert sent_token(neuroio, token(neuroio))  # token_env was read
    assert reached(snip) == 0

    neuroio.requests.clear()
    names = await group_names(["--config", str(config), "--profile", "b"], capsys)
    assert names == {"Snip team"}
    assert sent_token(snip, token(snip))  # token_file was read and stripped
    assert reached(neuroio) == 0


async def test_the_profile_flag_works_after_the_command_too(
    neuroio: Emulator[Any],
    snip: Emulator[Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = two_profiles(tmp_path, neuroio, snip)
    argv = ["groups", "list", "--json", "--config", str(config), "--profile", "b"]
    assert await amain(argv) == 0
    assert json.loads(capsys.readouterr().out)["groups"][0]["name"] == "Snip team"
    assert reached(snip) > 0
    assert reached(neuroio) == 0


async def test_profile_chosen_by_flag_then_variable_then_default_profile(
    neuroio: Emulator[Any],
    snip: Emulator[Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The default place ($XDG_CONFIG_HOME) is read; default_profile is the fallback."""
    folder = tmp_path / "xdg" / "asyncgroups"
    folder.mkdir(parents=True)
    config = two_profiles(folder, neuroio, snip)
    config.write_text('default_profile = "b"\n' + config.read_text())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("NEURO_TOKEN", token(neuroio))

    assert await group_names([], capsys) == {"Snip team"}
    monkeypatch.setenv("ASYNCGROUPS_PROFILE", "a")
    assert await group_names([], capsys) == {"Neuro team"}
    assert await group_names(["--profile", "b"], capsys) == {"Snip team"}


async def test_config_file_from_the_variable(
    neuroio: Emulator[Any],
    snip: Emulator[Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = two_profiles(tmp_path, neuroio, snip)
    monkeypatch.setenv("ASYNCGROUPS_CONFIG", str(config))
    assert await group_names(["--profile", "b"], capsys) == {"Snip team"}
    assert reached(neuroio) == 0


async def test_a_variable_overrides_one_setting_of_the_profile(
    neuroio: Emulator[Any],
    neuroio_twin: Emulator[Any],
    snip: Emulator[Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ASYNCGROUPS_BASE_URL wins over the profile's; its token still comes from the profile."""
    config = two_profiles(tmp_path, neuroio, snip)
    monkeypatch.setenv("NEURO_TOKEN", token(neuroio))
    monkeypatch.setenv("ASYNCGROUPS_BASE_URL", neuroio_twin.url)
    names = await group_names(["--config", str(config), "--profile", "a"], capsys)
    assert names == {"Twin team"}
    assert sent_token(neuroio_twin, token(neuroio))
    assert reached(neuroio) == 0


async def test_variables_override_the_profile_and_flags_override_both(
    neuroio: Emulator[Any],
    snip: Emulator[Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Profile a says neuroio, the environment says snip, the flags say neuroio.

    NEURO_TOKEN (profile a's token_env) is never set: a credential the profile
    names is read only when the profile's value is the one used.
    """
    config = two_profiles(tmp_path, neuroio, snip)
    monkeypatch.setenv("ASYNCGROUPS_BACKEND", "snip")
    monkeypatch.setenv("ASYNCGROUPS_BASE_URL", snip.url)
    monkeypatch.setenv("ASYNCGROUPS_TOKEN", token(snip))
    argv = ["--config", str(config), "--profile", "a"]
    assert await group_names(argv, capsys) == {"Snip team"}
    assert reached(snip) > 0
    assert reached(neuroio) == 0

    snip.requests.clear()
    flags = (
        "--backend",
        "neuroio",
        "--base-url",
        neuroio.url,
        "--token",
        token(neuroio),
    )
    assert await group_names(argv, capsys, *flags) == {"Neuro team"}
    assert reached(neuroio) > 0
    assert reached(snip) == 0


async def test_client_settings_follow_the_same_precedence(
    neuroio: Emulator[Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """retries from the profile, then ASYNCGROUPS_RETRIES, then --retries: counted
    as the requests a server answering 503 received."""
    config = write_config(
        tmp_path,
        f"""
[profiles.a]
backend = "neuroio"
base_url = "{neuroio.url}"
token = "{token(neuroio)}"
retries = 1
""",
    )
    neuroio.faults.add(Fault.status(503))
    argv = ["--config", str(config), "--profile", "a", "groups", "list"]
    for env, flags, attempts in (
        (None, [], 1),
        ("3", [], 3),
        ("3", ["--retries", "2"], 2),
    ):
        if env is not None:
            monkeypatch.setenv("ASYNCGROUPS_RETRIES", env)
        neuroio.requests.clear()
        assert await amain([*argv, *flags]) == 1
        assert len(neuroio.requests) == attempts
        capsys.readouterr()


async def show(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``config show --json``: the settings and where each came from."""
    code = await amain(["config", "show", "--json", *argv])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert INLINE not in out + err
    document: dict[str, Any] = json.loads(out)
    return document


async def test_config_show_says_where_each_setting_came_from(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(
        tmp_path,
        f"""
default_profile = "prod"
[profiles.prod]
backend = "neuroio"
base_url = "https://neuroio.example"
token = "{INLINE}"
concurrency = 3
timeout = 12
rate = 4
proxy = "http://user:{INLINE}@proxy.example:3128"
ca_file = "corp-ca.pem"
trust_env = true
""",
    )
    monkeypatch.setenv("ASYNCGROUPS_CONCURRENCY", "5")
    document = await show(["--config", str(config), "--timeout", "7"], capsys)
    settings = {k: (v["value"], v["from"]) for k, v in document["settings"].items()}
    assert document["profile"] == {"name": "prod", "from": "default_profile"}
    assert settings["backend"] == ("neuroio", "profile prod")
    assert settings["token"] == ("***", "profile prod")
    assert settings["concurrency"] == (5, "ASYNCGROUPS_CONCURRENCY")
    assert settings["timeout"] == (7.0, "--timeout")
    assert settings["rate"] == (4.0, "profile prod")
    assert settings["retries"] == (6, "default")
    assert settings["proxy"] == ("http://proxy.example:3128", "profile prod")
    assert settings["ca_file"] == (str(tmp_path / "corp-ca.pem"), "profile prod")
    assert settings["trust_env"] == (True, "profile prod")
    assert settings["page_size"] == (100, "default")

    # The table form masks the same way.
    assert await amain(["config", "show", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "token\t***\tprofile prod" in out
    assert INLINE not in out + err


def test_the_profile_fills_the_parsed_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the commands see: the merged values, credentials wrapped, names hidden."""
    (tmp_path / "tok").write_text(INLINE)
    config = write_config(
        tmp_path,
        f"""
[profiles.p]
backend = "periscope"
site = "acme"
api_key_file = "tok"
test_mode = true

[profiles.q]
backend = "neuroio"
token = "{INLINE}"
""",
    )
    args = argparse.Namespace(config=str(config), profile="p", api_key=None, site=None)
    resolution = prepare(args, {})
    assert args.site == "acme"
    assert args.api_key.reveal() == INLINE
    assert args.concurrency == 16  # the client's defaults are written
    assert getattr(args, "base_url", None) is None  # the backend's stay with it
    things: list[object] = [resolution, resolution.profile]
    things += resolution.settings.values()
    things.append(load_config(config, "--config"))
    for thing in things:
        assert INLINE not in repr(thing)
    assert resolution.settings["api_key"].value.reveal() == INLINE
    assert resolution.settings["api_key"].origin == "profile p (api_key_file tok)"
    assert resolution.settings["test_mode"].value is True


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
async def test_inline_credentials_warn_when_others_can_read_the_file(
    neuroio: Emulator[Any],
    snip: Emulator[Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As ssh: a group- or world-readable file holding a credential is warned about."""
    text = f"""
[profiles.a]
backend = "neuroio"
base_url = "{neuroio.url}"
token = "{token(neuroio)}"
"""
    argv = ["--profile", "a", "groups", "list"]
    config = write_config(tmp_path, text, mode=0o644)
    assert await amain(["--config", str(config), *argv]) == 0
    err = capsys.readouterr().err
    assert f"WARNING: {config} holds credentials (a.token)" in err
    assert "mode 0644" in err
    assert token(neuroio) not in err

    config.chmod(0o600)
    assert await amain(["--config", str(config), *argv]) == 0
    assert "WARNING" not in capsys.readouterr().err

    # Named credentials (token_env, token_file) are nothing to warn about.
    (tmp_path / "named").mkdir()
    named = two_profiles(tmp_path / "named", neuroio, snip)
    named.chmod(0o644)
    assert (
        await amain(["--config", str(named), "--profile", "b", "groups", "list"]) == 0
    )
    assert "WARNING" not in capsys.readouterr().err


async def test_an_inline_credential_is_never_printed_on_a_failure(
    neuroio: Emulator[Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A token the server refuses: exit 1, and neither stream holds the token."""
    config = write_config(
        tmp_path,
        f"""
[profiles.a]
backend = "neuroio"
base_url = "{neuroio.url}"
token = "{INLINE}"
""",
    )
    for extra in ([], ["--json"]):
        argv = ["--config", str(config), "--profile", "a", "groups", "list", *extra]
        assert await amain(argv) == 1
        out, err = capsys.readouterr()
        assert "error" in out + err
        assert INLINE not in out + err
    assert reached(neuroio) > 0


#: (the file, the profile asked for, what the message says, the error's key/line)
ERRORS: list[tuple[str, str, str, dict[str, object]]] = [
    (
        '[profiles.a]\nbackend = "neuroio"\n[profiles.b]\nbackend = "snip"\n',
        "prod",
        "no profile 'prod' (asked for by --profile); profiles: a, b",
        {"profile": "prod"},
    ),
    (
        f'[profiles.a]\nbackend = "neuroio"\ntoken = {INLINE}\n',
        "a",
        "not valid TOML: Invalid value (at line 3, column 9)",
        {"line": 3},
    ),
    (
        f'[profiles.a]\nbackend = "neuroio"\ntokn = "{INLINE}"\n',
        "a",
        "profile 'a': unknown key 'tokn'; did you mean 'token'?",
        {"key": "tokn"},
    ),
    (
        '[profiles.a]\nbackend = "neuroio"\nbase-url = "http://x"\n',
        "a",
        "unknown key 'base-url'; did you mean 'base_url'?",
        {"key": "base-url"},
    ),
    (
        '[profiles.a]\nbackend = "neuroio"\nsite = "acme"\n',
        "a",
        "unknown key 'site': the neuroio backend does not take it (periscope does)",
        {"key": "site"},
    ),
    (
        '[profiles.a]\nbackend = "neuroio"\nconcurrency = "8"\n',
        "a",
        "profile 'a': concurrency must be an integer (not a string)",
        {"key": "concurrency"},
    ),
    (
        '[profiles.a]\nbackend = "neuroio"\ntimeout = -1\n',
        "a",
        "timeout must be above zero",
        {"key": "timeout"},
    ),
    (
        '[profiles.a]\nbackend = "neuroio"\ntoken = 123456789012\n',
        "a",
        "token must be a string (not an integer)",
        {"key": "token"},
    ),
    (
        '[profiles.a]\nbackend = "neuroio"\ntoken_file = "missing.token"\n',
        "a",
        "token_file: no such file: {folder}/missing.token",
        {"key": "token_file"},
    ),
    (
        '[profiles.a]\nbackend = "neuroio"\ntoken_env = "UNSET_TOKEN_VARIABLE"\n',
        "a",
        "token_env names UNSET_TOKEN_VARIABLE, which is not set",
        {"key": "token_env"},
    ),
    (
        f'[profiles.a]\nbackend = "neuroio"\ntoken_env = "{INLINE}"\n',
        "a",
        "token_env names no variable that is set; it holds the variable's name",
        {"key": "token_env"},
    ),
    (
        f'[profiles.a]\nbackend = "neuroio"\ntoken = "{INLINE}"\ntoken_env = "T"\n',
        "a",
        "token is given twice (token and token_env); keep one",
        {"key": "token_env"},
    ),
    (
        '[profiles.a]\nbackend = "neurio"\n',
        "a",
        "profile 'a': backend: unknown backend 'neurio'",
        {"key": "backend"},
    ),
    (
        '[profile.a]\nbackend = "neuroio"\n',
        "a",
        "unknown key 'profile'; did you mean 'profiles'?",
        {"key": "profile"},
    ),
    (
        'default_profile = "c"\n[profiles.a]\nbackend = "neuroio"\n',
        "",
        "no profile 'c' (asked for by default_profile); profiles: a",
        {"profile": "c"},
    ),
]


@pytest.mark.parametrize(
    ("text", "profile", "message", "attributes"),
    ERRORS,
    ids=[
        "unknown-profile",
        "toml-syntax",
        "unknown-key",
        "dashed-key",
        "other-backends-key",
        "wrong-type",
        "not-positive",
        "secret-of-wrong-type",
        "missing-token-file",
        "unset-token-env",
        "credential-in-token-env",
        "credential-twice",
        "unknown-backend",
        "unknown-top-level-key",
        "bad-default-profile",
    ],
)
async def test_config_errors_are_exit_2_with_a_clear_message(
    text: str,
    profile: str,
    message: str,
    attributes: dict[str, object],
    neuroio: Emulator[Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each problem: a ProfileError naming file, profile and key; exit 2; no request."""
    monkeypatch.delenv("UNSET_TOKEN_VARIABLE", raising=False)
    config = write_config(tmp_path, text)
    expected = message.format(folder=tmp_path)
    choose = ["--profile", profile] if profile else []
    args = argparse.Namespace(config=str(config), profile=profile or None)
    with pytest.raises(ProfileError) as caught:
        resolve(args, {})
    assert expected in str(caught.value)
    assert caught.value.path == config
    assert INLINE not in repr(caught.value) + repr(vars(caught.value))
    for name, value in attributes.items():
        assert getattr(caught.value, name) == value

    for extra in ([], ["--json"]):
        argv = ["--config", str(config), *choose, "groups", "list", *extra]
        argv += ["--base-url", neuroio.url]
        assert await amain(argv) == 2
        out, err = capsys.readouterr()
        assert expected in (err if not extra else json.loads(out)["error"]["message"])
        assert INLINE not in out + err
    assert reached(neuroio) == 0


async def test_a_profile_without_a_config_file_is_an_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert await amain(["--profile", "a", "groups", "list"]) == 2
    expected = str(tmp_path / "asyncgroups" / "config.toml")
    assert (
        f"profile 'a' asked for by --profile, but there is no config file at {expected}"
        in capsys.readouterr().err
    )
    missing = tmp_path / "missing.toml"
    assert await amain(["--config", str(missing), "groups", "list"]) == 2
    assert f"no config file at {missing} (named by --config)" in capsys.readouterr().err
    monkeypatch.setenv("ASYNCGROUPS_CONFIG", str(missing))
    assert await amain(["groups", "list"]) == 2
    assert "(named by ASYNCGROUPS_CONFIG)" in capsys.readouterr().err


async def test_a_bad_variable_for_a_client_setting_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASYNCGROUPS_CONCURRENCY", "many")
    assert await amain(["groups", "list", "--backend", "neuroio"]) == 2
    assert "ASYNCGROUPS_CONCURRENCY must be an integer" in capsys.readouterr().err


async def test_the_command_as_a_user_runs_it(
    neuroio: Emulator[Any], snip: Emulator[Any], tmp_path: Path
) -> None:
    """``python -m asyncgroups --profile b groups list`` with the file in its default place."""
    folder = tmp_path / "asyncgroups"
    folder.mkdir()
    two_profiles(folder, neuroio, snip)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCGROUPS_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncgroups",
        "--profile",
        "b",
        "groups",
        "list",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "Snip team" in out.decode()
    assert token(snip) not in (out + err).decode()
    assert reached(snip) > 0
    assert reached(neuroio) == 0
