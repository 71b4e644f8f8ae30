"""The Graph emulator speaks Graph: tokens, paging, $count, $batch, error bodies."""

from typing import Any

import aiohttp
import pytest

import asyncgroups as ag
from asyncgroups.testing import Emulator


async def _token(http: aiohttp.ClientSession, emu: Emulator[Any], **over: str) -> Any:
    creds = emu.credentials
    form = {
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "scope": "https://graph.microsoft.com/.default",
        "grant_type": "client_credentials",
    } | over
    tenant = over.pop("tenant", creds["tenant_id"])
    async with http.post(f"{emu.url}/{tenant}/oauth2/v2.0/token", data=form) as r:
        return r.status, await r.json()


async def test_token_endpoint_and_expiry(graph: Emulator[Any]) -> None:
    """Client credentials give a bearer token that stops working when it expires."""
    async with aiohttp.ClientSession() as http:
        status, data = await _token(http, graph)
        assert status == 200
        assert data["token_type"] == "Bearer"
        assert data["expires_in"] == 3599
        auth = {"Authorization": f"Bearer {data['access_token']}"}
        async with http.get(f"{graph.url}/groups", headers=auth) as r:
            assert r.status == 200
        graph.store.advance(3599)
        async with http.get(f"{graph.url}/groups", headers=auth) as r:
            assert r.status == 401
            body = await r.json()
        assert body["error"]["code"] == "InvalidAuthenticationToken"
        assert set(body["error"]) == {"code", "message", "innerError"}
        status, data = await _token(http, graph, client_secret="wrong")
        assert (status, data["error"]) == (401, "invalid_client")


async def test_paging_count_and_errors(graph: Emulator[Any]) -> None:
    """nextLink pages, $count needs ConsistencyLevel, unknown ids get Graph's bodies."""
    for i in range(7):
        graph.store.seed_group(f"G{i}")
    async with aiohttp.ClientSession() as http:
        _, data = await _token(http, graph)
        auth = {"Authorization": f"Bearer {data['access_token']}"}
        url: str | None = f"{graph.url}/groups?$top=3"
        pages = 0
        names: list[str] = []
        while url:
            async with http.get(url, headers=auth) as r:
                page = await r.json()
            pages += 1
            names += [g["displayName"] for g in page["value"]]
            url = page.get("@odata.nextLink")
        assert (pages, names) == (3, [f"G{i}" for i in range(7)])
        async with http.get(f"{graph.url}/groups?$count=true", headers=auth) as r:
            assert r.status == 400
        eventual = auth | {"ConsistencyLevel": "eventual"}
        async with http.get(f"{graph.url}/groups?$count=true", headers=eventual) as r:
            assert (await r.json())["@odata.count"] == 7
        async with http.get(f"{graph.url}/groups/not-a-guid", headers=auth) as r:
            assert r.status == 400
            assert "Invalid object identifier" in (await r.json())["error"]["message"]
        missing = "00000000-0000-4000-8000-000000000000"
        async with http.get(f"{graph.url}/groups/{missing}", headers=auth) as r:
            assert r.status == 404
            assert (await r.json())["error"]["code"] == "Request_ResourceNotFound"
        batch = {
            "requests": [
                {"id": str(n), "method": "GET", "url": "/groups"} for n in range(21)
            ]
        }
        async with http.post(f"{graph.url}/$batch", json=batch, headers=auth) as r:
            assert r.status == 400


async def test_binds_apply_whole_or_not_at_all(
    graph: Emulator[Any], gclient: ag.Client
) -> None:
    """A bind naming an unknown user adds nobody; over 20 references are refused."""
    keys = graph.store.seed_users(25)
    gid = graph.store.seed_group("Eng")
    session: Any = gclient.session
    ghost = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ag.NotFoundError, match=ghost):
        await session.add_members([gid], [*keys[:3], ghost])
    assert graph.store.members(gid) == frozenset()
    refs = [f"{graph.url}/directoryObjects/{k}" for k in keys[:21]]
    async with aiohttp.ClientSession() as http:
        _, data = await _token(http, graph)
        auth = {"Authorization": f"Bearer {data['access_token']}"}
        body = {"members@odata.bind": refs}
        async with http.patch(
            f"{graph.url}/groups/{gid}", json=body, headers=auth
        ) as r:
            assert r.status == 400
        body = {"members@odata.bind": refs[:20]}
        async with http.patch(
            f"{graph.url}/groups/{gid}", json=body, headers=auth
        ) as r:
            assert r.status == 204
    assert graph.store.members(gid) == frozenset(keys[:20])
