"""The asyncgroups pytest plugin: emulator fixtures for your own test suite.

Installed through the ``pytest11`` entry point. Fixtures:

- ``asyncgroups_emulator``: a factory, ``async with asyncgroups_emulator("neuroio") as emu``.
- ``neuroio_emulator``, ``snip_emulator``, ``periscope_emulator``: one running emulator
  each, seeded with ``seed=1``, stopped after the test.

Async fixtures need an asyncio pytest plugin (pytest-asyncio in auto mode, or
``@pytest.mark.asyncio``).
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from asyncgroups.testing.server import Emulator, serve_emulator

__all__ = [
    "asyncgroups_emulator",
    "neuroio_emulator",
    "periscope_emulator",
    "snip_emulator",
]


@pytest.fixture
def asyncgroups_emulator() -> Callable[..., AbstractAsyncContextManager[Emulator[Any]]]:
    """Return ``serve_emulator`` for starting emulators inside a test."""
    return serve_emulator


def _fixture(name: str) -> Any:
    async def fixture() -> AsyncIterator[Emulator[Any]]:
        async with serve_emulator(name, seed=1) as emu:
            yield emu

    fixture.__name__ = f"{name}_emulator"
    fixture.__doc__ = f"A running {name} emulator (seed=1)."
    return fixture


try:  # pytest-asyncio marks async fixtures when installed
    import pytest_asyncio

    _decorate: Any = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - plain pytest
    _decorate = pytest.fixture

neuroio_emulator = _decorate(_fixture("neuroio"))
snip_emulator = _decorate(_fixture("snip"))
periscope_emulator = _decorate(_fixture("periscope"))
