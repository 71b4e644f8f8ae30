"""The web-framework guide's code blocks run, and the apps they define serve requests."""

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from asyncgroups.testing import serve_emulator

pytest.importorskip("fastapi", reason="the examples extra is not installed")
httpx = pytest.importorskip("httpx", reason="the examples extra is not installed")

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "web.md"
_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_NOT_RUN = re.compile(r"^# (not run|needs a real account)\b")


def _run_guide() -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the aiohttp block and the FastAPI block, each in its own namespace."""
    blocks = _FENCE.findall(GUIDE.read_text(encoding="utf-8"))
    runnable = [b for b in blocks if not _NOT_RUN.match(b)]
    assert len(runnable) == 2  # the aiohttp app and the FastAPI app
    namespaces: list[dict[str, Any]] = []
    for block in runnable:
        namespace: dict[str, Any] = {"__name__": "web_guide"}
        exec(compile(block, str(GUIDE), "exec"), namespace)  # noqa: S102
        namespaces.append(namespace)
    return namespaces[0], namespaces[1]


async def test_web_guide_apps_share_one_client(
    monkeypatch: pytest.MonkeyPatch,
    serve_asgi: Callable[[Any], AbstractAsyncContextManager[str]],
) -> None:
    async with serve_emulator("neuroio", seed=1) as emu:
        monkeypatch.setenv("ASYNCGROUPS_BACKEND", emu.name)
        monkeypatch.setenv("ASYNCGROUPS_BASE_URL", emu.url)
        monkeypatch.setenv("ASYNCGROUPS_TOKEN", emu.credentials["token"])
        keys = emu.store.seed_users(2)
        gid = emu.store.seed_group("Eng")
        aiohttp_guide, fastapi_guide = _run_guide()

        async with TestClient(TestServer(aiohttp_guide["create_app"]())) as http:
            added = await http.post(f"/groups/{gid}/members", json={"key": keys[0]})
            assert added.status == 200
            assert await added.json() == {"added": [keys[0]], "failed": {}}
            listed = await http.get(f"/groups/{gid}/members")
            assert await listed.json() == {"members": [keys[0]]}
        assert emu.store.members(gid) == frozenset(keys[:1])

        async with (
            serve_asgi(fastapi_guide["app"]) as url,
            httpx.AsyncClient(base_url=url) as web,
        ):
            added_fa = await web.post(f"/groups/{gid}/members", json={"key": keys[1]})
            assert added_fa.status_code == 200, added_fa.text
            assert added_fa.json() == {"added": [keys[1]], "failed": []}
            listed_fa = await web.get(f"/groups/{gid}/members")
            assert set(listed_fa.json()["members"]) == set(keys)
        assert emu.store.members(gid) == frozenset(keys)
