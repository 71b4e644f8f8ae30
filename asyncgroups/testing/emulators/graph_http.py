"""The Microsoft Graph emulator's HTTP pieces: error bodies, ids, OData queries, tokens.

Shared by the routes in `graph`; hand-written JSON, no client code.
"""

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web

from asyncgroups.testing.emulators.graph_store import GraphStore

__all__ = [
    "Answer",
    "GraphError",
    "authorise",
    "error_body",
    "guid",
    "json_body",
    "listing",
    "missing",
    "ref_id",
    "select",
    "token",
]

_STARTS = re.compile(r"^startswith\((\w+),\s*'((?:[^']|'')*)'\)$")
_EQ = re.compile(r"^(\w+) eq '((?:[^']|'')*)'$")
_MAX_TOP = 999
#: status, headers, JSON body (``None``: no body).
Answer = tuple[int, dict[str, str], Any]


class GraphError(Exception):
    """An error answer in Graph's shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(code: str, message: str) -> dict[str, Any]:
    """Graph's error body."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2026-01-01T00:00:00",
                "request-id": str(uuid.uuid4()),
                "client-request-id": str(uuid.uuid4()),
            },
        }
    }


def missing(object_id: str) -> GraphError:
    """Graph's 404 for an object that does not exist."""
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried "
        "reference-property objects are not present.",
    )


def guid(value: str) -> str:
    """``value`` as a lower-case GUID, or Graph's 400 for a malformed one."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise GraphError(
            400, "Request_BadRequest", f"Invalid object identifier '{value}'."
        ) from None
    return value.lower()


def ref_id(url: object) -> str:
    """The object id at the end of an ``@odata.id``/bind URL."""
    if not isinstance(url, str) or not url:
        raise GraphError(400, "Request_BadRequest", "Invalid reference URL.")
    return guid(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])


def _literal(text: str) -> str:
    return text.replace("''", "'")


def token(store: GraphStore, tenant: str, body: bytes) -> web.Response:
    """The token endpoint: client credentials in, a bearer token out."""
    form = dict(parse_qsl(body.decode("utf-8", "replace")))

    def refuse(status: int, code: str, text: str) -> web.Response:
        data = {"error": code, "error_description": text, "error_codes": [status]}
        return web.json_response(data, status=status)

    if tenant != store.tenant_id:
        return refuse(
            400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found."
        )
    if form.get("grant_type") != "client_credentials":
        return refuse(
            400, "unsupported_grant_type", "AADSTS70003: unsupported grant type."
        )
    if form.get("scope") != "https://graph.microsoft.com/.default":
        return refuse(400, "invalid_scope", "AADSTS1002012: invalid scope.")
    if form.get("client_id") != store.client_id:
        return refuse(
            400,
            "unauthorized_client",
            "AADSTS700016: Application not found in the directory.",
        )
    if form.get("client_secret") != store.client_secret:
        return refuse(
            401,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        )
    store.token_requests += 1
    token = store.mint_token()
    return web.json_response(
        {
            "token_type": "Bearer",
            "expires_in": store.token_lifetime,
            "ext_expires_in": store.token_lifetime,
            "access_token": token,
        }
    )


def authorise(store: GraphStore, header: str) -> None:
    """Refuse a missing, unknown or expired bearer token (401)."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    expires = store.tokens.get(token.strip())
    if expires is None:
        raise GraphError(
            401, "InvalidAuthenticationToken", "Access token validation failure."
        )
    if store.now >= expires:
        raise GraphError(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        )


# -- $batch -----------------------------------------------------------------------


def listing(
    items: list[dict[str, Any]],
    query: dict[str, str],
    headers: dict[str, str],
    base: str,
    path: str,
    page_size: int,
) -> Answer:
    """One page of ``items``: ``$filter``, ``$top``, ``$skiptoken``, ``$count``."""
    flt = query.get("$filter")
    if flt is not None:
        items = [i for i in items if _matches(i, flt)]
    top = page_size
    if "$top" in query:
        raw = query["$top"]
        if not raw.isdigit() or not 1 <= int(raw) <= _MAX_TOP:
            raise GraphError(
                400, "Request_BadRequest", f"Invalid page size specified: '{raw}'."
            )
        top = int(raw)
    skip = query.get("$skiptoken", "0")
    start = int(skip) if skip.isdigit() else 0
    page = items[start : start + top]
    data: dict[str, Any] = {
        "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{path.strip('/')}",
        "value": [select(i, query) for i in page],
    }
    if query.get("$count") == "true":
        eventual = {k.lower(): v for k, v in headers.items()}.get("consistencylevel")
        if eventual != "eventual":
            raise GraphError(
                400,
                "Request_BadRequest",
                "$count is only supported with the ConsistencyLevel:eventual header.",
            )
        data["@odata.count"] = len(items)
    if start + top < len(items):
        rest = {k: v for k, v in query.items() if k != "$skiptoken"}
        rest["$skiptoken"] = str(start + top)
        data["@odata.nextLink"] = f"{base}{path}?{urlencode(rest)}"
    return 200, {}, data


def json_body(body: bytes) -> Any:
    """A request body as JSON, or Graph's 400."""
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        raise GraphError(
            400, "BadRequest", "Unable to read JSON request payload."
        ) from None


def _matches(item: dict[str, Any], flt: str) -> bool:
    flt = flt.strip()
    if (m := _STARTS.match(flt)) is not None:
        value = item.get(m[1])
        return isinstance(value, str) and value.lower().startswith(
            _literal(m[2]).lower()
        )
    if (m := _EQ.match(flt)) is not None:
        value = item.get(m[1])
        return isinstance(value, str) and value.lower() == _literal(m[2]).lower()
    raise GraphError(400, "Request_UnsupportedQuery", f"Unsupported Query: {flt}")


def select(item: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    """``item`` cut to ``$select`` (``id`` and ``@odata.type`` always kept)."""
    fields = query.get("$select")
    if not fields:
        return item
    wanted = {f.strip() for f in fields.split(",")} | {"id", "@odata.type"}
    return {k: v for k, v in item.items() if k in wanted}
