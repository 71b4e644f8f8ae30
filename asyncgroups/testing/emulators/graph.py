"""An emulator of Microsoft Graph v1.0 groups and users with OAuth2, in memory.

It speaks Graph's wire protocol with hand-written JSON and never imports the
client's ``sansio``/``wire`` modules. Served at the emulator's root (give its URL as
both ``base_url`` and ``authority``):

* ``POST /{tenant}/oauth2/v2.0/token``: client credentials; Entra's error bodies
  (``invalid_client``, ``invalid_request``, ...).
* ``/groups`` (``$filter`` with ``startswith``/``eq``, ``$select``, ``$top``,
  ``$count`` with ``ConsistencyLevel: eventual``, ``@odata.nextLink`` paging),
  ``/groups/{id}`` (``PATCH`` takes ``members@odata.bind``, at most 20),
  ``/groups/{id}/members``, ``/groups/{id}/members/$ref``,
  ``/groups/{id}/members/{id}/$ref``, ``/users``, ``/users/{id}``.
* ``POST /$batch``: up to 20 sub-requests, each answered on its own.

Errors are Graph's ``{"error": {"code", "message", "innerError"}}``. Bearer tokens
expire on the store's clock (``store.advance``/``store.expire_tokens``), answered
401 ``InvalidAuthenticationToken``. Beyond the common store contract,
`GraphStore` offers ``add_user``, ``mint_token``, ``token_requests`` and
``fail_subrequest(status, retry_after=, times=, match=)`` (scripted sub-responses
inside ``$batch``). Options: ``page_size`` (100: the default ``$top``),
``token_lifetime`` (3599 s).
"""

import json
import random
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from asyncgroups.testing.emulators import EmulatorApp
from asyncgroups.testing.emulators.graph_http import (
    Answer,
    GraphError,
    authorise,
    error_body,
    guid,
    json_body,
    listing,
    missing,
    ref_id,
    select,
    token,
)
from asyncgroups.testing.emulators.graph_store import GraphGroup, GraphStore, GraphUser

__all__ = ["GraphGroup", "GraphStore", "GraphUser", "build"]

_TOKEN = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")
_GROUP = re.compile(r"^/groups/(?P<gid>[^/]+)$")
_MEMBERS = re.compile(r"^/groups/(?P<gid>[^/]+)/members$")
_REF = re.compile(r"^/groups/(?P<gid>[^/]+)/members/\$ref$")
_UNREF = re.compile(r"^/groups/(?P<gid>[^/]+)/members/(?P<mid>[^/]+)/\$ref$")
_USER = re.compile(r"^/users/(?P<uid>[^/]+)$")
_MAX_BIND = 20
_MAX_BATCH = 20


class _Api:
    """Routes over a `GraphStore`: one dispatcher for requests and sub-requests."""

    def __init__(self, store: GraphStore, page_size: int) -> None:
        self.store = store
        self.page_size = page_size

    # -- HTTP entry points ----------------------------------------------------------

    async def http(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        body = await request.read()
        try:
            if (m := _TOKEN.match(path)) is not None and request.method == "POST":
                return token(self.store, m["tenant"], body)
            authorise(self.store, request.headers.get("Authorization", ""))
            base = f"{request.scheme}://{request.host}"
            if path == "/$batch" and request.method == "POST":
                status, headers, data = self.batch(json_body(body), base)
            else:
                status, headers, data = self.dispatch(
                    request.method,
                    path,
                    dict(request.query),
                    dict(request.headers),
                    json_body(body) if body else None,
                    base,
                )
        except GraphError as exc:
            status, headers, data = exc.status, {}, error_body(exc.code, exc.message)
        if data is None:
            return web.Response(status=status, headers=headers)
        return web.Response(
            status=status,
            text=json.dumps(data),
            content_type="application/json",
            headers=headers,
        )

    def batch(self, body: Any, base: str) -> Answer:
        entries = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not entries:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(entries) > _MAX_BATCH:
            raise GraphError(
                400,
                "BadRequest",
                f"Number of batch requests exceeds the maximum of {_MAX_BATCH}.",
            )
        ids = [e.get("id") if isinstance(e, dict) else None for e in entries]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) for i in ids):
            raise GraphError(400, "BadRequest", "Batch request ids must be unique.")
        return 200, {}, {"responses": [self.sub(e, base) for e in entries]}

    def sub(self, entry: dict[str, Any], base: str) -> dict[str, Any]:
        method = str(entry.get("method", "")).upper()
        url = str(entry.get("url", ""))
        answer: dict[str, Any] = {"id": entry["id"]}
        fault = self.store.sub_fault(method, url)
        if fault is not None:
            headers = {"Content-Type": "application/json"}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            code = "TooManyRequests" if fault.status == 429 else "ServiceUnavailable"
            return answer | {
                "status": fault.status,
                "headers": headers,
                "body": error_body(code, "Please retry later."),
            }
        # Relative URLs as documented; msgraph-sdk 1.x sends absolute ones.
        parts = urlsplit(url if urlsplit(url).scheme else "/" + url.lstrip("/"))
        try:
            status, headers, data = self.dispatch(
                method,
                parts.path,
                dict(parse_qsl(parts.query)),
                dict(entry.get("headers") or {}),
                entry.get("body"),
                base,
            )
        except GraphError as exc:
            status, headers = exc.status, {"Content-Type": "application/json"}
            data = error_body(exc.code, exc.message)
        answer |= {"status": status, "headers": headers}
        if data is not None:
            answer["body"] = data
        return answer

    # -- routes -----------------------------------------------------------------------

    def dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        base: str,
    ) -> Answer:
        path = path.removeprefix("/v1.0")
        if path == "/groups":
            if method == "GET":
                return self.listing(
                    [g.render() for g in self.store.groups.values()],
                    query,
                    headers,
                    base,
                    "/groups",
                )
            if method == "POST":
                return self.create_group(body)
        elif path == "/users" and method == "GET":
            return self.listing(
                [u.render() for u in self.store.users.values()],
                query,
                headers,
                base,
                "/users",
            )
        elif (m := _USER.match(path)) is not None and method == "GET":
            user = self.store.users.get(guid(m["uid"]))
            if user is None:
                raise missing(m["uid"])
            return 200, {}, select(user.render(), query)
        elif (m := _GROUP.match(path)) is not None:
            group = self.group(m["gid"])
            if method == "GET":
                return 200, {}, select(group.render(), query)
            if method == "PATCH":
                self.patch(group, body)
                return 204, {}, None
            if method == "DELETE":
                del self.store.groups[group.id]
                return 204, {}, None
        elif (m := _MEMBERS.match(path)) is not None and method == "GET":
            group = self.group(m["gid"])
            users = [
                self.store.users[u].render()
                for u in group.members
                if u in self.store.users
            ]
            return self.listing(users, query, headers, base, path)
        elif (m := _REF.match(path)) is not None and method == "POST":
            group = self.group(m["gid"])
            self.bind(
                group, [body.get("@odata.id") if isinstance(body, dict) else None]
            )
            return 204, {}, None
        elif (m := _UNREF.match(path)) is not None and method == "DELETE":
            group = self.group(m["gid"])
            mid = guid(m["mid"])
            if mid not in group.members:
                raise missing(mid)
            del group.members[mid]
            return 204, {}, None
        raise GraphError(
            400 if method in ("GET", "POST", "PATCH", "DELETE") else 405,
            "BadRequest",
            f"Resource not found for the segment '{path.rsplit('/', 1)[-1]}'.",
        )

    def listing(
        self,
        items: list[dict[str, Any]],
        query: dict[str, str],
        headers: dict[str, str],
        base: str,
        path: str,
    ) -> Answer:
        return listing(items, query, headers, base, path, self.page_size)

    def group(self, raw: str) -> GraphGroup:
        group = self.store.groups.get(guid(raw))
        if group is None:
            raise missing(raw)
        return group

    def create_group(self, body: Any) -> Answer:
        if not isinstance(body, dict):
            raise GraphError(400, "Request_BadRequest", "A request body is required.")
        for name in ("displayName", "mailNickname", "mailEnabled", "securityEnabled"):
            if name not in body:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"A value is required for property '{name}' of resource 'Group'.",
                )
        name, nick = body["displayName"], body["mailNickname"]
        if (
            not isinstance(name, str)
            or not name
            or not isinstance(nick, str)
            or not nick
        ):
            raise GraphError(400, "Request_BadRequest", "Invalid value specified.")
        group = GraphGroup(
            self.store.new_id(),
            name,
            nick,
            description=body.get("description"),
            mail_enabled=bool(body["mailEnabled"]),
            security_enabled=bool(body["securityEnabled"]),
            group_types=list(body.get("groupTypes") or []),
            visibility=body.get("visibility"),
        )
        refs = body.get("members@odata.bind")
        if refs is not None:
            self.bind(group, refs)
        self.store.groups[group.id] = group
        rendered = group.render()
        rendered["@odata.context"] = (
            "https://graph.microsoft.com/v1.0/$metadata#groups/$entity"
        )
        return 201, {"Location": f"/groups/{group.id}"}, rendered

    def patch(self, group: GraphGroup, body: Any) -> None:
        if not isinstance(body, dict):
            raise GraphError(400, "Request_BadRequest", "A request body is required.")
        refs = body.get("members@odata.bind")
        if refs is not None:
            self.bind(group, refs)
        for wire, attr in (
            ("displayName", "display_name"),
            ("description", "description"),
            ("mailNickname", "mail_nickname"),
            ("visibility", "visibility"),
        ):
            if wire in body:
                setattr(group, attr, body[wire])

    def bind(self, group: GraphGroup, refs: Any) -> None:
        """Add every referenced user, or none (Graph applies a bind whole)."""
        if not isinstance(refs, list) or not refs:
            raise GraphError(400, "Request_BadRequest", "Invalid reference list.")
        if len(refs) > _MAX_BIND:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"The maximum number of {_MAX_BIND} references can be added in one request.",
            )
        ids = [ref_id(r) for r in refs]
        for uid in ids:
            if uid not in self.store.users:
                raise missing(uid)
        if any(uid in group.members for uid in ids) or len(set(ids)) != len(ids):
            raise GraphError(
                400,
                "Request_BadRequest",
                "One or more added object references already exist for the "
                "following modified properties: 'members'.",
            )
        group.members.update(dict.fromkeys(ids))


def build(
    *, seed: int | None = None, page_size: int = 100, token_lifetime: int = 3599
) -> EmulatorApp:
    """Build the Graph emulator: an app, its store and the app's credentials.

    Args:
        seed: seeds ids, tokens and the generated credentials.
        page_size: items per page when the client asks no ``$top``.
        token_lifetime: ``expires_in`` of issued tokens (on the store's clock).
    """
    rng = random.Random(seed)
    store = GraphStore(rng=rng, token_lifetime=token_lifetime)
    store.tenant_id = store.new_id()
    store.client_id = store.new_id()
    store.client_secret = "secret~" + "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        for _ in range(34)
    )
    api = _Api(store, page_size)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", api.http)
    return EmulatorApp(
        app=app,
        store=store,
        credentials={
            "tenant_id": store.tenant_id,
            "client_id": store.client_id,
            "client_secret": store.client_secret,
            "authority": "",
        },
        url_credentials=("authority",),
    )
