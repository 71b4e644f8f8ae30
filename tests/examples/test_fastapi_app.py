"""examples/fastapi_app.py over real HTTP (uvicorn on loopback) against emulators."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from types import ModuleType
from typing import Any

import pytest

from asyncgroups.testing import Fault, serve_emulator

pytest.importorskip("fastapi", reason="the examples extra is not installed")
httpx = pytest.importorskip("httpx", reason="the examples extra is not installed")

Serve = Callable[[Any], AbstractAsyncContextManager[str]]


def _environ(emu: Any) -> dict[str, str]:
    env = {"ASYNCGROUPS_BACKEND": emu.name, "ASYNCGROUPS_BASE_URL": emu.url}
    env.update({f"ASYNCGROUPS_{k.upper()}": v for k, v in emu.credentials.items()})
    return env


async def test_add_and_list_members_on_neuroio(
    example: Callable[[str], ModuleType], serve_asgi: Serve
) -> None:
    module = example("fastapi_app")
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(3)
        gid = emu.store.seed_group("Eng", members=keys[:1])
        app = module.create_app(_environ(emu))
        async with serve_asgi(app) as url, httpx.AsyncClient(base_url=url) as http:
            added = await http.post(f"/groups/{gid}/members", json={"keys": keys[1:]})
            assert added.status_code == 200, added.text
            assert added.json() == {
                "group_id": gid,
                "added": sorted(keys[1:]),
                "failed": {},
            }
            assert emu.store.members(gid) == frozenset(keys)

            listed = await http.get(f"/groups/{gid}/members")
            assert listed.status_code == 200
            assert {m["key"] for m in listed.json()["members"]} == set(keys)


async def test_one_client_serves_every_request(
    example: Callable[[str], ModuleType], serve_asgi: Serve
) -> None:
    module = example("fastapi_app")
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(20)
        gid = emu.store.seed_group("Eng")
        app = module.create_app(_environ(emu))
        async with serve_asgi(app) as url, httpx.AsyncClient(base_url=url) as http:
            for key in keys:
                response = await http.post(
                    f"/groups/{gid}/members", json={"keys": [key]}
                )
                assert response.status_code == 200
        assert emu.store.members(gid) == frozenset(keys)
        # One shared Client keeps its connections alive across app requests.
        assert len(emu.peers) < len(keys)


async def test_a_throttled_api_is_retried_behind_the_app(
    example: Callable[[str], ModuleType], serve_asgi: Serve
) -> None:
    module = example("fastapi_app")
    async with serve_emulator("neuroio", seed=1) as emu:
        (key,) = emu.store.seed_users(1)
        gid = emu.store.seed_group("Eng")
        emu.faults.add(Fault.status(429, retry_after=0.05), times=2)
        app = module.create_app(_environ(emu))
        async with serve_asgi(app) as url, httpx.AsyncClient(base_url=url) as http:
            response = await http.post(f"/groups/{gid}/members", json={"keys": [key]})
        assert response.status_code == 200
        assert emu.store.members(gid) == frozenset({key})


async def test_errors_become_http_statuses(
    example: Callable[[str], ModuleType], serve_asgi: Serve
) -> None:
    module = example("fastapi_app")
    async with serve_emulator("snip", seed=1) as emu:
        gid = emu.store.seed_group("Eng")
        app = module.create_app(_environ(emu))
        async with serve_asgi(app) as url, httpx.AsyncClient(base_url=url) as http:
            # Snip's API cannot add members: refused before any request to Snip.
            unsupported = await http.post(
                f"/groups/{gid}/members", json={"keys": ["1"]}
            )
            missing = await http.get("/groups/999999/members")
            invalid = await http.post(f"/groups/{gid}/members", json={"keys": []})
            listed = await http.get(f"/groups/{gid}/members")
        assert unsupported.status_code == 501
        assert "cannot add members" in unsupported.json()["error"]
        assert missing.status_code == 404
        assert invalid.status_code == 422
        assert listed.status_code == 200
        assert {m["key"] for m in listed.json()["members"]} == set(
            emu.store.members(gid)
        )


async def test_periscope_settings_come_from_the_environment(
    example: Callable[[str], ModuleType], serve_asgi: Serve
) -> None:
    module = example("fastapi_app")
    async with serve_emulator("periscope", seed=1) as emu:
        keys = emu.store.seed_users(2)
        gid = emu.store.seed_group("Sales")
        app = module.create_app(_environ(emu))
        async with serve_asgi(app) as url, httpx.AsyncClient(base_url=url) as http:
            response = await http.post(f"/groups/{gid}/members", json={"keys": keys})
        assert response.status_code == 200, response.text
        assert emu.store.members(gid) == frozenset(keys)
