"""Proxies: CONNECT to a TLS emulator, plain forwarding, the environment, secrets.

A forwarding proxy on loopback (``forward_proxy.py``) records every request line
and every byte it relays; the Snip emulator serves over TLS with a private CA made
by trustme. Each test checks what the client returned, what the emulator holds and
what the proxy saw.
"""

import base64
import logging
import socket
import ssl
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme

import asyncgroups as ag
from asyncgroups.testing import Emulator, serve_emulator
from asyncgroups.transport.aiohttp import AiohttpTransport

from .forward_proxy import ForwardProxy, serve_forward_proxy

NO_RETRY = ag.RetryPolicy.off()
PROXY_USER = "alice"
PROXY_PASSWORD = "proxy-pass-5f1c9e2a"
PROXY_AUTH = (
    "Basic " + base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A verifying client context that trusts the private CA."""
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
async def tls_snip(ca: trustme.CA) -> AsyncIterator[Emulator[Any]]:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    async with serve_emulator("snip", seed=41, ssl_context=server_ctx) as emu:
        yield emu


@pytest.fixture
async def snip() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("snip", seed=42) as emu:
        yield emu


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    async with serve_forward_proxy() as running:
        yield running


@pytest.fixture
async def guarded_proxy() -> AsyncIterator[ForwardProxy]:
    """A proxy that answers 407 unless given alice's password."""
    async with serve_forward_proxy(require_auth=PROXY_AUTH) as running:
        yield running


def backend_for(emu: Emulator[Any]) -> ag.GroupBackend:
    return ag.connect(emu.name, base_url=emu.url, **emu.credentials)


def with_credentials(proxy: ForwardProxy, password: str = PROXY_PASSWORD) -> str:
    return proxy.url.replace("http://", f"http://{PROXY_USER}:{password}@")


def hostport(emu: Emulator[Any]) -> str:
    return emu.url.split("://", 1)[1]


def stored_names(emu: Emulator[Any]) -> set[str]:
    return {group.name for group in emu.store.groups.values()}


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def error_texts(exc: BaseException) -> list[str]:
    """What an error reporter would show of ``exc``: message, repr, traceback, chain."""
    texts = [str(exc), repr(exc), repr(exc.args), repr(vars(exc))]
    texts += traceback.format_exception(exc)
    return texts


# -- CONNECT to an https:// API ---------------------------------------------------


async def test_connect_tunnel_reaches_the_tls_emulator(tls_snip, proxy, trusting):
    """The write goes through one CONNECT; the proxy sees neither token nor body."""
    token = tls_snip.credentials["token"]
    async with ag.Client(
        backend_for(tls_snip), proxy=proxy.url, ssl_context=trusting, retry=NO_RETRY
    ) as client:
        group = await client.groups.create("Tunnelled-7c2e")
        assert (await client.groups.get(group.id)).name == "Tunnelled-7c2e"
    assert "Tunnelled-7c2e" in stored_names(tls_snip)
    assert proxy.request_lines == [f"CONNECT {hostport(tls_snip)} HTTP/1.1"]
    # The emulator got the credential; the proxy relayed only ciphertext.
    assert {r.headers["Authorization"] for r in tls_snip.requests} == {
        f"Bearer {token}"
    }
    assert len(proxy.relayed) > 1000  # the TLS handshake and records went through it
    for plain in (token.encode(), b"Bearer", b"Authorization", b"Tunnelled-7c2e"):
        assert plain not in proxy.relayed


async def test_verification_stays_on_through_the_proxy(tls_snip, proxy):
    """Without the private CA the tunnel opens but the API is refused, unsent."""
    async with ag.Client(backend_for(tls_snip), proxy=proxy.url, retry=NO_RETRY) as c:
        with pytest.raises(ag.ConnectError, match="certificate verification failed"):
            await c.groups.create("Never-sent")
    assert proxy.connects == [f"CONNECT {hostport(tls_snip)} HTTP/1.1"]
    assert tls_snip.requests == []
    assert "Never-sent" not in stored_names(tls_snip)


async def test_proxy_credentials_go_on_the_connect_only(
    tls_snip, guarded_proxy, trusting
):
    """user:password in the URL is the CONNECT's Proxy-Authorization, not the API's."""
    async with ag.Client(
        backend_for(tls_snip),
        proxy=with_credentials(guarded_proxy),
        ssl_context=trusting,
        retry=NO_RETRY,
    ) as client:
        await client.groups.create("Authorised-1b")
    assert "Authorised-1b" in stored_names(tls_snip)
    assert [h.get("proxy-authorization") for h in guarded_proxy.headers] == [PROXY_AUTH]
    assert all(
        "proxy-authorization" not in {k.lower() for k in r.headers}
        for r in tls_snip.requests
    )


async def test_refused_proxy_credentials_are_a_configuration_error(
    tls_snip, guarded_proxy, trusting
):
    """A 407 says the proxy credentials are wrong, and quotes none of them."""
    wrong = "wrong-pass-0d9a77"
    async with ag.Client(
        backend_for(tls_snip),
        proxy=with_credentials(guarded_proxy, wrong),
        ssl_context=trusting,
        retry=NO_RETRY,
    ) as client:
        with pytest.raises(ag.ConfigurationError, match="407") as caught:
            await client.groups.create("Refused")
    assert "proxy refused its credentials" in str(caught.value)
    assert tls_snip.requests == []
    assert len(guarded_proxy.connects) == 1
    for text in error_texts(caught.value):
        assert wrong not in text
        assert PROXY_USER not in text


async def test_a_borrowed_session_gets_the_clients_proxy(tls_snip, proxy, trusting):
    async with aiohttp.ClientSession() as session:
        async with ag.Client(
            backend_for(tls_snip),
            session=session,
            proxy=proxy.url,
            ssl_context=trusting,
            retry=NO_RETRY,
        ) as client:
            await client.groups.create("Borrowed-4d")
        assert not session.closed
    assert "Borrowed-4d" in stored_names(tls_snip)
    assert proxy.connects == [f"CONNECT {hostport(tls_snip)} HTTP/1.1"]


# -- the environment: HTTPS_PROXY, NO_PROXY, .netrc --------------------------------


async def test_trust_env_uses_https_proxy(tls_snip, proxy, trusting, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    async with ag.Client(
        backend_for(tls_snip), trust_env=True, ssl_context=trusting, retry=NO_RETRY
    ) as client:
        await client.groups.create("From-env-9e")
    assert "From-env-9e" in stored_names(tls_snip)
    assert proxy.connects == [f"CONNECT {hostport(tls_snip)} HTTP/1.1"]


async def test_the_environment_is_ignored_by_default(
    tls_snip, proxy, trusting, monkeypatch
):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    async with ag.Client(
        backend_for(tls_snip), ssl_context=trusting, retry=NO_RETRY
    ) as client:
        await client.groups.create("Direct-3a")
    assert "Direct-3a" in stored_names(tls_snip)
    assert proxy.request_lines == []
    assert proxy.relayed == b""


async def test_no_proxy_covering_the_host_bypasses_the_proxy(
    tls_snip, proxy, trusting, monkeypatch
):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    async with ag.Client(
        backend_for(tls_snip), trust_env=True, ssl_context=trusting, retry=NO_RETRY
    ) as client:
        await client.groups.create("Bypassed-66")
    assert "Bypassed-66" in stored_names(tls_snip)
    assert proxy.request_lines == []
    assert proxy.relayed == b""


async def test_an_explicit_proxy_wins_over_no_proxy(
    tls_snip, proxy, trusting, monkeypatch
):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with ag.Client(
        backend_for(tls_snip),
        proxy=proxy.url,
        trust_env=True,
        ssl_context=trusting,
        retry=NO_RETRY,
    ) as client:
        await client.groups.create("Explicit-2f")
    assert proxy.connects == [f"CONNECT {hostport(tls_snip)} HTTP/1.1"]


async def test_a_netrc_login_for_an_authenticated_host_is_a_clear_error(
    snip, monkeypatch, tmp_path: Path
):
    """aiohttp refuses .netrc Basic auth next to the backend's own Authorization."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login bob password netrc-pass-77e1\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    async with ag.Client(backend_for(snip), trust_env=True, retry=NO_RETRY) as client:
        with pytest.raises(ag.ConfigurationError, match="netrc") as caught:
            await client.groups.create("Conflicted")
    assert snip.requests == []
    for text in error_texts(caught.value):
        assert "netrc-pass-77e1" not in text


# -- plain http:// through the proxy ----------------------------------------------


async def test_plain_http_is_forwarded_with_absolute_uris(snip, guarded_proxy):
    """An http:// API: absolute-URI requests, Proxy-Authorization on each."""
    async with ag.Client(
        backend_for(snip), proxy=with_credentials(guarded_proxy), retry=NO_RETRY
    ) as client:
        group = await client.groups.create("Forwarded-5b")
        assert (await client.groups.get(group.id)).name == "Forwarded-5b"
    assert "Forwarded-5b" in stored_names(snip)
    # every request the emulator answered came through the proxy, in absolute form
    lines = guarded_proxy.request_lines
    assert [line.split(" ")[:2] for line in lines] == [
        [r.method, snip.url + r.raw_path] for r in snip.requests
    ]
    assert "POST" in [r.method for r in snip.requests]
    assert [h.get("proxy-authorization") for h in guarded_proxy.headers] == [
        PROXY_AUTH
    ] * len(lines)


# -- secrets and bad input ----------------------------------------------------------


async def test_proxy_credentials_never_in_repr_logs_or_errors(captured_logs):
    """An unreachable proxy: the error and the logs name host:port, not the login."""
    port = closed_port()
    url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}"
    backend = ag.connect("snip", base_url="https://api.example.test", token="t" * 20)
    async with ag.Client(backend, proxy=url, retry=NO_RETRY) as client:
        texts = [repr(client), repr(client.transport), repr(vars(client))]
        with pytest.raises(ag.ConnectError) as caught:
            await client.groups.create("Unreachable")
    message = str(caught.value)
    assert f"cannot connect to the proxy 127.0.0.1:{port}" in message
    assert "https://api.example.test/" in message
    texts += error_texts(caught.value)
    records = captured_logs.records
    assert any(f"127.0.0.1:{port}" in r.getMessage() for r in records)
    texts += [captured_logs.text]
    texts += [r.getMessage() for r in records] + [repr(r.args) for r in records]
    for text in texts:
        assert PROXY_PASSWORD not in text
        assert f"{PROXY_USER}:" not in text


BAD_PROXIES = [
    pytest.param("ftp://proxy.example:21", "http://", id="scheme"),
    pytest.param("https://proxy.example:3128", "http://", id="https-scheme"),
    pytest.param("proxy.example:3128", "http://", id="no-scheme"),
    pytest.param(f"{PROXY_USER}:{PROXY_PASSWORD}@proxy:1", "http://", id="no-slashes"),
    pytest.param("http://", "host", id="no-host"),
    pytest.param(f"http://{PROXY_USER}:{PROXY_PASSWORD}@:3128", "host", id="no-host-2"),
    pytest.param("http://proxy.example:3128\r\nX-Evil: 1", "CR, LF", id="crlf"),
    pytest.param(f"http://u:{PROXY_PASSWORD}@proxy\n:1", "CR, LF", id="lf-in-host"),
    pytest.param("http://proxy .example:3128", "spaces", id="space"),
    pytest.param("http://proxy.example:99999", "port", id="port-range"),
    pytest.param("http://proxy.example:port", "port", id="port-text"),
    pytest.param("http://proxy.example:3128/path", "path", id="path"),
    pytest.param(3128, "str", id="not-a-str"),
]


@pytest.mark.parametrize(("value", "says"), BAD_PROXIES)
def test_bad_proxy_urls_are_refused_before_any_request(value, says):
    loose: Any = ag.Client
    with pytest.raises(ag.ConfigurationError, match="proxy") as caught:
        loose(ag.connect("snip", token="t" * 20), proxy=value)
    assert says in str(caught.value)
    for text in error_texts(caught.value):
        assert PROXY_PASSWORD not in text
    with pytest.raises(ag.ConfigurationError, match="proxy"):
        AiohttpTransport(proxy=value)


def test_good_proxy_urls_are_accepted():
    for url in (
        "http://proxy.example:3128",
        "HTTP://proxy.example",
        "http://proxy.example:3128/",
        f"http://{PROXY_USER}:{PROXY_PASSWORD}@10.0.0.1:8080",
        "http://[::1]:3128",
    ):
        AiohttpTransport(proxy=url)


async def test_misplaced_proxy_settings_are_refused():
    loose: Any = ag.Client
    backend = ag.connect("snip", token="t" * 20)
    with pytest.raises(ag.ConfigurationError, match="trust_env"):
        loose(backend, trust_env="yes")
    with pytest.raises(ag.ConfigurationError, match="your transport"):
        ag.Client(backend, transport=AiohttpTransport(), proxy="http://p:1")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ag.ConfigurationError, match="borrowed session"):
            ag.Client(backend, session=session, trust_env=True)
        with pytest.raises(ag.ConfigurationError, match="borrowed session"):
            AiohttpTransport(session=session, trust_env=True)


def test_proxy_log_line_is_debug_only(caplog):
    """The proxy is named at DEBUG, so a default WARNING setup prints nothing."""
    caplog.set_level(logging.WARNING, logger="asyncgroups")
    AiohttpTransport(proxy=f"http://{PROXY_USER}:{PROXY_PASSWORD}@proxy.example:1")
    assert caplog.records == []
