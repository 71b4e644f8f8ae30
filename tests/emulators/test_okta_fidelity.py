"""Fidelity: the unmodified ``okta`` SDK (3.x) against our Okta emulator.

The SDK lives in its own virtualenv (its pins are not ours) and runs as a
subprocess, configured only through its public options (``orgUrl``, ``token``,
``rateLimit.maxRetries`` and the documented environment switch that allows a
plain-HTTP org URL). It lists groups and a group's users with ``Link`` paging,
creates a group (and fails to create it twice), adds and removes users (twice:
both are idempotent), is refused a change to an ``APP_GROUP``, and reads the new
group's users. Its request log is then compared with our backend's for the same
operations, apart from these documented differences:

- the SDK 3.x sends ``Authorization: SSWS{token}`` with no space; we send
  ``SSWS {token}`` as Okta documents (Okta takes both);
- the SDK sends the member ``PUT`` with ``Content-Length: 0`` and an ``Accept``
  header only; so do we, and neither sends a body;
- we refuse the ``APP_GROUP`` change before sending it; the SDK sends it and gets
  Okta's 400 ``E0000060``.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from tests.emulators import fidelity
from tests.emulators.vendor import vendor_python

import asyncgroups as ag
from asyncgroups.testing import Emulator, RecordedRequest

PACKAGES = ("okta==3.4.6",)
DRIVER = Path(__file__).with_name("okta_driver.py")


@pytest.fixture(scope="session")
def okta_python() -> Path:
    """A python with the ``okta`` SDK installed, in a venv of its own (cached)."""
    return vendor_python("okta-3.4.6", PACKAGES, "import okta.client, okta.pagination")


def _setup(emu: Emulator[Any]) -> dict[str, Any]:
    """Seed an emulator identically every time; return the driver's config."""
    users, gid = fidelity.seed_directory(emu)
    app = emu.store.seed_group("Apps", type="APP_GROUP")
    return {
        "url": emu.url,
        "api_token": emu.credentials["api_token"],
        "page_size": fidelity.PAGE_SIZE,
        "group_id": gid,
        "app_group_id": app,
        "user_ids": users[:5],
    }


async def _ours(emu: Emulator[Any], config: dict[str, Any]) -> None:
    """The same operations through our backend, one request at a time."""
    users = config["user_ids"]
    async with fidelity.our_client(emu) as client:
        await fidelity.list_directory(
            client, config["group_id"], len(fidelity.GROUPS) + 1
        )
        new = await client.groups.create("Fidelity", description="made by the SDK")
        with pytest.raises(ag.RejectedRequestError, match="E0000001"):
            await client.groups.create("Fidelity", description="made by the SDK")
        for uid in users:
            assert (await client.members.add(new.id, [uid])).ok
        assert (await client.members.add(new.id, users[:1])).ok
        assert (await client.members.remove(new.id, users[1:2])).ok
        assert (await client.members.remove(new.id, users[1:2])).ok
        sent = len(emu.requests)
        with pytest.raises(ag.UnsupportedOperationError, match="APP_GROUP"):
            await client.members.add(config["app_group_id"], users[:1])
        assert len(emu.requests) == sent  # refused before any request
        final = sorted([m.key async for m in client.members.list(new.id)])
        assert final == sorted([users[0], *users[2:]])


def _fidelity(emu: Emulator[Any]) -> Any:
    """The group both sides create, as ``emu``'s store holds it."""
    return next(g for g in emu.store.groups.values() if g.name == "Fidelity")


def _shape(request: RecordedRequest, ids: dict[str, str]) -> tuple[str, str, Any]:
    """Method, path and query with generated ids named, for comparing two logs."""
    path = request.path
    for real, name in ids.items():
        path = path.replace(real, name)
    query = {k: ids.get(v, v) for k, v in sorted(request.query.items())}
    return request.method, path, query


async def test_okta_sdk_against_emulator(okta_python: Path) -> None:
    """The SDK gets Okta's answers, and our requests match its requests."""
    runs = await fidelity.side_by_side("okta", okta_python, DRIVER, _setup, _ours)
    config, steps = runs.config, runs.steps
    theirs, ours = list(runs.theirs.requests), list(runs.ours.requests)
    sdk_group = _fidelity(runs.theirs)
    our_group = _fidelity(runs.ours)
    assert set(sdk_group.members) == set(our_group.members)
    users = config["user_ids"]
    # what the SDK got
    fidelity.assert_listed(steps, [*fidelity.GROUPS, "Apps"])
    assert steps["list_groups"]["types"]["Apps"] == "APP_GROUP"
    assert steps["create"]["name"] == "Fidelity"
    assert steps["create"]["type"] == "OKTA_GROUP"
    assert steps["create_again"] == {
        "step": "create_again",
        "status": 400,
        "code": "E0000001",
        "summary": "Api validation failed: name",
    }
    assert steps["add_again"]["ok"]
    assert steps["remove_again"]["ok"]
    assert steps["app_group"]["status"] == 400
    assert steps["app_group"]["code"] == "E0000060"
    assert steps["final_members"]["ids"] == sorted([users[0], *users[2:]])

    # the same requests, apart from the documented differences
    names = {sdk_group.id: "NEW", config["group_id"]: "BIG"}
    sdk_log = [_shape(r, names) for r in theirs]
    ours_named = {our_group.id: "NEW", config["group_id"]: "BIG"}
    our_log = [_shape(r, ours_named) for r in ours]
    app_put: tuple[str, str, Any] = (
        "PUT",
        f"/api/v1/groups/{config['app_group_id']}/users/{users[0]}",
        {},
    )
    assert app_put in sdk_log
    assert [r for r in sdk_log if r != app_put] == our_log
    for sdk, mine_ in zip(
        [r for r in theirs if r.method == "POST"],
        [r for r in ours if r.method == "POST"],
        strict=True,
    ):
        assert json.loads(mine_.body) == json.loads(sdk.body)
    for request in theirs:
        assert request.headers["Authorization"].startswith("SSWS")
    for request in ours:
        assert request.headers["Authorization"] == f"SSWS {config['api_token']}"
        assert request.body == b"" or request.method == "POST"


def test_driver_runs_only_in_its_own_environment() -> None:
    """The SDK is not importable here: its pins never touch ours."""
    assert fidelity.absent_here("okta")
