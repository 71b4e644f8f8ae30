"""An endless listing ends with a typed error; a CSV export never holds a formula."""

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import asyncgroups as ag
from asyncgroups.cli.main import amain
from asyncgroups.tabular import csv_cell, csv_rows
from asyncgroups.testing import Emulator, serve_emulator


@pytest.fixture
async def endless() -> Any:
    """A NeuroIO-shaped server whose listings hand out fresh pages forever."""

    async def page(request: web.Request) -> web.Response:
        offset = int(request.query.get("offset", "0"))
        limit = int(request.query.get("limit", "100"))
        items = [{"id": offset + i + 1, "name": f"g{offset + i}"} for i in range(limit)]
        # a count the walk never reaches, and fresh items on every page
        return web.json_response({"count": 10**12, "results": items})

    app = web.Application()
    app.router.add_get("/v1/groups/persons/", page)
    async with TestServer(app) as server:
        yield str(server.make_url("")).rstrip("/")


async def test_an_endless_listing_ends_with_a_typed_error_naming_the_bound(
    endless: str,
) -> None:
    backend = ag.backends.NeuroIO(token="t", base_url=endless)
    async with ag.Client(backend) as client:
        seen: list[ag.Group] = []

        async def walk(max_items: int) -> None:
            async for group in client.groups.list(max_items=max_items):
                seen.append(group)

        with pytest.raises(ag.DecodeError, match=r"max_items=5000"):
            await walk(5000)
        assert len(seen) == 5000
        with pytest.raises(ag.InvalidInputError, match="max_items"):
            await walk(0)


async def test_the_default_bound_is_generous_and_none_lifts_it() -> None:
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(250)
        gid = emu.store.seed_group("Eng", members=keys)
        backend = ag.connect("neuroio", base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            assert len([m async for m in client.members.list(gid)]) == 250
            unbounded = [m async for m in client.members.list(gid, max_items=None)]
            assert len(unbounded) == 250
            with pytest.raises(ag.DecodeError, match=f"members of group {gid}"):
                await _drain(client.members.list(gid, max_items=249))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=SUM(1+1)", "'=SUM(1+1)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("'quoted", "'quoted"),
        ("", ""),
    ],
)
def test_csv_cells_that_start_a_formula_are_escaped_and_read_back(
    value: str, written: str
) -> None:
    assert csv_cell(value) == written
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(value)])
    ((_, row),) = list(csv_rows("t.csv", buffer.getvalue()))
    assert row == [value]


async def test_members_export_escapes_formulas_and_round_trips(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    async with serve_emulator("neuroio", seed=2) as emu:
        _use(monkeypatch, emu)
        keys = emu.store.seed_users(2)
        for name in ("=HYPERLINK(1)", "+SUM(2)", "-3", "@risk", "Safe"):
            emu.store.seed_group(name, members=keys)
        target = tmp_path / "state.csv"
        assert await amain(["members", "export", "-o", str(target)]) == 0
        rows = list(csv.reader(target.read_text().splitlines()))[1:]
        groups = {group for group, _ in rows}
        assert groups == {"'=HYPERLINK(1)", "'+SUM(2)", "'-3", "'@risk", "Safe"}
        assert all(
            not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r
        )
        capsys.readouterr()
        assert await amain(["plan", "--from", str(target), "--summary"]) == 0
        assert "(0 operations)" in capsys.readouterr().out


async def _drain(items: AsyncIterator[Any]) -> None:
    async for _ in items:
        pass


def _use(monkeypatch: pytest.MonkeyPatch, emu: Emulator[Any]) -> None:
    monkeypatch.setenv("ASYNCGROUPS_BACKEND", emu.name)
    monkeypatch.setenv("ASYNCGROUPS_BASE_URL", emu.url)
    for key, value in emu.credentials.items():
        monkeypatch.setenv(f"ASYNCGROUPS_{key.upper()}", str(value))
