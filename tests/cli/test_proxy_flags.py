"""``--proxy``, ``--trust-env`` and ``--ca-file`` against a TLS emulator via a proxy.

The Snip emulator serves HTTPS with a certificate of a private CA (trustme) whose
PEM file the command is given; a recording forwarding proxy sits in between.
"""

import asyncio
import base64
import json
import os
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from tests.transport.forward_proxy import ForwardProxy, serve_forward_proxy

from asyncgroups.cli.main import amain
from asyncgroups.testing import Emulator, serve_emulator

PROXY_PASSWORD = "cli-proxy-pass-8b3d1f"
PROXY_AUTH = "Basic " + base64.b64encode(f"u:{PROXY_PASSWORD}".encode()).decode()
SETTINGS = ("PROXY", "TRUST_ENV", "CA_FILE")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def tls_snip(ca: trustme.CA) -> AsyncIterator[Emulator[Any]]:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    async with serve_emulator("snip", seed=51, ssl_context=server_ctx) as emu:
        emu.store.seed_group("Engineering")
        emu.store.seed_group("Ops")
        yield emu


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    async with serve_forward_proxy() as running:
        yield running


@pytest.fixture(autouse=True)
def _no_settings_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(f"ASYNCGROUPS_{name}", raising=False)


def use(monkeypatch: pytest.MonkeyPatch, emu: Emulator[Any]) -> None:
    """Point the CLI at ``emu`` through ASYNCGROUPS_* variables."""
    monkeypatch.setenv("ASYNCGROUPS_BACKEND", emu.name)
    monkeypatch.setenv("ASYNCGROUPS_BASE_URL", emu.url)
    for key, value in emu.credentials.items():
        monkeypatch.setenv(f"ASYNCGROUPS_{key.upper()}", str(value))


def connect_line(emu: Emulator[Any]) -> str:
    return f"CONNECT {emu.url.split('://', 1)[1]} HTTP/1.1"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def listed(out: str) -> set[str]:
    return {g["name"] for g in json.loads(out)["groups"]}


def missing_file(directory: Path) -> Path:
    return directory / "missing.pem"


def not_pem(directory: Path) -> Path:
    path = directory / "notes.pem"
    path.write_text("not a certificate\n")
    return path


async def run_cli(*argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    """``python -m asyncgroups ARGV`` as a child process: exit code, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncgroups",
        *argv,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_proxy_and_ca_file_flags_list_groups_through_the_tunnel(
    tls_snip, proxy, ca_file, monkeypatch, capsys
):
    use(monkeypatch, tls_snip)
    argv = ["groups", "list", "--json", "--proxy", proxy.url, "--ca-file", str(ca_file)]
    assert await amain(argv) == 0
    out, err = capsys.readouterr()
    assert listed(out) == {"Engineering", "Ops"}
    assert proxy.connects == [connect_line(tls_snip)]
    assert [r.method for r in tls_snip.requests] == ["GET"]
    token = tls_snip.credentials["token"]
    assert token not in out + err
    assert token.encode() not in proxy.relayed


async def test_settings_from_the_environment_and_flags_win(
    tls_snip, proxy, ca_file, monkeypatch, capsys
):
    """ASYNCGROUPS_PROXY/CA_FILE work alone; --proxy overrides a dead one."""
    use(monkeypatch, tls_snip)
    monkeypatch.setenv("ASYNCGROUPS_PROXY", proxy.url)
    monkeypatch.setenv("ASYNCGROUPS_CA_FILE", str(ca_file))
    assert await amain(["groups", "list", "--json"]) == 0
    assert listed(capsys.readouterr().out) == {"Engineering", "Ops"}
    assert proxy.connects == [connect_line(tls_snip)]

    monkeypatch.setenv("ASYNCGROUPS_PROXY", f"http://127.0.0.1:{closed_port()}")
    assert await amain(["groups", "list", "--json", "--proxy", proxy.url]) == 0
    assert listed(capsys.readouterr().out) == {"Engineering", "Ops"}
    assert len(proxy.connects) == 2


async def test_an_unreachable_proxy_from_the_environment_fails_the_command(
    tls_snip, ca_file, monkeypatch, capsys
):
    """The dead proxy of the previous test really is used when no flag overrides it."""
    use(monkeypatch, tls_snip)
    port = closed_port()
    monkeypatch.setenv(
        "ASYNCGROUPS_PROXY", f"http://u:{PROXY_PASSWORD}@127.0.0.1:{port}"
    )
    argv = ["groups", "list", "--ca-file", str(ca_file), "--retries", "1"]
    assert await amain(argv) == 1
    out, err = capsys.readouterr()
    assert f"cannot connect to the proxy 127.0.0.1:{port}" in err
    assert PROXY_PASSWORD not in out + err
    assert tls_snip.requests == []


async def test_trust_env_flag_and_variable(
    tls_snip, proxy, ca_file, monkeypatch, capsys
):
    """--trust-env reads HTTPS_PROXY; --no-trust-env beats ASYNCGROUPS_TRUST_ENV=1."""
    use(monkeypatch, tls_snip)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    base = ["groups", "list", "--json", "--ca-file", str(ca_file)]
    assert await amain([*base, "--trust-env"]) == 0
    assert listed(capsys.readouterr().out) == {"Engineering", "Ops"}
    assert proxy.connects == [connect_line(tls_snip)]

    monkeypatch.setenv("ASYNCGROUPS_TRUST_ENV", "1")
    assert await amain([*base, "--no-trust-env"]) == 0
    capsys.readouterr()
    assert len(proxy.connects) == 1  # went direct

    assert await amain(base) == 0
    capsys.readouterr()
    assert len(proxy.connects) == 2  # the variable alone turns it on


async def test_verification_is_on_without_the_ca_file(
    tls_snip, proxy, monkeypatch, capsys
):
    use(monkeypatch, tls_snip)
    argv = ["groups", "list", "--proxy", proxy.url, "--retries", "1"]
    assert await amain(argv) == 1
    assert "certificate verification failed" in capsys.readouterr().err
    assert tls_snip.requests == []


@pytest.mark.parametrize(
    ("make", "says"),
    [
        pytest.param(missing_file, "No such file", id="missing"),
        pytest.param(Path, "Is a directory", id="directory"),
        pytest.param(not_pem, "it holds no PEM certificate", id="not-pem"),
    ],
)
async def test_a_bad_ca_file_is_exit_2_and_sends_nothing(
    tls_snip: Emulator[Any],
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    make: Callable[[Path], Path],
    says: str,
):
    use(monkeypatch, tls_snip)
    bad = make(tmp_path)
    argv = ["groups", "list", "--proxy", proxy.url, "--ca-file", str(bad)]
    assert await amain(argv) == 2
    err = capsys.readouterr().err
    assert f"--ca-file {str(bad)!r}: cannot use it as a CA file: {says}" in err
    assert proxy.request_lines == []
    assert tls_snip.requests == []

    monkeypatch.setenv("ASYNCGROUPS_CA_FILE", str(bad))
    assert await amain(["groups", "list", "--json"]) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["error"]["type"] == "ConfigurationError"
    assert "ASYNCGROUPS_CA_FILE" in document["error"]["message"]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(f"ftp://u:{PROXY_PASSWORD}@127.0.0.1:1", id="scheme"),
        pytest.param(f"http://u:{PROXY_PASSWORD}@", id="no-host"),
        pytest.param(f"http://u:{PROXY_PASSWORD}@proxy:1/x\r\n", id="crlf"),
    ],
)
async def test_a_bad_proxy_is_exit_2_naming_the_flag_not_the_password(
    tls_snip, monkeypatch, capsys, value
):
    use(monkeypatch, tls_snip)
    assert await amain(["groups", "list", "--proxy", value]) == 2
    out, err = capsys.readouterr()
    assert "--proxy" in err
    assert PROXY_PASSWORD not in out + err
    monkeypatch.setenv("ASYNCGROUPS_PROXY", value)
    assert await amain(["groups", "list"]) == 2
    out, err = capsys.readouterr()
    assert "ASYNCGROUPS_PROXY" in err
    assert PROXY_PASSWORD not in out + err
    assert tls_snip.requests == []


async def test_the_command_as_a_process_through_an_authenticating_proxy(
    tls_snip, ca_file
):
    """``python -m asyncgroups`` with a proxy password in the environment."""
    async with serve_forward_proxy(require_auth=PROXY_AUTH) as guarded:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCGROUPS_")}
        env.update(
            ASYNCGROUPS_BACKEND=tls_snip.name,
            ASYNCGROUPS_BASE_URL=tls_snip.url,
            ASYNCGROUPS_TOKEN=tls_snip.credentials["token"],
            ASYNCGROUPS_PROXY=guarded.url.replace(
                "http://", f"http://u:{PROXY_PASSWORD}@"
            ),
            ASYNCGROUPS_CA_FILE=str(ca_file),
        )
        code, out, err = await run_cli("groups", "list", "--json", env=env)
        assert code == 0, err
        assert listed(out) == {"Engineering", "Ops"}
        assert guarded.connects == [connect_line(tls_snip)]
        assert [h.get("proxy-authorization") for h in guarded.headers] == [PROXY_AUTH]
        assert PROXY_PASSWORD not in out + err

        without = env | {"ASYNCGROUPS_PROXY": guarded.url}  # no credentials
        code, out, err = await run_cli("groups", "list", env=without)
        assert code == 2
        assert "proxy refused its credentials" in err
        assert len(tls_snip.requests) == 1


async def test_a_profile_gives_the_proxy_and_the_ca_file(
    tls_snip, proxy, ca_file, monkeypatch, capsys, tmp_path
):
    """proxy and ca_file (relative to the config file) from a TOML profile."""
    use(monkeypatch, tls_snip)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.corp]\nproxy = "{proxy.url}"\nca_file = "{ca_file.name}"\n'
    )
    argv = ["groups", "list", "--json", "--config", str(config), "--profile", "corp"]
    assert await amain(argv) == 0
    assert listed(capsys.readouterr().out) == {"Engineering", "Ops"}
    assert proxy.connects == [connect_line(tls_snip)]

    config.write_text('[profiles.corp]\nca_file = "missing.pem"\n')
    assert await amain(argv) == 2
    message = json.loads(capsys.readouterr().out)["error"]["message"]
    assert message.startswith(f"profile corp {str(tmp_path / 'missing.pem')!r}: ")
    assert len(tls_snip.requests) == 1
