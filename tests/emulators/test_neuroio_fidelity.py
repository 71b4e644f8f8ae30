"""Fidelity: the unmodified ``neuroio`` 0.1.2 client against our emulator (WIRE.md §4.2).

The real client lives in its own virtualenv (its pins are not ours) and runs as a
subprocess against an emulator this test serves. Its request log is then compared
with our backend's for the same scenario, apart from WIRE.md §4.4's deliberate
differences (our User-Agent, and the name lookup before a create that makes an
ambiguous create reconcilable).
"""

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from tests.emulators.vendor import vendor_python

import asyncgroups as ag
from asyncgroups.backends.neuroio import NeuroIOSession
from asyncgroups.testing import Emulator, Fault, RecordedRequest, serve_emulator

PACKAGE = "neuroio==0.1.2"
DRIVER = Path(__file__).with_name("neuroio_driver.py")
COMPARED = 9
SLOW_ID = 424242
USER_AGENTS = {"sync": "neuroio-python/0.1.2", "async": "neuroio-async-python/0.1.2"}


@pytest.fixture(scope="session")
def neuroio_python() -> Path:
    """A python with ``neuroio==0.1.2`` installed, in a venv of its own (cached)."""
    return vendor_python("neuroio", (PACKAGE,), "import neuroio, httpx", timeout=600)


def _setup(emu: Emulator[Any]) -> dict[str, Any]:
    """Seed an emulator identically every time; return the driver's config."""
    store = emu.store
    pids = store.seed_users(150)
    w_ids = [store.seed_group(f"W{i:03d}") for i in range(120)]
    store.groups[int(w_ids[0])].pids.update(dict.fromkeys([pids[0]]))
    store.groups[int(w_ids[1])].pids.update(dict.fromkeys([pids[1]]))
    store.groups[int(w_ids[2])].pids.update(dict.fromkeys([pids[1], pids[2]]))
    full = store.seed_group("Full", members=store.seed_users(99_990))
    hidden = store.seed_group("Hidden", space_id=2)
    emu.faults.add(Fault.latency(4.5), route=f"GET /v1/groups/persons/{SLOW_ID}/")
    return {
        "url": emu.url,
        "token": emu.credentials["token"],
        "space_token": store.mint_token(space_id=2),
        "pids": pids,
        "w_ids": [int(w) for w in w_ids],
        "full_id": int(full),
        "hidden_id": int(hidden),
        "slow_id": SLOW_ID,
    }


async def _drive(python: Path, config: dict[str, Any]) -> list[dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        str(python),
        str(DRIVER),
        json.dumps(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    report: list[dict[str, Any]] = json.loads(out)
    return report


def _normal(request: RecordedRequest) -> tuple[Any, ...]:
    """Method, slash-merged path, sorted query and JSON body (WIRE.md §4)."""
    path = re.sub("/+", "/", request.path)
    return (request.method, path, sorted(request.query.items()), request.json())


async def _ours(emu: Emulator[Any], pids: list[str]) -> list[RecordedRequest]:
    """Our backend's requests for the compared scenario: each step's last request."""
    backend = ag.backends.NeuroIO(base_url=emu.url, token=emu.credentials["token"])
    emu.clear_requests()
    steps: list[RecordedRequest] = []
    async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:

        async def mark(awaitable: Any) -> Any:
            result = await awaitable
            steps.append(emu.requests[-1])
            return result

        async def drain(iterator: Any) -> list[Any]:
            return [item async for item in iterator]

        group = await mark(client.groups.create("Eng"))
        await mark(client.groups.get(group.id))
        await mark(client.groups.update(group.id, name="Eng2"))
        await mark(client.members.add(group.id, pids[:100]))
        session = cast(NeuroIOSession, client.session)
        await mark(drain(session.iter_members(group.id, pids=pids[:3])))
        await mark(drain(client.members.list(group.id)))
        await mark(client.members.remove(group.id, pids[:10]))
        await mark(drain(client.groups.list(query="Eng")))
        await mark(drain(client.members.list(group.id)))
    return steps


def _by_step(report: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["step"]: r for r in report}


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_real_client_against_emulator(neuroio_python: Path, mode: str) -> None:
    """The real client passes §4.2's checks, and its wire log matches ours."""
    async with (
        serve_emulator("neuroio", seed=5) as real,
        serve_emulator("neuroio", seed=5) as mine,
    ):
        config = _setup(real)
        assert _setup(mine) | {"url": real.url} == config
        report = await _drive(neuroio_python, config | {"mode": mode})
        theirs = list(real.requests)
        ours = await _ours(mine, config["pids"])
        real_store = real.store

    steps = _by_step(report)
    gid = steps["create"]["body"]["id"]
    # 1. statuses and bodies
    assert steps["create"]["status"] == 201
    assert steps["create"]["body"] == {"id": gid, "name": "Eng"}
    assert isinstance(gid, int)
    assert (steps["get"]["status"], steps["get"]["body"]) == (
        200,
        {"id": gid, "name": "Eng"},
    )
    assert steps["update"]["body"] == {"id": gid, "name": "Eng2"}
    assert steps["add"]["status"] == steps["remove"]["status"] == 200
    assert (steps["delete"]["status"], steps["delete"]["body"]) == (204, None)
    assert steps["get_deleted"]["status"] == 404
    # 2. filters and the clamped walk
    listed = steps["list_filters"]["body"]
    assert listed["count"] == 2
    assert [g["id"] for g in listed["results"]] == config["w_ids"][:2]
    assert {"count", "next", "previous", "results"} <= set(listed)
    walk = [r for r in report if r["step"] == "walk"]
    assert all(len(r["body"]["results"]) <= 100 for r in walk)
    assert steps["walk_done"]["body"] == {"offset": 120, "pages": 2}
    # 3. persons
    filtered = steps["persons_filtered"]["body"]
    assert filtered["count"] == 3
    assert filtered["results"] == [
        {"pid": p, "pid_source": "default"} for p in config["pids"][:3]
    ]
    assert steps["persons"]["body"]["count"] == 100
    # 4. limits, and the DELETE body was read
    assert steps["persons_after_remove"]["body"]["count"] == 90
    for name in ("add_101", "overfill"):
        assert steps[name]["status"] == 400
        assert set(steps[name]["body"]) == {"error_codes", "message", "fields"}
    assert steps["add_101"]["body"]["fields"][0]["name"] == "pids"
    assert steps["persons_after_101"]["body"]["count"] == 90
    assert len(real_store.members(config["full_id"])) == 99_990
    # 5. auth and spaces
    for name in ("no_token", "wrong_token"):
        assert steps[name]["status"] == 401
        assert steps[name]["body"]["error_codes"] == [401]
    assert steps["hidden_with_account"]["status"] == 404
    assert [g["id"] for g in steps["space_list"]["body"]["results"]] == [
        config["hidden_id"]
    ]
    assert steps["space_get_other"]["status"] == 404
    # 6. headers
    for request in theirs:
        assert request.path.endswith("/")
        assert request.headers["User-Agent"] == USER_AGENTS[mode]
    authed = [r for r in theirs if "Authorization" in r.headers]
    assert len(authed) == len(theirs) - 1  # the token-less Client()
    tokens = {r.headers["Authorization"] for r in authed}
    assert tokens == {f"Token {config[k]}" for k in ("token", "space_token")} | {
        "Token wrong-token"
    }
    # 7. latency above the client's 4 s timeout
    assert steps["slow"]["body"] == "ReadTimeout"
    # our backend sends what the real client sends (after §4.4's differences)
    assert [_normal(r) for r in ours] == [_normal(r) for r in theirs[:COMPARED]]
    for mine_r, real_r in zip(ours, theirs[:COMPARED], strict=True):
        assert mine_r.headers["Authorization"] == real_r.headers["Authorization"]
        assert mine_r.path.endswith("/")
        if mine_r.body:
            assert mine_r.headers["Content-Type"] == "application/json"


def test_driver_runs_only_in_its_own_environment() -> None:
    """The real client is not importable here: its pins never touch ours."""
    code = "import importlib.util, sys; sys.exit(importlib.util.find_spec('neuroio') is not None)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
