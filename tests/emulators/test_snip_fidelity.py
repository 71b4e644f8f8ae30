"""Fidelity: the unmodified snip-python 0.4.0 client against our Snip emulator.

snip-python is installed once into its own virtualenv (cached between sessions) and
driven by a script in a subprocess while the test serves the emulator. It runs the
documented checks with and without a trailing "/" on the deployment URL; then our
backend runs the same scenario and both request logs are compared, normalised
(merged slashes, method, JSON body, Authorization and body Content-Type).
"""

import asyncio
import json
import os
import re
import tempfile
import textwrap
from pathlib import Path
from typing import Any, cast

import pytest
from tests.emulators.vendor import vendor_python

import asyncgroups as ag
from asyncgroups.backends.snip import Snip, SnipSession
from asyncgroups.testing import Emulator, Fault, RecordedRequest, serve_emulator

SNIP_VERSION = "0.4.0"

DRIVER = textwrap.dedent(
    """
    import json, os, sys
    from datetime import timedelta
    import requests
    from snip.token import AccountToken, BookToken
    from snip.api import account
    from snip.api.exceptions import AuthenticationError, BadRequestError

    cfg = json.loads(os.environ["SNIP_FIDELITY"])
    tok = AccountToken(name="emu", token=cfg["token"])  # deployment URL from the env
    out = {"deployment_url": tok.deployment_url}

    def outcome(call):
        try:
            call()
        except (AuthenticationError, BadRequestError) as exc:
            return {"type": type(exc).__name__, "details": exc.details}
        except requests.HTTPError as exc:
            return {"type": "HTTPError", "status": exc.response.status_code}
        return {"type": None}

    def aware(value):
        return value.tzinfo is not None and value.utcoffset() == timedelta(0)

    if cfg["scenario"] == "compare":
        account.get_groups(tok)
        g = account.create_group(tok, "Eng")
        account.get_group(tok, g["id"])
        account.modify_group(tok, g["id"], name="Eng2", description="d")
        gid, a, b, c = cfg["gid"], *cfg["users"]
        account.modify_group(tok, gid, update_member_roles=[{"user_id": a, "role": "moderator"}])
        account.modify_group(tok, gid, remove_members=[b])
        account.modify_group(tok, gid, transfer_ownership=c)
        account.leave_group(tok, gid)
        account.delete_group(tok, g["id"])
        print(json.dumps(out))
        sys.exit(0)

    groups = account.get_groups(tok)
    out["list_is_list"] = isinstance(groups, list)
    out["times_aware"] = all(
        aware(g["created"]) and aware(g["last_updated"])
        and all(aware(m["joined_at"]) for m in g["members"])
        for g in groups
    )
    first = account.create_group(tok, "Eng")
    second = account.create_group(tok, "Eng")
    out["create"] = {
        "members": [(m["role"], m["self"]) for m in first["members"]],
        "description": first["description"],
        "distinct_ids": first["id"] != second["id"],
    }
    gid, a, b, c = cfg["gid"], *cfg["users"]
    before = account.get_group(tok, gid)
    after = account.modify_group(
        tok, gid, name="Eng2", description="d",
        update_member_roles=[{"user_id": a, "role": "moderator"}],
        remove_members=[b], transfer_ownership=c,
    )
    out["modify"] = {
        "name": after["name"],
        "description": after["description"],
        "advanced": after["last_updated"] > before["last_updated"],
        "roles": {str(m["user_id"]): m["role"] for m in after["members"]},
    }
    account.leave_group(tok, gid)
    account.delete_group(tok, second["id"])
    out["get_deleted"] = outcome(lambda: account.get_group(tok, second["id"]))
    out["bad_name"] = outcome(lambda: account.modify_group(tok, first["id"], name="ab"))
    bad = AccountToken(name="bad", token="0" * 192)
    out["bad_token"] = outcome(lambda: account.get_groups(bad))
    book = BookToken(name="book", token=cfg["book_token"], book_id=1)
    out["book_token"] = outcome(lambda: account.get_groups(book))
    member = AccountToken(name="member", token=cfg["member_token"])
    out["forbidden"] = outcome(lambda: account.delete_group(member, cfg["other"]))
    out["injected_429"] = outcome(lambda: account.get_group(tok, cfg["g429"]))
    out["injected_503"] = outcome(lambda: account.get_group(tok, cfg["g503"]))
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="session")
def snip_python() -> Path:
    """A python with the unmodified snip-python installed (skip if pip cannot)."""
    return vendor_python(
        "snip-python",
        (f"snip-python=={SNIP_VERSION}",),
        "import snip.api.account, requests",
        timeout=600,
    )


async def _drive(python: Path, url: str, config: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home:
        script = Path(home) / "drive_snip.py"
        script.write_text(DRIVER)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "SNIP_DEPLOYMENT_URL": url,
            "SNIP_ADDITIONAL_REQUEST_ARGS": json.dumps({"timeout": 10}),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "SNIP_FIDELITY": json.dumps(config),
        }
        proc = await asyncio.create_subprocess_exec(
            str(python),
            str(script),
            cwd=home,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=50)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


def _seed(emu: Emulator[Any]) -> dict[str, Any]:
    """The same state on every emulator: ids and tokens depend only on the seed."""
    users = emu.store.seed_users(4)
    gid = emu.store.seed_group("Team", members=users[:3])
    other = emu.store.seed_group("Other", members=users[3:])
    member_token = emu.store.mint_token(users[3])
    g429 = emu.store.seed_group("Throttled")
    g503 = emu.store.seed_group("Broken")
    return {
        "token": emu.credentials["token"],
        "book_token": emu.store.mint_token(emu.store.owner_id, kind="book"),
        "member_token": member_token,
        "gid": int(gid),
        "users": [int(u) for u in users[:3]],
        "other": int(other),
        "g429": int(g429),
        "g503": int(g503),
    }


@pytest.mark.parametrize("slash", ["/", ""], ids=["trailing-slash", "no-slash"])
async def test_real_client_checks(snip_python: Path, slash: str) -> None:
    """snip-python sees the documented results and exception types."""
    async with serve_emulator("snip", seed=3) as emu:
        config = _seed(emu) | {"scenario": "checks"}
        emu.faults.add(
            Fault.status(429),
            times=1,
            route=f"GET /api/account/groups/{config['g429']}",
        )
        emu.faults.add(
            Fault.status(503, html=True),
            times=1,
            route=f"GET /api/account/groups/{config['g503']}",
        )
        out = await _drive(snip_python, emu.url + slash, config)
        requests = list(emu.requests)
        merged = list(emu.store.merged_paths)
    a, b, c = (str(u) for u in config["users"])
    owner = str(emu.store.owner_id)
    assert out["deployment_url"] == emu.url + slash
    assert out["list_is_list"] is True
    assert out["times_aware"] is True
    assert out["create"] == {
        "members": [["owner", True]],
        "description": None,
        "distinct_ids": True,
    }
    assert out["modify"]["name"] == "Eng2"
    assert out["modify"]["description"] == "d"
    assert out["modify"]["advanced"] is True
    assert out["modify"]["roles"] == {owner: "moderator", a: "moderator", c: "owner"}
    assert b not in emu.store.members(config["gid"])
    assert owner not in emu.store.members(config["gid"])  # left after the transfer
    assert out["get_deleted"] == {"type": "HTTPError", "status": 404}
    assert out["bad_name"]["type"] == "BadRequestError"
    assert out["bad_name"]["details"] == {
        "name": "must be a string of 3 to 255 characters"
    }
    assert out["bad_token"]["type"] == "AuthenticationError"
    assert out["book_token"]["type"] == "AuthenticationError"
    assert out["forbidden"]["type"] == "AuthenticationError"  # 403 maps alike
    assert str(config["other"]) in emu.store.group_ids()
    assert out["injected_429"] == {"type": "HTTPError", "status": 429}
    assert out["injected_503"] == {"type": "HTTPError", "status": 503}
    # The wire as the emulator saw it.
    if slash:
        assert merged
        assert all(p.startswith("//api/") for p in merged)
    else:
        assert merged == []
    assert all(r.path.startswith("/api/account/groups") for r in requests)
    for r in requests:
        assert re.fullmatch(r"Bearer [0-9a-f]{192}", r.headers["Authorization"])
        if r.method in ("GET", "DELETE"):
            assert r.body == b""
        elif not r.path.endswith("/leave"):
            assert r.headers["Content-Type"] == "application/json"
    (patch,) = [
        r.json()
        for r in requests
        if r.method == "PATCH" and "transfer_ownership" in r.json()
    ]
    assert patch == {
        "name": "Eng2",
        "description": "d",
        "update_member_roles": [{"user_id": int(a), "role": "moderator"}],
        "remove_members": [int(b)],
        "transfer_ownership": int(c),
    }
    (leave,) = [r for r in requests if r.path.endswith("/leave")]
    assert (leave.method, leave.body, "Content-Type" in leave.headers) == (
        "POST",
        b"",
        False,
    )


def _normalise(r: RecordedRequest) -> tuple[Any, ...]:
    body = r.json() if r.body else None
    ctype = r.headers.get("Content-Type") if r.body else None
    return (
        r.method,
        re.sub("/{2,}", "/", r.path),
        sorted(r.query.items()),
        r.headers.get("Authorization"),
        ctype,
        body,
    )


async def test_backend_log_matches_real_client(snip_python: Path) -> None:
    """Our backend sends what snip-python sends, apart from the deliberate differences."""
    async with serve_emulator("snip", seed=5) as emu:
        config = _seed(emu) | {"scenario": "compare"}
        await _drive(snip_python, emu.url + "/", config)
        theirs = [_normalise(r) for r in emu.requests]
        raw_theirs = list(emu.store.merged_paths)
    async with serve_emulator("snip", seed=5) as emu:
        assert _seed(emu) | {"scenario": "compare"} == config
        backend = Snip(token=config["token"], base_url=emu.url + "/")
        gid, (a, b, c) = str(config["gid"]), (str(u) for u in config["users"])
        async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
            snip = cast(SnipSession, client.session)
            [g async for g in client.groups.list()]
            g = await client.groups.create("Eng")
            await client.groups.get(g.id)
            await client.groups.update(g.id, name="Eng2", description="d")
            await snip.set_roles(gid, {a: "moderator"})
            assert (await client.members.remove(gid, [b])).ok
            await client.groups.get(gid)  # snip-python re-reads after every PATCH
            await snip.transfer_ownership(gid, c)
            await snip.leave_group(gid)
            await client.groups.delete(g.id)
        ours = [_normalise(r) for r in emu.requests]
        raw_ours = [r.raw_path for r in emu.requests]
        merged_ours = list(emu.store.merged_paths)
    # Deliberate difference: snip-python sends //api/... for a URL ending in "/".
    assert len(raw_theirs) == len(theirs)
    assert all(p.startswith("//api/") for p in raw_theirs)
    assert merged_ours == []
    assert all(p.startswith("/api/") for p in raw_ours)
    # Deliberate differences: a listing before each create (the ids a lost create
    # is reconciled against) and a GET before each delete (so a 404 from a re-sent
    # DELETE can be told apart from "no such group").
    post = next(i for i, r in enumerate(ours) if r[0] == "POST")
    delete = next(i for i, r in enumerate(ours) if r[0] == "DELETE")
    assert ours[post - 1][:2] == ("GET", "/api/account/groups")
    assert ours[delete - 1][:2] == ("GET", ours[delete][1])
    del ours[delete - 1], ours[post - 1]
    assert ours == theirs
