"""The pytest plugin, seen from a downstream project's own test suite.

Each run is a fresh pytest process (pytester) in a throwaway project that only has
asyncgroups installed: its fixtures serve emulators over loopback, and a run that
does not use them never imports asyncgroups, its emulators or aiohttp.web.
"""

from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

#: A downstream test module using every fixture the plugin provides.
USES_FIXTURES = """
import sys

import asyncgroups as ag
from asyncgroups.testing import Emulator


async def test_neuroio_emulator(neuroio_emulator: Emulator) -> None:
    emu = neuroio_emulator
    keys = emu.store.seed_users(3)
    gid = emu.store.seed_group("Team", members=keys[:1])
    assert emu.url.startswith("http://127.0.0.1:")
    backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
    async with ag.Client(backend) as client:
        result = await client.members.add(gid, keys[1:])
    assert result.ok
    assert emu.store.members(gid) == frozenset(keys)
    assert emu.requests


async def test_snip_and_periscope(snip_emulator: Emulator, periscope_emulator: Emulator) -> None:
    for emu in (snip_emulator, periscope_emulator):
        gid = emu.store.seed_group("Eng")
        backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            group = await client.groups.get(gid)
        assert group.name == "Eng"


async def test_factory(asyncgroups_emulator) -> None:
    async with asyncgroups_emulator("okta", seed=2) as emu:
        backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            assert [g async for g in client.groups.list()] == []
    assert emu.requests
"""

#: A downstream test that uses no fixture of ours: nothing of ours is imported.
USES_NOTHING = """
import sys


def test_nothing_imported() -> None:
    assert "asyncgroups_pytest" in sys.modules  # the plugin is loaded...
    ours = sorted(
        m for m in sys.modules
        if m in ("asyncgroups", "asyncgroups_scim", "aiohttp.web")
        or m.startswith(("asyncgroups.", "asyncgroups_scim.", "aiohttp.web_"))
    )
    assert ours == []  # ...and costs nothing
"""


def test_the_entry_point_names_the_lazy_module() -> None:
    (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "asyncgroups"]
    assert plugin.value == "asyncgroups_pytest"


def test_fixtures_serve_emulators_over_loopback(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_downstream=USES_FIXTURES)
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=3)


def test_a_run_without_the_fixtures_imports_nothing_of_ours(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_downstream=USES_NOTHING)
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("entry_point", ["on", "off"])
def test_the_former_module_name_still_works(
    pytester: pytest.Pytester, entry_point: str
) -> None:
    pytester.makeini(INI)
    pytester.makeconftest('pytest_plugins = ["asyncgroups.testing.plugin"]\n')
    pytester.makepyfile(test_downstream=USES_FIXTURES)
    off = ["-p", "no:asyncgroups"] if entry_point == "off" else []
    result = pytester.runpytest_subprocess(
        *off, "-p", "no:randomly", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=3)
