"""An emulator of NeuroIO's person-group API (v1), in memory, speaking its wire format.

Routes (every path ends in a slash; the literal ``pids`` is routed before ``{id}``,
and a non-integer id is a 404):

    POST   /v1/groups/persons/               {"name"}            -> 201 {"id", "name"}
    GET    /v1/groups/persons/?q&pids_include&pids_exclude&groups_ids&spaces_ids&limit&offset
    GET    /v1/groups/persons/{id}/          PATCH {"name"}      DELETE -> 204, empty
    GET    /v1/groups/persons/{id}/pids/?pids&limit&offset
    POST   /v1/groups/persons/pids/          {"pids", "groups_ids"}  -> 200, empty
    DELETE /v1/groups/persons/pids/          (a JSON body)       -> 200, empty
    DELETE /v1/persons/{pid}/                                    -> 204
    GET    /v1/whoami/

Lists answer DRF's ``{"count", "next", "previous", "results"}``; errors answer
``{"error_codes", "message", "fields"}``. A membership request is atomic: more than
``max_pids`` pids, an unknown group or pid, or a group pushed past
``max_group_size`` rejects all of it with a 400 naming the offending field and ids.

Tokens are ``Authorization: Token <key>``; a missing or unknown one is a 401. Each
token acts in one space (an *account* token in the default space, a *space* token
in its own); groups of other spaces are 404s. ``store.mint_token(space_id=2)`` makes
a space token, ``store.seed_group(..., space_id=2)`` a group in that space.

Options of `build` (all keyword): ``max_page_size`` (100) clamps ``limit``;
``default_limit`` (20); ``max_pids`` (100) per membership request;
``max_groups_ids`` (``None``: no limit) per membership request; ``max_group_size``
(100,000) persons a group; ``unique_names`` (``False``) refuses a second group of
the same name in a space; ``membership_status`` (200) and ``membership_body``
(``b""``) of a successful membership change. This module never imports the
client's ``sansio`` or ``wire`` modules.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from asyncgroups.testing.emulators import EmulatorApp
from asyncgroups.testing.emulators._neuroio_store import (
    DEFAULT_SPACE,
    NeuroIOGroup,
    NeuroIOStore,
)

__all__ = ["DEFAULT_SPACE", "NeuroIOGroup", "NeuroIOStore", "build"]


_STORE = web.AppKey("neuroio_store", NeuroIOStore)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _RejectedError(Exception):
    def __init__(
        self, status: int, message: str, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields or {}


def _error(
    status: int, message: str, fields: dict[str, str] | None = None
) -> web.Response:
    body = {
        "error_codes": [status],
        "message": message,
        "fields": [
            {"name": k, "message": v, "error_code": status}
            for k, v in (fields or {}).items()
        ],
    }
    return web.json_response(body, status=status)


def _invalid(**fields: str) -> _RejectedError:
    return _RejectedError(400, "Validation error.", fields)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except _RejectedError as exc:
        return _error(exc.status, exc.message, exc.fields)
    except web.HTTPMethodNotAllowed:
        return _error(405, f'Method "{request.method}" not allowed.')
    except web.HTTPNotFound:
        return _error(404, "Not found.")


def _store(request: web.Request) -> NeuroIOStore:
    return request.app[_STORE]


def _space(request: web.Request) -> int:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme != "Token" or not key:
        raise _RejectedError(401, "Authentication credentials were not provided.")
    found = _store(request).tokens.get(key.strip())
    if found is None:
        raise _RejectedError(401, "Invalid token.")
    return found[1]


def _digits(raw: str) -> bool:
    """Whether ``int()`` reads ``raw`` as a plain number (``"²".isdigit()`` is true)."""
    return raw.isascii() and raw.isdigit()


def _group(request: web.Request, space: int) -> NeuroIOGroup:
    raw = request.match_info["id"]
    group = _store(request).groups.get(int(raw)) if _digits(raw) else None
    if group is None or group.space_id != space:
        raise _RejectedError(404, "Not found.")
    return group


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise _RejectedError(400, "JSON parse error.") from None
    if not isinstance(data, dict):
        raise _invalid(non_field_errors="Invalid data. Expected a dictionary.")
    return data


def _name(data: dict[str, Any]) -> str:
    name = data.get("name")
    if name is None:
        raise _invalid(name="This field is required.")
    if not isinstance(name, str):
        raise _invalid(name="Not a valid string.")
    if not name.strip():
        raise _invalid(name="This field may not be blank.")
    if len(name) > 255:
        raise _invalid(name="Ensure this field has no more than 255 characters.")
    return name


def _check_unique(store: NeuroIOStore, name: str, space: int, own: int | None) -> None:
    if store.unique_names and any(
        g.name == name and g.space_id == space and g.id != own
        for g in store.groups.values()
    ):
        raise _invalid(name="group with this name already exists.")


def _csv(request: web.Request, name: str) -> list[str] | None:
    raw = request.query.get(name)
    return None if raw is None else [p for p in raw.split(",") if p]


def _csv_ints(request: web.Request, name: str) -> list[int] | None:
    values = _csv(request, name)
    if values is not None and not all(_digits(v) for v in values):
        raise _invalid(**{name: "Enter a whole number."})
    return None if values is None else [int(v) for v in values]


def _page(request: web.Request, items: list[Any]) -> web.Response:
    store = _store(request)

    def number(name: str, default: int) -> int:
        raw = request.query.get(name, "")
        return int(raw) if _digits(raw) else default

    limit = min(max(1, number("limit", store.default_limit)), store.max_page_size)
    offset = number("offset", 0)

    def link(at: int) -> str:
        return str(request.url.update_query(limit=str(limit), offset=str(at)))

    return web.json_response(
        {
            "count": len(items),
            "next": link(offset + limit) if offset + limit < len(items) else None,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "results": items[offset : offset + limit],
        }
    )


def _wire(group: NeuroIOGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name}


async def _create(request: web.Request) -> web.Response:
    space = _space(request)
    store = _store(request)
    name = _name(await _json(request))
    _check_unique(store, name, space, None)
    return web.json_response(_wire(store.create_group(name, space)), status=201)


async def _list(request: web.Request) -> web.Response:
    space = _space(request)
    q = (request.query.get("q") or "").casefold()
    include, exclude = _csv(request, "pids_include"), _csv(request, "pids_exclude")
    gids, sids = _csv_ints(request, "groups_ids"), _csv_ints(request, "spaces_ids")
    found = [
        _wire(g)
        for g in sorted(_store(request).groups.values(), key=lambda g: g.id)
        if g.space_id == space
        and q in g.name.casefold()
        and (include is None or any(p in g.pids for p in include))
        and (exclude is None or not any(p in g.pids for p in exclude))
        and (gids is None or g.id in gids)
        and (sids is None or g.space_id in sids)
    ]
    return _page(request, found)


async def _get(request: web.Request) -> web.Response:
    return web.json_response(_wire(_group(request, _space(request))))


async def _patch(request: web.Request) -> web.Response:
    space = _space(request)
    group = _group(request, space)
    data = await _json(request)
    if "name" in data:
        name = _name(data)
        _check_unique(_store(request), name, space, group.id)
        group.name = name
    return web.json_response(_wire(group))


async def _delete(request: web.Request) -> web.Response:
    group = _group(request, _space(request))
    del _store(request).groups[group.id]
    return web.Response(status=204)


async def _persons(request: web.Request) -> web.Response:
    group = _group(request, _space(request))
    only = _csv(request, "pids")
    pids = list(group.pids) if only is None else [p for p in only if p in group.pids]
    return _page(request, [{"pid": p, "pid_source": "default"} for p in pids])


def _membership_body(
    data: dict[str, Any], store: NeuroIOStore
) -> tuple[list[str], list[int]]:
    pids, gids = data.get("pids"), data.get("groups_ids")
    if not isinstance(pids, list) or not all(isinstance(p, str) and p for p in pids):
        raise _invalid(pids="This field is required and must be a list of pids.")
    if not pids:
        raise _invalid(pids="This list may not be empty.")
    if len(pids) > store.max_pids:
        raise _invalid(
            pids=f"Ensure this field has no more than {store.max_pids} elements."
        )
    if not isinstance(gids, list) or not all(
        isinstance(g, int) and not isinstance(g, bool) for g in gids
    ):
        raise _invalid(
            groups_ids="This field is required and must be a list of integers."
        )
    if not gids:
        raise _invalid(groups_ids="This list may not be empty.")
    if store.max_groups_ids is not None and len(gids) > store.max_groups_ids:
        raise _invalid(
            groups_ids=f"Ensure this field has no more than {store.max_groups_ids} elements."
        )
    return list(dict.fromkeys(pids)), list(dict.fromkeys(gids))


async def _change(request: web.Request, *, add: bool) -> web.Response:
    space = _space(request)
    store = _store(request)
    pids, gids = _membership_body(await _json(request), store)
    unknown_groups = [
        g for g in gids if g not in store.groups or store.groups[g].space_id != space
    ]
    if unknown_groups:
        listed = ", ".join(str(g) for g in unknown_groups)
        raise _invalid(groups_ids=f"Invalid pk(s) {listed} - object does not exist.")
    unknown = [p for p in pids if store.persons.get(p) != space]
    if unknown:
        raise _invalid(pids=f"Persons not found: {', '.join(unknown)}.")
    groups = [store.groups[g] for g in gids]
    if add:
        for group in groups:
            size = len(group.pids) + sum(1 for p in pids if p not in group.pids)
            if size > store.max_group_size:
                raise _invalid(
                    groups_ids=f"Group {group.id} would exceed {store.max_group_size} persons."
                )
    for group in groups:
        for pid in pids:
            if add:
                group.pids[pid] = None
            else:
                group.pids.pop(pid, None)
    return web.Response(
        status=store.membership_status,
        body=store.membership_body,
        content_type="application/json" if store.membership_body else None,
    )


async def _add(request: web.Request) -> web.Response:
    return await _change(request, add=True)


async def _remove(request: web.Request) -> web.Response:
    return await _change(request, add=False)


async def _delete_person(request: web.Request) -> web.Response:
    space = _space(request)
    store = _store(request)
    pid = request.match_info["pid"]
    if store.persons.get(pid) != space:
        raise _RejectedError(404, "Not found.")
    del store.persons[pid]
    for group in store.groups.values():
        group.pids.pop(pid, None)
    return web.Response(status=204)


async def _whoami(request: web.Request) -> web.Response:
    space = _space(request)
    return web.json_response(
        {
            "username": "emulator",
            "space": {"id": space, "name": _store(request).spaces[space]},
        }
    )


def build(*, seed: int | None = None, **options: Any) -> EmulatorApp:
    """Build the NeuroIO emulator app, its store and an account token.

    Args:
        seed: seeds pids and tokens.
        options: `NeuroIOStore` settings (see the module docstring).

    Returns:
        The app, the store and ``{"token": ...}`` credentials.
    """
    store = NeuroIOStore(seed=seed, **options)
    token = store.mint_token(kind="account")
    app = web.Application(middlewares=[_errors])
    app[_STORE] = store
    r = app.router
    r.add_route("POST", "/v1/groups/persons/pids/", _add)
    r.add_route("DELETE", "/v1/groups/persons/pids/", _remove)
    r.add_route("POST", "/v1/groups/persons/", _create)
    r.add_route("GET", "/v1/groups/persons/", _list)
    r.add_route("GET", "/v1/groups/persons/{id}/pids/", _persons)
    r.add_route("GET", "/v1/groups/persons/{id}/", _get)
    r.add_route("PATCH", "/v1/groups/persons/{id}/", _patch)
    r.add_route("DELETE", "/v1/groups/persons/{id}/", _delete)
    r.add_route("DELETE", "/v1/persons/{pid}/", _delete_person)
    r.add_route("GET", "/v1/whoami/", _whoami)
    return EmulatorApp(app=app, store=store, credentials={"token": token})
