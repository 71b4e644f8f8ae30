"""An emulator of Snip's account group API (``/api/account/groups``), in memory.

It speaks Snip's wire protocol with hand-written JSON and never imports
the client's ``sansio``/``wire`` modules. Behaviour the vendor does not document
follows the most plausible reading and is configurable through ``build(**options)``.

Beyond the common store contract (``seed_users``, ``seed_group``, ``group_ids``,
``members``), `SnipStore` offers what Snip's tests need:

* ``store.owner_id``: the user behind ``emulator.credentials``; it owns every seeded
  group and is one of its members.
* ``store.mint_token(user_id, kind="account" | "book")``: another credential. A book
  token on ``/api/account/*`` gets 401 saying an account token is required.
* ``store.set_role(group_id, user_id, role)``: make a user a member with that role
  (``"owner"``, ``"moderator"`` or ``"member"``).
* ``store.roles(group_id)``: user id -> role; ``store.group(group_id)`` the record.
* ``store.merged_paths``: request paths that arrived with repeated slashes.

Options: ``max_remove`` (500: user ids one ``remove_members`` may carry),
``create_status`` (200), ``now`` (the wall clock, ``time.time``).
"""

import json
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from asyncgroups.testing.emulators import EmulatorApp
from asyncgroups.testing.emulators.snip_store import SnipGroup, SnipStore, SnipUser

__all__ = ["SnipGroup", "SnipStore", "SnipUser", "build"]

_SLASHES = re.compile(r"/{2,}")
_GROUPS = re.compile(r"^/api/account/groups/?$")
_GROUP = re.compile(r"^/api/account/groups/(?P<gid>[^/]+)/?$")
_LEAVE = re.compile(r"^/api/account/groups/(?P<gid>[^/]+)/leave/?$")
_PATCH_FIELDS = frozenset(
    {
        "name",
        "description",
        "update_member_roles",
        "remove_members",
        "transfer_ownership",
    }
)


class SnipError(Exception):
    """An error answer: status, message and details."""

    def __init__(self, status: int, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data), content_type="application/json"
    )


def _error(status: int, message: str, details: Any = None) -> web.Response:
    return _json({"message": message, "details": details}, status)


class _Api:
    """Request handlers over a `SnipStore`."""

    def __init__(self, store: SnipStore, create_status: int) -> None:
        self.store = store
        self.create_status = create_status

    def caller(self, request: web.Request) -> int:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise SnipError(401, "Authentication failed: no token given")
        found = self.store.tokens.get(token.strip())
        if found is None:
            raise SnipError(401, "Authentication failed: invalid token")
        uid, kind = found
        if kind != "account":
            raise SnipError(
                401, "An account token is required for this endpoint; got a book token"
            )
        return uid

    def visible(self, raw: str, caller: int) -> tuple[SnipGroup, str]:
        group = (
            self.store.groups.get(int(raw)) if raw.isascii() and raw.isdigit() else None
        )
        if group is None or caller not in group.members:
            raise SnipError(404, "Group not found")
        return group, group.members[caller][0]

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self.route(request, _SLASHES.sub("/", request.path))
        except SnipError as exc:
            return _error(exc.status, exc.message, exc.details)

    async def route(self, request: web.Request, path: str) -> web.StreamResponse:
        caller = self.caller(request) if path.startswith("/api/account") else 0
        method = request.method
        if _GROUPS.match(path):
            if method == "GET":
                return self.list_groups(caller)
            if method == "POST":
                return self.create(caller, await _body(request))
        elif (m := _GROUP.match(path)) is not None:
            group, role = self.visible(m["gid"], caller)
            if method == "GET":
                return _json(self.store.render(group, caller))
            if method == "PATCH":
                return self.patch(group, role, caller, await _body(request))
            if method == "DELETE":
                return self.delete(group, role)
        elif (m := _LEAVE.match(path)) is not None:
            group, role = self.visible(m["gid"], caller)
            if method == "POST":
                return self.leave(group, role, caller)
        else:
            raise SnipError(404, "Not found")
        raise SnipError(405, "Method not allowed")

    def leave(self, group: SnipGroup, role: str, caller: int) -> web.Response:
        if role == "owner":
            raise SnipError(400, "The owner cannot leave; transfer ownership first")
        del group.members[caller]
        return _json({})

    def list_groups(self, caller: int) -> web.Response:
        return _json(
            [
                self.store.render(g, caller)
                for g in self.store.groups.values()
                if caller in g.members
            ]
        )

    def create(self, caller: int, body: dict[str, Any]) -> web.Response:
        _check_name(body.get("name"))
        group = self.store.new_group(body["name"], caller)
        return _json(self.store.render(group, caller), self.create_status)

    def delete(self, group: SnipGroup, role: str) -> web.Response:
        if role != "owner":
            raise SnipError(403, "Only the owner can delete a group")
        del self.store.groups[group.id]
        return _json({})

    def patch(
        self, group: SnipGroup, role: str, caller: int, body: dict[str, Any]
    ) -> web.Response:
        unknown = sorted(set(body) - _PATCH_FIELDS)
        if unknown:
            raise SnipError(
                400, "Unknown fields", dict.fromkeys(unknown, "unknown field")
            )
        if role == "member":
            raise SnipError(403, "Only the owner or a moderator can modify a group")
        if "name" in body:
            _check_name(body["name"])
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            raise SnipError(
                400, "Invalid description", {"description": "must be a string"}
            )
        roles = self._roles(group, role, body.get("update_member_roles"))
        removed = self._removals(group, role, caller, body.get("remove_members"))
        heir = body.get("transfer_ownership")
        if heir is not None:
            if role != "owner":
                raise SnipError(403, "Only the owner can transfer ownership")
            if type(heir) is not int or heir not in group.members or heir == caller:
                raise SnipError(400, "Invalid new owner", {"transfer_ownership": heir})
        # Everything is checked: apply atomically.
        if "name" in body:
            group.name = body["name"]
        if "description" in body:
            group.description = description
        for uid, new_role in roles.items():
            group.members[uid] = (new_role, group.members[uid][1])
        for uid in removed:
            del group.members[uid]
        if heir is not None:
            group.members[heir] = ("owner", group.members[heir][1])
            group.members[caller] = ("moderator", group.members[caller][1])
        self.store.touch(group)
        return _json(self.store.render(group, caller))

    def _roles(self, group: SnipGroup, role: str, raw: Any) -> dict[int, str]:
        if raw is None:
            return {}
        if not isinstance(raw, list):
            raise SnipError(
                400, "Invalid role update", {"update_member_roles": "must be a list"}
            )
        wanted: dict[int, str] = {}
        for item in raw:
            uid = item.get("user_id") if isinstance(item, dict) else None
            new = item.get("role") if isinstance(item, dict) else None
            if type(uid) is not int or new not in ("moderator", "member"):
                raise SnipError(
                    400, "Invalid role update", {"update_member_roles": item}
                )
            if uid not in group.members:
                raise SnipError(400, f"User {uid} is not a member", {"user_id": uid})
            if group.members[uid][0] == "owner":
                status = 403 if role != "owner" else 400
                raise SnipError(status, "The owner's role cannot be changed")
            wanted[uid] = new
        return wanted

    def _removals(
        self, group: SnipGroup, role: str, caller: int, raw: Any
    ) -> list[int]:
        if raw is None:
            return []
        if not isinstance(raw, list) or any(type(u) is not int for u in raw):
            raise SnipError(
                400, "Invalid removal", {"remove_members": "must be a list of user ids"}
            )
        if len(raw) > self.store.max_remove:
            raise SnipError(
                400,
                f"At most {self.store.max_remove} members can be removed at once",
                {"remove_members": f"{len(raw)} given"},
            )
        missing = sorted({u for u in raw if u not in group.members})
        if missing:
            raise SnipError(
                400, "Not a member of the group", {"remove_members": missing}
            )
        for uid in raw:
            if group.members[uid][0] == "owner":
                status = 403 if role != "owner" else 400
                raise SnipError(status, "The owner cannot be removed")
        return list(dict.fromkeys(raw))


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not 3 <= len(name) <= 255:
        raise SnipError(
            400,
            "Invalid group name",
            {"name": "must be a string of 3 to 255 characters"},
        )


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read() or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SnipError(400, "Bad request: the body is not JSON") from None
    if not isinstance(data, dict):
        raise SnipError(400, "Bad request: expected a JSON object")
    return data


def _merge_slashes(store: SnipStore) -> Any:
    """A middleware giving every later middleware and handler the merged path."""

    @web.middleware
    async def merge(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        path, sep, query = request.raw_path.partition("?")
        if "//" not in path:
            return await handler(request)
        store.merged_paths.append(path)
        return await handler(
            request.clone(rel_url=_SLASHES.sub("/", path) + sep + query)
        )

    return merge


def build(
    *,
    seed: int | None = None,
    max_remove: int = 500,
    create_status: int = 200,
    now: Callable[[], float] = time.time,
) -> EmulatorApp:
    """Build the Snip emulator: an app, its store and the owner's account token.

    Args:
        seed: seeds the generated tokens.
        max_remove: user ids one ``remove_members`` PATCH may carry (more: 400).
        create_status: the status of a successful create (200 or 201).
        now: wall clock for ``created``/``last_updated``/``joined_at``.
    """
    store = SnipStore(rng=random.Random(seed), clock=now, max_remove=max_remove)
    owner = store.add_user("owner@example.org")
    store.owner_id = owner.id
    token = store.mint_token(owner.id)
    api = _Api(store, create_status)
    merge = _merge_slashes(store)
    app = web.Application(middlewares=[merge])
    # aiohttp routes before middlewares, so one catch-all route lets "//api/..."
    # through; the merge middleware is moved in front of any middleware added later
    # (recording, faults) so they all see the merged path.
    app.router.add_route("*", "/{tail:.*}", api.dispatch)

    async def merge_first(app: web.Application) -> None:
        app.middlewares.remove(merge)
        app.middlewares.insert(0, merge)

    app.on_startup.append(merge_first)
    return EmulatorApp(app=app, store=store, credentials={"token": token})
