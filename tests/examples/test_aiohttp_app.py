"""examples/aiohttp_app.py over real HTTP (aiohttp TestServer) against emulators."""

from collections.abc import Callable
from types import ModuleType
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from asyncgroups.testing import serve_emulator


def _environ(emu: Any) -> dict[str, str]:
    env = {"ASYNCGROUPS_BACKEND": emu.name, "ASYNCGROUPS_BASE_URL": emu.url}
    env.update({f"ASYNCGROUPS_{k.upper()}": v for k, v in emu.credentials.items()})
    return env


async def test_add_and_list_members_on_neuroio(
    example: Callable[[str], ModuleType],
) -> None:
    module = example("aiohttp_app")
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(150)
        gid = emu.store.seed_group("Eng")
        app = module.create_app(_environ(emu))
        async with TestClient(TestServer(app)) as http:
            # 150 pids: more than one NeuroIO request may carry, batched by the Client.
            added = await http.post(f"/groups/{gid}/members", json={"keys": keys})
            assert added.status == 200
            body = await added.json()
            assert body["failed"] == {}
            assert set(body["added"]) == set(keys)
            assert emu.store.members(gid) == frozenset(keys)

            listed = await http.get(f"/groups/{gid}/members")
            assert listed.status == 200
            assert {m["key"] for m in (await listed.json())["members"]} == set(keys)
            client = app[module.CLIENT]
        assert client.closed  # cleanup_ctx closed the shared Client


async def test_bad_keys_are_reported_and_the_rest_applied(
    example: Callable[[str], ModuleType],
) -> None:
    module = example("aiohttp_app")
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(2)
        gid = emu.store.seed_group("Eng")
        app = module.create_app(_environ(emu))
        async with TestClient(TestServer(app)) as http:
            response = await http.post(
                f"/groups/{gid}/members", json={"keys": [*keys, "no-such-pid"]}
            )
            body = await response.json()
            bad_body = await http.post(f"/groups/{gid}/members", data=b"not json")
            no_keys = await http.post(f"/groups/{gid}/members", json={"keys": []})
        assert response.status == 200
        assert set(body["added"]) == set(keys)
        assert list(body["failed"]) == ["no-such-pid"]
        assert emu.store.members(gid) == frozenset(keys)
        assert bad_body.status == 400
        assert no_keys.status == 422


async def test_errors_become_http_statuses(
    example: Callable[[str], ModuleType],
) -> None:
    module = example("aiohttp_app")
    async with serve_emulator("snip", seed=1) as emu:
        gid = emu.store.seed_group("Eng")
        app = module.create_app(_environ(emu))
        async with TestClient(TestServer(app)) as http:
            unsupported = await http.post(
                f"/groups/{gid}/members", json={"keys": ["1"]}
            )
            missing = await http.get("/groups/999999/members")
        assert unsupported.status == 501
        assert missing.status == 404
