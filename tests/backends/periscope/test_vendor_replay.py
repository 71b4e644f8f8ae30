"""Every call of the vendor's Python examples, replayed against the emulator.

The snippets' method, path, query, headers and ``json.dumps`` body are copied below;
only the host changes (``https://api.periscopedata.com`` -> the emulator). The
vendor uses ``requests``; the same bytes are sent with aiohttp here.
"""

import copy
import json
from typing import Any

import aiohttp
import pytest

from asyncgroups.testing import Emulator

AUTH = {"HTTP-X-PARTNER-AUTH": "site-name:api-key", "Content-Type": "application/json"}


def _with(**extra: str) -> dict[str, str]:
    return {**AUTH, **{k.replace("_", "-"): v for k, v in extra.items()}}


# (case, method, path and query, headers, payload or None, JSON answer expected)
VENDOR_CALLS: list[tuple[str, str, str, dict[str, str], Any, bool]] = [
    ("get_users", "GET", "/api/v1/users", AUTH, None, True),
    (
        "get_single_user",
        "GET",
        "/api/v1/users",
        _with(HTTP_X_EMAIL="useremail@website.com"),
        None,
        True,
    ),
    (
        "create_user",
        "POST",
        "/api/v1/users?test_mode=true",
        AUTH,
        {
            "first_name": "MyFirstName",
            "last_name": "MyLastName",
            "email": "newuseremail@website.com",
            "groups": ["Administrators"],
            "invited_by_email": "useremail@website.com",
        },
        True,
    ),
    (
        "update_user",
        "PUT",
        "/api/v1/users?test_mode=true",
        _with(HTTP_X_EMAIL="newuseremail@website.com"),
        {"first_name": "newFirstName", "last_name": "newLastName"},
        True,
    ),
    (
        "delete_user",
        "DELETE",
        "/api/v1/users?test_mode=true",
        _with(HTTP_X_EMAIL="newuseremail@website.com"),
        None,
        True,
    ),
    ("get_groups", "GET", "/api/v1/groups", AUTH, None, True),
    ("get_single_group", "GET", "/api/v1/groups/Administrators", AUTH, None, True),
    (
        "create_group",
        "POST",
        "/api/v1/groups?test_mode=true",
        AUTH,
        {
            "name": "myNewGroup",
            "access": "discovery",
            "created_by_email": "useremail@website.com",
        },
        True,
    ),
    (
        "update_group",
        "PUT",
        "/api/v1/groups/my-new-group?test_mode=true",
        AUTH,
        {"name": "myExistingGroup", "access": "View"},
        True,
    ),
    # The vendor prints only the status code of a group DELETE.
    (
        "delete_group",
        "DELETE",
        "/api/v1/groups/myexistinggroup?test_mode=true",
        AUTH,
        None,
        False,
    ),
]


def _seed(emu: Emulator[Any], case: str | None = None) -> None:
    """What the snippets assume exists on ``site-name`` (``None``: the whole flow)."""
    site = emu.store.site("site-name")
    site.add_user("useremail@website.com", "Existing", "Admin", ["Administrators"])
    if case in ("update_user", "delete_user"):
        site.add_user("newuseremail@website.com", "New", "User")
    if case in (None, "update_group"):
        site.seed_group("my-new-group")
    if case == "delete_group":
        site.seed_group("myExistingGroup")


def _state(emu: Emulator[Any], name: str) -> tuple[Any, Any]:
    site = emu.store.site(name)
    return copy.deepcopy(site.users), copy.deepcopy(site.groups)


async def _send(
    session: aiohttp.ClientSession,
    base: str,
    method: str,
    path: str,
    headers: dict[str, str],
    payload: Any,
) -> tuple[int, bytes, str]:
    data = json.dumps(payload) if payload is not None else None
    async with session.request(method, base + path, headers=headers, data=data) as r:
        return r.status, await r.read(), r.content_type


@pytest.mark.parametrize(
    ("case", "method", "path", "headers", "payload", "json_answer"),
    [pytest.param(*call, id=call[0]) for call in VENDOR_CALLS],
)
async def test_vendor_call_gets_2xx_and_test_mode_persists_nothing(
    periscope: Emulator[Any],
    case: str,
    method: str,
    path: str,
    headers: dict[str, str],
    payload: Any,
    json_answer: bool,
) -> None:
    """Each vendor snippet gets a 2xx (JSON where it prints it); test mode changes nothing."""
    _seed(periscope, case)
    before = _state(periscope, "site-name")
    async with aiohttp.ClientSession() as session:
        status, body, ctype = await _send(
            session, periscope.url, method, path, headers, payload
        )
    assert 200 <= status < 300, body
    if json_answer:
        assert ctype == "application/json"
        assert isinstance(json.loads(body), dict)
    recorded = periscope.requests[-1]
    assert recorded.headers["HTTP-X-PARTNER-AUTH"] == "site-name:api-key"
    if "test_mode=true" in path or method == "GET":
        assert _state(periscope, "site-name") == before


async def test_vendor_calls_without_test_mode_apply() -> None:
    """The same writes with ``test_mode=false`` do change the site."""
    from asyncgroups.testing import serve_emulator

    async with serve_emulator("periscope") as emu:
        emu.store.add_site("site-name", "api-key")
        _seed(emu)
        async with aiohttp.ClientSession() as session:
            for _case, method, path, headers, payload, _json in VENDOR_CALLS:
                live = path.replace("test_mode=true", "test_mode=false")
                status, body, _ = await _send(
                    session, emu.url, method, live, headers, payload
                )
                assert 200 <= status < 300, (path, body)
        site = emu.store.site("site-name")
        # Created then deleted; the existing group renamed then deleted.
        assert site.user("newuseremail@website.com") is None
        assert site.group("myNewGroup") is not None
        assert site.group("my-new-group") is None
        assert site.group("myExistingGroup") is None


async def test_vendor_add_user_to_sites(periscope: Emulator[Any]) -> None:
    """``addUserToSites``: one POST per site with that site's key, each answered 2xx."""
    my_sites = [
        {"site_name": "mySiteName1", "api_key": "myAPIKey1"},
        {"site_name": "mySiteName2", "api_key": "myAPIKey2"},
        {"site_name": "mySiteName3", "api_key": "myAPIKey3"},
    ]
    my_new_user = {
        "first_name": "newUserFirstName",
        "last_name": "newUserLastName",
        "email": "newUserEmail@domain.com",
        "groups": [],
        "invited_by_email": "myEmail@domain.com",
    }
    for site in my_sites:
        periscope.store.site(site["site_name"]).add_user("myEmail@domain.com")
    async with aiohttp.ClientSession() as session:
        for site in my_sites:
            auth = site["site_name"] + ":" + site["api_key"]
            headers = {"HTTP-X-PARTNER-AUTH": auth, "Content-Type": "application/json"}
            status, body, _ctype = await _send(
                session,
                periscope.url,
                "POST",
                "/api/v1/users?test_mode=true",
                headers,
                my_new_user,
            )
            assert status == 200, body
            assert json.loads(body)["user"]["email"] == "newUserEmail@domain.com"
    for site in my_sites:
        assert (
            periscope.store.site(site["site_name"]).user("newUserEmail@domain.com")
            is None
        )


async def test_vendor_csv_bulk_delete(periscope: Emulator[Any]) -> None:
    """The CSV script's DELETEs (``test_mode=False``, capital F) delete for real."""
    site = periscope.store.site("site-name")
    email_array = [site.add_user(f"leaver{i}@example.com") for i in range(3)]
    async with aiohttp.ClientSession() as session:
        for i in email_array:
            headers = {**AUTH, "HTTP-X-EMAIL": i}
            status, body, _ = await _send(
                session,
                periscope.url,
                "DELETE",
                "/api/v1/users?test_mode=False",
                headers,
                None,
            )
            assert status == 200
            assert json.loads(body) == {}
    assert all(site.user(e) is None for e in email_array)
