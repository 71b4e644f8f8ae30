"""Shared fixtures: backend parametrisation, emulators, clients, and guards."""

import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.testing import Emulator, serve_emulator

#: Every backend the conformance and sync suites run against.
BACKEND_NAMES = ("snip", "neuroio", "periscope", "scim", "graph", "okta")

#: Retries fast enough for tests, patient enough for injected fault storms.
FAST_RETRY = ag.RetryPolicy(
    max_attempts=12, base_delay=0.005, max_delay=0.1, deadline=60.0, budget=None
)


@pytest.fixture(params=[pytest.param(n, id=n) for n in BACKEND_NAMES])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def emulator(backend_name: str) -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator(backend_name, seed=1) as emu:
        yield emu


@pytest.fixture
def fast_retry() -> ag.RetryPolicy:
    return FAST_RETRY


@pytest.fixture
async def client(emulator: Emulator[Any]) -> AsyncIterator[ag.Client]:
    backend = ag.connect(emulator.name, base_url=emulator.url, **emulator.credentials)
    async with ag.Client(backend, retry=FAST_RETRY) as c:
        yield c


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip ``@pytest.mark.requires(Capability.X)`` tests on backends without X."""
    for item in items:
        marker = item.get_closest_marker("requires")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None:
            continue
        name = callspec.params.get("backend_name")
        if name is None:
            continue
        backend_class: Any = ag.backends.load(name)
        capabilities = backend_class.CAPABILITIES
        missing = [c for c in marker.args if c not in capabilities]
        if missing:
            names = ", ".join(c.name for c in missing)
            item.add_marker(pytest.mark.skip(reason=f"{name} lacks {names}"))


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxy and TLS variables from the machine never change a test."""
    for name in list(os.environ):
        if name.lower() in {
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "no_proxy",
            "ssl_cert_file",
            "ssl_cert_dir",
            "requests_ca_bundle",
        }:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def captured_logs(
    caplog: pytest.LogCaptureFixture,
) -> pytest.LogCaptureFixture:
    """DEBUG logs of the ``asyncgroups`` logger, for secret-leak checks."""
    caplog.set_level(logging.DEBUG, logger="asyncgroups")
    return caplog
