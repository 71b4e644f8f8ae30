"""Fidelity: the unmodified ``msgraph-sdk`` against our Graph emulator.

The SDK lives in its own virtualenv (its pins are not ours) and runs as a
subprocess, configured only through its public options: a credential object
(client credentials against the emulator's token endpoint) and the request
adapter's base URL. It lists groups and members with paging, creates a group,
adds members by ``$ref`` and by ``members@odata.bind``, removes one and sends a
``$batch``. Its request log is then compared with our backend's for the same
operations, apart from these documented differences:

- we ask for the fields we read (``$select``); the SDK asks for none;
- the SDK adds ``"@odata.type"`` to the bodies it serialises;
- we add members with ``members@odata.bind`` (20 a PATCH) and use ``$ref`` only
  when Graph refuses a bind because a member already exists;
- in ``$batch`` the SDK (1.x) sends absolute sub-request URLs and ``depends_on``;
  we send relative URLs, as Graph documents.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from tests.emulators import fidelity
from tests.emulators.vendor import vendor_python

from asyncgroups.testing import Emulator, RecordedRequest

#: msgraph-core 1.5 imports ``deprecated`` without declaring it.
PACKAGES = ("msgraph-sdk==1.65.0", "Deprecated")
DRIVER = Path(__file__).with_name("graph_driver.py")
TOKEN_PATH = "/oauth2/v2.0/token"


@pytest.fixture(scope="session")
def msgraph_python() -> Path:
    """A python with ``msgraph-sdk`` installed, in a venv of its own (cached)."""
    return vendor_python(
        "msgraph-sdk-1.65.0",
        PACKAGES,
        "import msgraph, msgraph_core, httpx, deprecated",
    )


def _setup(emu: Emulator[Any]) -> dict[str, Any]:
    """Seed an emulator identically every time; return the driver's config."""
    users, gid = fidelity.seed_directory(emu)
    return {
        "url": emu.url,
        "tenant_id": emu.credentials["tenant_id"],
        "client_id": emu.credentials["client_id"],
        "client_secret": emu.credentials["client_secret"],
        "group_id": gid,
        "user_ids": users[:5],
    }


async def _ours(emu: Emulator[Any], config: dict[str, Any]) -> None:
    """The same operations through our backend."""
    users = config["user_ids"]
    async with fidelity.our_client(emu) as client:
        await fidelity.list_directory(client, config["group_id"], len(fidelity.GROUPS))
        new = await client.groups.create("Fidelity", extra={"mailNickname": "fidelity"})
        assert (await client.members.add(new.id, users[:1])).ok
        assert (await client.members.add(new.id, users[1:4])).ok
        assert (await client.members.add(new.id, users[:1])).ok  # already there
        assert (await client.members.remove(new.id, users[1:2])).ok
        assert (await client.members.remove(new.id, users[2:4])).ok


def _api(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in requests if not r.path.endswith(TOKEN_PATH)]


def _body(request: RecordedRequest) -> Any:
    """The JSON body, its host as ``ROOT`` (two emulators, two ports)."""
    host = request.headers["Host"]
    body = json.loads(request.body.decode().replace(f"http://{host}", "ROOT"))
    if isinstance(body, dict):
        body.pop("@odata.type", None)
    return body


def _subs(request: RecordedRequest) -> list[tuple[str, str]]:
    """A $batch's sub-requests as (method, path relative to the API root)."""
    found = []
    for entry in request.json()["requests"]:
        url = entry["url"]
        path = "/" + url.split("://", 1)[1].split("/", 1)[1] if "://" in url else url
        found.append((entry["method"], path))
    return found


def _query(request: RecordedRequest) -> dict[str, str]:
    return {k: v for k, v in request.query.items() if k != "$select"}


async def test_msgraph_sdk_against_emulator(msgraph_python: Path) -> None:
    """The SDK gets Graph's answers, and our requests match its requests."""
    runs = await fidelity.side_by_side("graph", msgraph_python, DRIVER, _setup, _ours)
    config, steps = runs.config, runs.steps
    theirs, ours = _api(runs.theirs.requests), _api(runs.ours.requests)
    users = config["user_ids"]
    # what the SDK got
    fidelity.assert_listed(steps, fidelity.GROUPS)
    assert steps["create"]["display_name"] == "Fidelity"
    assert steps["add_again"] == {
        "step": "add_again",
        "status": 400,
        "code": "Request_BadRequest",
        "message": "One or more added object references already exist for the "
        "following modified properties: 'members'.",
    }
    assert steps["batch"]["statuses"] == {"get": 200, "delete": 204}
    assert steps["final_members"]["ids"] == sorted([users[0], users[3]])
    assert runs.theirs.store.token_requests == 1
    new = steps["create"]["id"]

    # the same requests, apart from the documented differences
    def by(log: list[RecordedRequest], method: str, path: str) -> list[RecordedRequest]:
        return [r for r in log if (r.method, r.path) == (method, path)]

    for path in ("/groups", f"/groups/{config['group_id']}/members"):
        sdk_pages, our_pages = by(theirs, "GET", path), by(ours, "GET", path)
        assert [_query(r) for r in our_pages] == [_query(r) for r in sdk_pages]
        assert len(our_pages) == 3
        assert all("$select" in r.query for r in our_pages)
    (sdk_create,) = by(theirs, "POST", "/groups")
    (our_create,) = by(ours, "POST", "/groups")
    assert _body(our_create) == _body(sdk_create)
    ref = f"/groups/{new}/members/$ref"
    assert [_body(r) for r in by(ours, "POST", ref)] == [
        _body(r) for r in by(theirs, "POST", ref)
    ][1:]  # ours: only for the member already there
    sdk_bind = [_body(r) for r in by(theirs, "PATCH", f"/groups/{new}")]
    our_binds = [_body(r) for r in by(ours, "PATCH", f"/groups/{new}")]
    assert sdk_bind[0] in our_binds
    assert all(set(b) == {"members@odata.bind"} for b in our_binds)
    unlink = f"/groups/{new}/members/{users[1]}/$ref"
    assert len(by(ours, "DELETE", unlink)) == len(by(theirs, "DELETE", unlink)) == 1
    (sdk_batch,) = by(theirs, "POST", "/$batch")
    (our_batch,) = by(ours, "POST", "/$batch")
    assert ("DELETE", f"/groups/{new}/members/{users[2]}/$ref") in _subs(sdk_batch)
    assert ("DELETE", f"/groups/{new}/members/{users[2]}/$ref") in _subs(our_batch)
    assert all(not e["url"].startswith("http") for e in our_batch.json()["requests"])
    for request in [*theirs, *ours]:
        assert request.headers["Authorization"].startswith("Bearer ")
        if request.body:
            assert request.headers["Content-Type"].startswith("application/json")


def test_driver_runs_only_in_its_own_environment() -> None:
    """The SDK is not importable here: its pins never touch ours."""
    assert fidelity.absent_here("msgraph")
