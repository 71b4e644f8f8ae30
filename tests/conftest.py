"""Shared fixtures: backend parametrisation, emulators, clients, and guards."""

import logging
import os
from collections.abc import AsyncIterator, Iterator
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


# -- every error the library raises, walked for credentials ---------------------------

#: Shorter "credentials" (test placeholders such as "t") would match everywhere.
_SHORTEST_SECRET = 8


def error_chain_texts(exc: BaseException) -> Iterator[str]:
    """str, repr, args, notes and each attribute's repr of ``exc`` and all it chains.

    Follows ``__cause__``, ``__context__`` and exception-group members, and any
    exception held in an attribute, as an error reporter (Sentry) would.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(getattr(current, "__notes__", []))
        for name, value in vars(current).items():
            yield f"{name}={value!r}"
            if isinstance(value, BaseException):
                todo.append(value)
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                todo.append(nxt)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)


#: The test running now: credentials and errors are matched per test (seeded
#: emulators may issue one test's token as another test's public id).
_current_test = [""]


def pytest_runtest_setup(item: pytest.Item) -> None:
    _current_test[0] = item.nodeid


@pytest.fixture(scope="module")
def every_error_scrubbed() -> Iterator[None]:
    """Fail the module if any library error it raised holds a credential anywhere.

    Records every credential given to the library during each test (each passes
    through :class:`asyncgroups.Secret`) and every
    :class:`asyncgroups.AsyncGroupsError` made; once the module's tests are done
    (chains are complete only after the raise), walks each error with
    :func:`error_chain_texts` for the credentials of its test. Module-scoped, so
    Hypothesis tests can use it.
    """
    secrets: dict[str, set[str]] = {}
    errors: list[tuple[str, BaseException]] = []
    secret_init = ag.Secret.__init__
    error_init = ag.AsyncGroupsError.__init__

    def record_secret(self: ag.Secret, value: "str | ag.Secret") -> None:
        secret_init(self, value)
        if len(self.reveal()) >= _SHORTEST_SECRET:
            secrets.setdefault(_current_test[0], set()).add(self.reveal())

    def record_error(self: BaseException, *args: object) -> None:
        error_init(self, *args)
        errors.append((_current_test[0], self))

    ag.Secret.__init__ = record_secret  # type: ignore[method-assign]
    ag.AsyncGroupsError.__init__ = record_error  # type: ignore[method-assign]
    try:
        yield
    finally:
        ag.Secret.__init__ = secret_init  # type: ignore[method-assign]
        ag.AsyncGroupsError.__init__ = error_init  # type: ignore[method-assign]
    leaked = [
        f"{test}: {type(error).__name__} holds a credential at {text.find(secret)} "
        f"of: {text[:300]}"
        for test, error in errors
        for text in error_chain_texts(error)
        for secret in secrets.get(test, ())
        if secret in text
    ]
    assert leaked == [], f"{len(leaked)} texts of library errors hold a credential"


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's asyncgroups config file and profile never change a test."""
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent/asyncgroups-tests")
    for name in ("ASYNCGROUPS_CONFIG", "ASYNCGROUPS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
