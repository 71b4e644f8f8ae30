"""An emulator of Okta's Management API (groups, users, memberships), in memory.

It speaks Okta's wire protocol with hand-written JSON and never imports the
client's ``sansio``/``wire`` modules. Served at the emulator's root (its URL is the
org URL):

* ``GET/POST /api/v1/groups`` (``q`` name prefix, ``search``/``filter`` with
  ``profile.name eq "..."`` and ``type eq "..."``, ``limit``, ``after``),
  ``GET/PUT/DELETE /api/v1/groups/{id}``;
* ``GET /api/v1/groups/{id}/users`` and ``PUT``/``DELETE
  /api/v1/groups/{gid}/users/{uid}`` (204 and idempotent; refused on
  ``APP_GROUP``/``BUILT_IN`` groups);
* ``GET /api/v1/users`` (``q``, ``limit``, ``after``), ``GET /api/v1/users/{id or
  login}``.

Listings page with a ``Link: <...>; rel="self", <...>; rel="next"`` header (an
``after`` cursor). Every answer carries ``X-Rate-Limit-Limit``/``-Remaining``/
``-Reset`` (epoch seconds) of its endpoint family's budget (``groups``: the
collection, ``group``: one group, ``members``: a group's users, ``users``); a
family out of budget answers 429 ``E0000047``. Errors are Okta's ``{"errorCode",
"errorSummary", "errorLink", "errorId", "errorCauses"}``. Authentication is
``Authorization: SSWS {api_token}`` (401 ``E0000011`` otherwise).

Beyond the common store contract, `OktaStore` offers ``add_user``,
``seed_group(..., type=)``, ``set_limits(limits, window)`` and ``rate_limited``
(429s by family). Options: ``page_size`` (200: the default ``limit``), ``limits``
(requests per window by family), ``window`` (60 s), ``wall_clock`` (epoch
seconds, for the budgets).
"""

import json
import random
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import CIMultiDict

from asyncgroups.testing.emulators import EmulatorApp
from asyncgroups.testing.emulators.okta_store import (
    DEFAULT_LIMITS,
    OktaGroup,
    OktaStore,
    OktaUser,
)

__all__ = ["OktaGroup", "OktaStore", "OktaUser", "build"]

_GROUP = re.compile(r"^/api/v1/groups/(?P<gid>[^/]+)$")
_MEMBERS = re.compile(r"^/api/v1/groups/(?P<gid>[^/]+)/users$")
_MEMBER = re.compile(r"^/api/v1/groups/(?P<gid>[^/]+)/users/(?P<uid>[^/]+)$")
_USER = re.compile(r"^/api/v1/users/(?P<uid>[^/]+)$")
_EQ = re.compile(r'^\s*([\w.]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$')
_MAX_LIMIT = 200
Answer = tuple[int, Any, dict[str, str]]


class OktaError(Exception):
    """An error answer in Okta's shape."""

    def __init__(
        self, status: int, code: str, summary: str, causes: tuple[str, ...] = ()
    ) -> None:
        super().__init__(summary)
        self.status, self.code, self.summary, self.causes = (
            status,
            code,
            summary,
            causes,
        )

    def body(self) -> dict[str, Any]:
        return {
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": "oae" + uuid.uuid4().hex[:19],
            "errorCauses": [{"errorSummary": c} for c in self.causes],
        }


def _missing(what: str, object_id: str) -> OktaError:
    return OktaError(
        404, "E0000007", f"Not found: Resource not found: {object_id} ({what})"
    )


def _rate_limited() -> OktaError:
    return OktaError(
        429, "E0000047", "API call exceeded rate limit due to too many requests."
    )


def _family(method: str, path: str) -> str:
    if path.startswith("/api/v1/users"):
        return "users"
    if _MEMBERS.match(path) or _MEMBER.match(path):
        return "members"
    if _GROUP.match(path):
        return "group"
    return "groups"


def _conditions(text: str) -> list[tuple[str, str]]:
    found = []
    for part in re.split(r"\s+and\s+", text.strip()):
        m = _EQ.match(part)
        if m is None:
            raise OktaError(
                400,
                "E0000031",
                "Invalid search criteria.",
                (f"search: unsupported expression {part!r}",),
            )
        found.append((m[1], re.sub(r"\\(.)", r"\1", m[2])))
    return found


def _group_field(group: OktaGroup, name: str) -> str | None:
    return {
        "type": group.type,
        "profile.name": group.name,
        "id": group.id,
        "profile.description": group.description,
    }.get(name)


class _Api:
    def __init__(self, store: OktaStore, page_size: int) -> None:
        self.store = store
        self.page_size = page_size

    async def http(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        family = _family(request.method, request.path)
        allowed, limits = self.store.spend(family)
        headers = CIMultiDict(limits)
        try:
            self.authorise(request.headers.get("Authorization", ""))
            if not allowed:
                raise _rate_limited()
            base = f"{request.scheme}://{request.host}"
            status, data, extra = self.dispatch(
                request.method, request.path, dict(request.query), body, base
            )
            headers.update(extra)
        except OktaError as exc:
            status, data = exc.status, exc.body()
        if data is None:
            return web.Response(status=status, headers=headers)
        headers["Content-Type"] = "application/json"
        return web.Response(status=status, text=json.dumps(data), headers=headers)

    def authorise(self, header: str) -> None:
        # Okta reads the token after the scheme with or without a space between
        # (the okta SDK 3.x sends ``SSWS{token}``).
        scheme, token = header[:4], header[4:]
        if scheme != "SSWS" or token.strip() != self.store.api_token:
            raise OktaError(401, "E0000011", "Invalid token provided")

    def dispatch(
        self, method: str, path: str, query: dict[str, str], body: bytes, base: str
    ) -> Answer:
        store = self.store
        if path == "/api/v1/groups":
            if method == "GET":
                return self.list_groups(query, base)
            if method == "POST":
                return self.create_group(_json(body), base)
        elif (m := _GROUP.match(path)) is not None:
            group = self.group(m["gid"])
            if method == "GET":
                return 200, group.render(base), {}
            if method == "PUT":
                self.writable(group)
                name, description = _profile(_json(body))
                self.unique(name, group.id)
                group.name, group.description = name, description
                return 200, group.render(base), {}
            if method == "DELETE":
                self.writable(group)
                del store.groups[group.id]
                return 204, None, {}
        elif (m := _MEMBERS.match(path)) is not None and method == "GET":
            group = self.group(m["gid"])
            users = [store.users[u] for u in group.members if u in store.users]
            return self.page(users, query, base, path, lambda u: u.render(base))
        elif (m := _MEMBER.match(path)) is not None and method in ("PUT", "DELETE"):
            group = self.group(m["gid"])
            user = store.users.get(m["uid"])
            if user is None:
                raise _missing("User", m["uid"])
            self.writable(group)
            if method == "PUT":
                group.members[user.id] = None
            else:
                group.members.pop(user.id, None)
            return 204, None, {}
        elif path == "/api/v1/users" and method == "GET":
            users = list(store.users.values())
            if "q" in query:
                q = query["q"].lower()
                users = [
                    u
                    for u in users
                    if any(
                        (v or "").lower().startswith(q)
                        for v in (u.first_name, u.last_name, u.email)
                    )
                ]
            return self.page(users, query, base, path, lambda u: u.render(base))
        elif (m := _USER.match(path)) is not None and method == "GET":
            user = store.find_user(m["uid"])
            if user is None:
                raise _missing("User", m["uid"])
            return 200, user.render(base), {}
        raise OktaError(
            404 if method in ("GET", "POST", "PUT", "DELETE") else 405,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        )

    def group(self, gid: str) -> OktaGroup:
        group = self.store.groups.get(gid)
        if group is None:
            raise _missing("UserGroup", gid)
        return group

    def writable(self, group: OktaGroup) -> None:
        if group.type != "OKTA_GROUP":
            raise OktaError(
                400,
                "E0000060",
                "Unsupported operation.",
                (f"Cannot modify the {group.type} object type.",),
            )

    def unique(self, name: str, own: str | None = None) -> None:
        for other in self.store.groups.values():
            if other.name == name and other.id != own:
                raise OktaError(
                    400,
                    "E0000001",
                    "Api validation failed: name",
                    (
                        "name: An object with this field already exists in the "
                        "current organization",
                    ),
                )

    def create_group(self, body: Any, base: str) -> Answer:
        name, description = _profile(body)
        self.unique(name)
        gid = self.store.seed_group(name, description=description)
        return 200, self.store.groups[gid].render(base), {}

    def list_groups(self, query: dict[str, str], base: str) -> Answer:
        groups = list(self.store.groups.values())
        if "q" in query:
            q = query["q"].lower()
            groups = [g for g in groups if g.name.lower().startswith(q)]
        for key in ("search", "filter"):
            if key in query:
                for name, value in _conditions(query[key]):
                    groups = [g for g in groups if _group_field(g, name) == value]
        return self.page(
            groups, query, base, "/api/v1/groups", lambda g: g.render(base)
        )

    def page(
        self,
        items: list[Any],
        query: dict[str, str],
        base: str,
        path: str,
        render: Callable[[Any], dict[str, Any]],
    ) -> Answer:
        limit = self.page_size
        if "limit" in query:
            raw = query["limit"]
            if not raw.isdigit() or int(raw) < 1:
                raise OktaError(
                    400, "E0000001", "Api validation failed: limit", ("limit: invalid",)
                )
            limit = min(int(raw), _MAX_LIMIT)
        start = 0
        after = query.get("after")
        if after is not None:
            ids = [i.id for i in items]
            start = ids.index(after) + 1 if after in ids else len(items)
        chunk = items[start : start + limit]
        links = [f'<{base}{path}?{urlencode(query)}>; rel="self"']
        if start + limit < len(items):
            rest = {k: v for k, v in query.items() if k != "after"}
            rest["after"] = chunk[-1].id
            rest["limit"] = str(limit)
            links.append(f'<{base}{path}?{urlencode(rest)}>; rel="next"')
        return 200, [render(i) for i in chunk], {"Link": ", ".join(links)}


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        raise OktaError(
            400,
            "E0000003",
            "The request body was not well-formed.",
            ("Could not parse the request body as JSON",),
        ) from None


def _profile(body: Any) -> tuple[str, str | None]:
    profile = body.get("profile") if isinstance(body, dict) else None
    name = profile.get("name") if isinstance(profile, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise OktaError(
            400,
            "E0000001",
            "Api validation failed: profile.name",
            ("profile.name: The field cannot be left blank",),
        )
    description = profile.get("description") if isinstance(profile, dict) else None
    return name, description if isinstance(description, str) else None


def build(
    *,
    seed: int | None = None,
    page_size: int = _MAX_LIMIT,
    limits: Mapping[str, int] | None = None,
    window: float = 60.0,
    wall_clock: Callable[[], float] = time.time,
) -> EmulatorApp:
    """Build the Okta emulator: an app, its store and the app's credentials.

    Args:
        seed: seeds ids and the generated API token.
        page_size: items per page when the client asks no ``limit``.
        limits: requests per ``window`` by family (``groups``, ``group``,
            ``members``, ``users``); the others keep Okta's defaults.
        window: seconds of every family's window.
        wall_clock: epoch seconds the budgets count on.
    """
    rng = random.Random(seed)
    store = OktaStore(rng=rng, clock=wall_clock)
    store.api_token = "00" + "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for _ in range(40)
    )
    store.set_limits({**DEFAULT_LIMITS, **(limits or {})}, window)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _Api(store, page_size).http)
    return EmulatorApp(app=app, store=store, credentials={"api_token": store.api_token})
