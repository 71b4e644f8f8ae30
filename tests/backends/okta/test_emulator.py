"""The Okta emulator speaks Okta: Link paging, budgets in headers, its error bodies."""

import re
from typing import Any

import aiohttp

from asyncgroups.testing import Emulator, serve_emulator


def _auth(emu: Emulator[Any]) -> dict[str, str]:
    return {"Authorization": f"SSWS {emu.credentials['api_token']}"}


async def test_listings_page_by_link_with_an_after_cursor(okta: Emulator[Any]) -> None:
    for i in range(12):
        okta.store.seed_group(f"G{i:02d}")
    names: list[str] = []
    url: str | None = f"{okta.url}/api/v1/groups?limit=5"
    pages = 0
    async with aiohttp.ClientSession(headers=_auth(okta)) as http:
        while url is not None:
            async with http.get(url) as answer:
                assert answer.status == 200
                names += [g["profile"]["name"] for g in await answer.json()]
                link = answer.headers["Link"]
            pages += 1
            assert 'rel="self"' in link
            found = re.search(r'<([^>]+)>; rel="next"', link)
            url = found[1] if found else None
            if url is not None:
                assert "after=" in url
    assert pages == 3
    assert names == [f"G{i:02d}" for i in range(12)]


async def test_every_answer_announces_its_familys_budget() -> None:
    async with serve_emulator(
        "okta", seed=2, limits={"members": 3, "groups": 50}, window=3600
    ) as emu:
        gid = emu.store.seed_group("Eng")
        (uid,) = emu.store.seed_users(1)
        seen = []
        body = b""
        async with aiohttp.ClientSession(headers=_auth(emu)) as http:
            for _ in range(4):
                async with http.put(f"{emu.url}/api/v1/groups/{gid}/users/{uid}") as a:
                    seen.append((a.status, a.headers["X-Rate-Limit-Remaining"]))
                    body = await a.read()
            async with http.get(f"{emu.url}/api/v1/groups") as a:
                assert a.status == 200
                assert a.headers["X-Rate-Limit-Limit"] == "50"
                assert a.headers["X-Rate-Limit-Remaining"] == "49"
                assert int(a.headers["X-Rate-Limit-Reset"]) > 1_700_000_000
            async with http.get(f"{emu.url}/api/v1/groups/nope") as a:  # errors too
                assert a.status == 404
                assert "X-Rate-Limit-Remaining" in a.headers
    assert seen == [(204, "2"), (204, "1"), (204, "0"), (429, "0")]
    assert b"E0000047" in body
    assert emu.store.rate_limited == {"members": 1}
    assert emu.store.members(gid) == {uid}


async def test_errors_have_okta_shape_and_app_groups_refuse_changes(
    okta: Emulator[Any],
) -> None:
    app = okta.store.seed_group("Salesforce users", type="APP_GROUP")
    (uid,) = okta.store.seed_users(1)
    async with aiohttp.ClientSession(headers=_auth(okta)) as http:
        async with http.put(f"{okta.url}/api/v1/groups/{app}/users/{uid}") as a:
            assert a.status == 400
            body = await a.json()
        async with http.get(
            f"{okta.url}/api/v1/groups", headers={"Authorization": "SSWS wrong"}
        ) as a:
            assert a.status == 401
            assert (await a.json())["errorCode"] == "E0000011"
    assert set(body) == {
        "errorCode",
        "errorSummary",
        "errorLink",
        "errorId",
        "errorCauses",
    }
    assert body["errorCode"] == "E0000060"
    assert body["errorCauses"] == [
        {"errorSummary": "Cannot modify the APP_GROUP object type."}
    ]
    assert okta.store.members(app) == frozenset()


async def test_search_and_filter_by_name_and_type(okta: Emulator[Any]) -> None:
    okta.store.seed_group("Eng")
    okta.store.seed_group("Everyone", type="BUILT_IN")
    async with aiohttp.ClientSession(headers=_auth(okta)) as http:
        params = {"search": 'type eq "BUILT_IN"'}
        async with http.get(f"{okta.url}/api/v1/groups", params=params) as a:
            assert [g["profile"]["name"] for g in await a.json()] == ["Everyone"]
        params = {"search": 'profile.name eq "Eng" and type eq "OKTA_GROUP"'}
        async with http.get(f"{okta.url}/api/v1/groups", params=params) as a:
            assert [g["profile"]["name"] for g in await a.json()] == ["Eng"]
        async with http.get(f"{okta.url}/api/v1/groups", params={"q": "ev"}) as a:
            assert [g["type"] for g in await a.json()] == ["BUILT_IN"]
