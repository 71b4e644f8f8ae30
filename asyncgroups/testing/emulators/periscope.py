"""An emulator of Periscope Data's User & Group Management API (v1), several sites.

Hand-written wire JSON (it never imports the client's ``sansio`` or ``wire``).
Behaviour, following WIRE.md §3 (the [A] parts are options where they vary):

- ``HTTP-X-PARTNER-AUTH: <site>:<key>``, split on the first ``:``. No or malformed
  header, or a wrong key for a known site (site A's key with site B's name
  included): 401. An unknown site: 403. Bodies are ``{"error": "..."}`` and never
  echo the key.
- ``/api/v1/users`` (GET/POST/PUT/DELETE), one user addressed by ``HTTP-X-EMAIL``;
  ``/api/v1/groups`` (GET/POST) and ``/api/v1/groups/<name>`` (GET/PUT/DELETE),
  names matched case-insensitively. A user's ``groups`` in a PUT replaces the list;
  ``Everyone`` is implicit. ``Everyone`` and ``Administrators`` cannot be deleted
  or renamed (403).
- ``?test_mode=`` is parsed case-insensitively (``true``/``false``/``1``/``0``):
  in test mode every check runs and the answer shows the outcome, but nothing is
  stored.
- Users are one page unless ``users_page_size`` is set: then pages carry
  ``items_this_page`` and ``next_page_start`` (the e-mail the next page starts at).

Options of `build`: ``site`` (the default site's name), ``sites`` (more site
names), ``users_page_size``, ``default_access``, ``access_values`` (allowed
``access`` values; any non-empty string by default), ``admin_email``.

Store (``emu.store``, a `PeriscopeStore`): ``seed_users(n)``,
``seed_group(name, members)``, ``group_ids()``, ``members(name)`` on the default
site; ``add_site(name) -> key`` and ``site(name)`` (a `Site` with the same
methods, plus ``add_user``, ``user_groups`` and ``puts``, every user PUT received
with the groups before and after).
"""

import random
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from asyncgroups.testing.emulators import EmulatorApp
from asyncgroups.testing.emulators.periscope_http import (
    _STORE,
    _addressed,
    _auth,
    _email,
    _existing_user,
    _groups,
    _json,
    _payload,
    _RefusedError,
    _site,
    _store,
    _test_mode,
    _text,
)
from asyncgroups.testing.emulators.periscope_store import (
    PeriscopeStore,
    PutRecord,
    Site,
    now,
)

__all__ = ["PeriscopeStore", "Site", "build"]

# -- users ---------------------------------------------------------------------------


async def get_users(request: web.Request) -> web.Response:
    """``GET /api/v1/users``: one user (``HTTP-X-EMAIL``) or the list."""
    if request.headers.get("HTTP-X-EMAIL"):
        site, user = _addressed(request)
        return _json({"user": site.user_json(user)})
    site = _site(request)
    users = sorted(site.users.values(), key=lambda u: u["email"].casefold())
    size = _store(request).users_page_size
    if size is None:
        return _json({"users": [site.user_json(u) for u in users]})
    start = request.query.get("next_page_start")
    if start:
        users = [u for u in users if u["email"].casefold() >= start.casefold()]
    page = users[:size]
    nxt = users[size]["email"] if len(users) > size else None
    return _json(
        {
            "users": [site.user_json(u) for u in page],
            "items_this_page": len(page),
            "next_page_start": nxt,
        }
    )


async def create_user(request: web.Request) -> web.Response:
    """``POST /api/v1/users``."""
    site, test_mode = _site(request), _test_mode(request)
    data = await _payload(request)
    email = _email(_text(data, "email", required=True))
    if site.user(email) is not None:
        raise _RefusedError(409, "a user with this e-mail already exists")
    _existing_user(site, data, "invited_by_email")
    record = {
        "email": email,
        "first_name": _text(data, "first_name"),
        "last_name": _text(data, "last_name"),
        "groups": _groups(site, data.get("groups", [])),
        "invited_by_email": _text(data, "invited_by_email"),
        "created_at": now(),
    }
    if not test_mode:
        site.put_user(record)
    return _json({"user": site.user_json(record)})


async def update_user(request: web.Request) -> web.Response:
    """``PUT /api/v1/users`` + ``HTTP-X-EMAIL``; ``groups`` replaces the list."""
    site, user = _addressed(request)
    test_mode = _test_mode(request)
    data = await _payload(request)
    record = {**user, "groups": list(user["groups"])}
    for key in ("first_name", "last_name"):
        if key in data:
            record[key] = _text(data, key)
    if "email" in data:
        new = _email(_text(data, "email", required=True))
        other = site.user(new)
        if other is not None and other is not user:
            raise _RefusedError(409, "a user with this e-mail already exists")
        record["email"] = new
    if "groups" in data:
        record["groups"] = _groups(site, data["groups"])
    site.puts.append(
        PutRecord(
            site.name,
            user["email"],
            data,
            tuple(user["groups"]),
            tuple(record["groups"]),
            test_mode,
        )
    )
    if not test_mode:
        site.put_user(record, old_email=user["email"])
    return _json({"user": site.user_json(record)})


async def delete_user(request: web.Request) -> web.Response:
    """``DELETE /api/v1/users`` + ``HTTP-X-EMAIL``."""
    site, user = _addressed(request)
    if not _test_mode(request):
        site.users.pop(user["email"].casefold(), None)
    return _json({})


# -- groups --------------------------------------------------------------------------


def _group_name(data: dict[str, Any]) -> str:
    name = _text(data, "name", required=True)
    assert name is not None  # noqa: S101 - required=True
    if any(c in name for c in "/?#"):
        raise _RefusedError(400, "a group name must not contain / ? or #")
    return name


def _access(request: web.Request, data: dict[str, Any]) -> str | None:
    value = _text(data, "access")
    allowed = _store(request).access_values
    if value is not None:
        if not value.strip():
            raise _RefusedError(400, "access must not be empty")
        if allowed is not None and value.casefold() not in allowed:
            raise _RefusedError(
                400, f"access must be one of {', '.join(sorted(allowed))}"
            )
    return value


def _path_group(request: web.Request) -> tuple[Site, dict[str, Any]]:
    site = _site(request)
    record = site.group(request.match_info["name"])
    if record is None:
        raise _RefusedError(404, "group not found")
    return site, record


async def list_groups(request: web.Request) -> web.Response:
    """``GET /api/v1/groups``."""
    site = _site(request)
    return _json({"groups": [site.group_json(g) for g in site.groups.values()]})


async def get_group(request: web.Request) -> web.Response:
    """``GET /api/v1/groups/<name>``."""
    site, record = _path_group(request)
    return _json({"group": site.group_json(record)})


async def create_group(request: web.Request) -> web.Response:
    """``POST /api/v1/groups``."""
    site, test_mode = _site(request), _test_mode(request)
    data = await _payload(request)
    name = _group_name(data)
    if site.group(name) is not None:
        raise _RefusedError(409, "a group with this name already exists")
    _existing_user(site, data, "created_by_email")
    record = {
        "name": name,
        "access": _access(request, data) or site.default_access,
        "created_by_email": _text(data, "created_by_email"),
        "created_at": now(),
    }
    if not test_mode:
        site.groups[name.casefold()] = record
    return _json({"group": site.group_json(record)})


async def update_group(request: web.Request) -> web.Response:
    """``PUT /api/v1/groups/<name>``; a new ``name`` renames it."""
    site, current = _path_group(request)
    test_mode = _test_mode(request)
    data = await _payload(request)
    record = dict(current)
    if "name" in data:
        name = _group_name(data)
        if name != current["name"]:
            if site.is_builtin(current["name"]):
                raise _RefusedError(403, "built-in groups cannot be renamed")
            other = site.group(name)
            if other is not None and other is not current:
                raise _RefusedError(409, "a group with this name already exists")
            record["name"] = name
    access = _access(request, data)
    if access is not None:
        record["access"] = access
    _existing_user(site, data, "updated_by_email")
    if not test_mode:
        site.rename_group(current["name"], record)
    return _json({"group": site.group_json(record)})


async def delete_group(request: web.Request) -> web.StreamResponse:
    """``DELETE /api/v1/groups/<name>``: 204."""
    site, record = _path_group(request)
    if site.is_builtin(record["name"]):
        raise _RefusedError(403, "built-in groups cannot be deleted")
    if not _test_mode(request):
        site.delete_group(record["name"])
    return web.Response(status=204)


def build(
    *,
    seed: int | None = None,
    site: str = "acme",
    sites: Iterable[str] = (),
    users_page_size: int | None = None,
    default_access: str = "View",
    access_values: Iterable[str] | None = None,
    admin_email: str = "admin@example.com",
) -> EmulatorApp:
    """Build the Periscope emulator.

    Args:
        seed: seeds the generated API keys.
        site: the default site's name (behind the returned credentials).
        sites: more sites to create (keys in ``store.site(name).key``).
        users_page_size: page the user list with ``next_page_start``.
        default_access: ``access`` of groups created without one.
        access_values: the allowed ``access`` values (any by default).
        admin_email: the administrator seeded on every site.

    Returns:
        The app, its `PeriscopeStore` and ``{"site", "api_key",
        "admin_email"}``.
    """
    store = PeriscopeStore(
        rng=random.Random(seed),
        default_site=site,
        users_page_size=users_page_size,
        default_access=default_access,
        access_values=(
            frozenset(v.casefold() for v in access_values)
            if access_values is not None
            else None
        ),
        admin_email=admin_email,
    )
    key = store.add_site(site)
    for name in sites:
        store.add_site(name)
    app = web.Application(middlewares=[_auth])
    app[_STORE] = store
    app.router.add_get("/api/v1/users", get_users)
    app.router.add_post("/api/v1/users", create_user)
    app.router.add_put("/api/v1/users", update_user)
    app.router.add_delete("/api/v1/users", delete_user)
    app.router.add_get("/api/v1/groups", list_groups)
    app.router.add_post("/api/v1/groups", create_group)
    app.router.add_get("/api/v1/groups/{name}", get_group)
    app.router.add_put("/api/v1/groups/{name}", update_group)
    app.router.add_delete("/api/v1/groups/{name}", delete_group)
    credentials = {"site": site, "api_key": key, "admin_email": admin_email}
    return EmulatorApp(app=app, store=store, credentials=credentials)
