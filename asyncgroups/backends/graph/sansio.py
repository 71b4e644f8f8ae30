"""Microsoft Graph's wire rules as pure functions: build requests, decipher answers.

``build_*`` functions return [`Request`][asyncgroups.transport.base.Request] values
for groups and users (without the bearer token, which the session adds);
`decipher` turns a response into JSON or the matching
[`asyncgroups.errors`][asyncgroups.errors] type, reading Graph's
``{"error": {"code", "message", "innerError"}}`` body. The id rule and the
``@odata.nextLink`` host rule live here; membership changes and ``$batch`` are in
`changes`, the token exchange in `oauth`. This code has been
constructed to perform no I/O of its own.
"""

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from asyncgroups.backends._kit import Body, Endpoint, path_id, read_body
from asyncgroups.backends.status import api_error, try_json
from asyncgroups.errors import NotFoundError
from asyncgroups.transport.base import Request, Response

__all__ = [
    "BACKEND",
    "DEFAULT_AUTHORITY",
    "DEFAULT_BASE_URL",
    "PAGE_SIZE",
    "build_create_group",
    "build_delete_group",
    "build_find_nickname",
    "build_get_group",
    "build_get_user",
    "build_list_groups",
    "build_list_members",
    "build_list_users",
    "build_next",
    "build_update_group",
    "check_id",
    "decipher",
    "error_code",
    "is_expired_token",
    "mail_nickname",
    "segment",
]

BACKEND = "graph"
DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
#: Page size asked for on listings (Graph's maximum for directory objects).
PAGE_SIZE = 999
_GROUP_SELECT = "id,displayName,description,mailNickname"
_USER_SELECT = "id,displayName,mail,givenName,surname,userPrincipalName"
_MEMBER_SELECT = "id,mail,displayName"
_NICK_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def check_id(value: str, what: str) -> str:
    """A directory object id (a GUID on real tenants) checked before any I/O.

    Graph ids never hold path, query or space characters; anything else is left
    for the server to judge (its answer to a malformed GUID is a 404 here).

    Raises:
        InvalidInputError: the id is empty, holds control or path characters, or
            is ``.``/``..``.
    """
    return path_id(value, what, api="a Graph")


def segment(value: str, what: str) -> str:
    """``value`` checked by `check_id` and quoted as one path segment."""
    return quote(check_id(value, what), safe="")


# -- groups and users ------------------------------------------------------------


def mail_nickname(name: str, suffix: str) -> str:
    """A ``mailNickname`` for a new group: its name's safe characters + ``suffix``.

    Graph requires one on every group; the suffix makes it unique, so a create
    whose answer was lost can be found again by it.
    """
    stem = _NICK_UNSAFE.sub("", name)[:40] or "group"
    return f"{stem}-{suffix}"


def build_create_group(
    endpoint: Endpoint, name: str, description: str | None, fields: Mapping[str, Any]
) -> Request:
    """``POST /groups``: a security group unless ``fields`` say otherwise."""
    body: dict[str, Any] = {
        "displayName": name,
        "mailEnabled": False,
        "securityEnabled": True,
    }
    if description is not None:
        body["description"] = description
    body.update(fields)
    return endpoint.request("POST", "/groups", json_body=body)


def build_find_nickname(endpoint: Endpoint, nickname: str) -> Request:
    """``GET /groups?$filter=mailNickname eq '...'`` (finds a lost create)."""
    return endpoint.request(
        "GET",
        "/groups",
        query=[
            ("$filter", f"mailNickname eq {_quoted(nickname)}"),
            ("$select", _GROUP_SELECT),
        ],
    )


def build_get_group(endpoint: Endpoint, group_id: str) -> Request:
    """``GET /groups/{id}``.

    Raises:
        InvalidInputError: the id holds path characters (nothing is sent).
    """
    return endpoint.request(
        "GET",
        f"/groups/{segment(group_id, 'group id')}",
        query=[("$select", _GROUP_SELECT)],
    )


def build_update_group(
    endpoint: Endpoint, group_id: str, fields: Mapping[str, Any]
) -> Request:
    """``PATCH /groups/{id}`` (answered 204)."""
    path = f"/groups/{segment(group_id, 'group id')}"
    return endpoint.request("PATCH", path, json_body=dict(fields), idempotent=True)


def build_delete_group(endpoint: Endpoint, group_id: str) -> Request:
    """``DELETE /groups/{id}`` (answered 204)."""
    return endpoint.request("DELETE", f"/groups/{segment(group_id, 'group id')}")


def _quoted(text: str) -> str:
    # OData string literals double their single quotes.
    return "'" + text.replace("'", "''") + "'"


def build_list_groups(endpoint: Endpoint, query: str | None, top: int) -> Request:
    """``GET /groups`` (first page), names starting with ``query`` if given."""
    params = [("$select", _GROUP_SELECT), ("$top", str(top))]
    if query is not None:
        params.insert(0, ("$filter", f"startswith(displayName,{_quoted(query)})"))
    return endpoint.request("GET", "/groups", query=params)


def build_list_users(endpoint: Endpoint, query: str | None, top: int) -> Request:
    """``GET /users`` (first page), display names starting with ``query``."""
    params = [("$select", _USER_SELECT), ("$top", str(top))]
    if query is not None:
        params.insert(0, ("$filter", f"startswith(displayName,{_quoted(query)})"))
    return endpoint.request("GET", "/users", query=params)


def build_get_user(endpoint: Endpoint, user_id: str) -> Request:
    """``GET /users/{id}``."""
    return endpoint.request(
        "GET",
        f"/users/{segment(user_id, 'user id')}",
        query=[("$select", _USER_SELECT)],
    )


def build_list_members(endpoint: Endpoint, group_id: str, top: int) -> Request:
    """``GET /groups/{id}/members`` (first page)."""
    return endpoint.request(
        "GET",
        f"/groups/{segment(group_id, 'group id')}/members",
        query=[("$select", _MEMBER_SELECT), ("$top", str(top))],
    )


def build_next(endpoint: Endpoint, next_link: str) -> Request:
    """A GET of ``@odata.nextLink``, which must stay on the API's own host.

    Raises:
        DecodeError: the link points elsewhere (the bearer token would follow it).
    """
    return endpoint.follow(next_link, backend=BACKEND, what="@odata.nextLink")


def error_code(body: Any) -> tuple[str, str]:
    """``(code, message)`` of Graph's ``{"error": {...}}`` body (empty if absent)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    code, message = error.get("code"), error.get("message")
    return (
        code if isinstance(code, str) else "",
        message if isinstance(message, str) else "",
    )


def is_expired_token(response: Response) -> bool:
    """A 401 saying the bearer token is no longer (or not) valid: refresh once."""
    if response.status != 401:
        return False
    return error_code(try_json(response))[0] == "InvalidAuthenticationToken"


def decipher(response: Response, expect: Body = Body.JSON) -> Any:
    """Return a success answer's JSON, or raise the error it stands for.

    A 400 ``Invalid object identifier`` (a malformed GUID) is a
    [`NotFoundError`][asyncgroups.errors.NotFoundError]: nothing can have that id.

    Raises:
        APIError: an error status (subclass by status); Graph's error code and
            message fill the detail.
        DecodeError: an expected body is empty or not JSON.
    """
    status = response.status
    if 200 <= status < 300:
        return read_body(response, BACKEND, expect)
    code, message = error_code(try_json(response))
    detail = f"{code}: {message}" if code and message else code or message
    if status == 400 and message.startswith("Invalid object identifier"):
        raise api_error(response, backend=BACKEND, detail=detail, kind=NotFoundError)
    errors = {code: [message]} if status in (400, 422) and code else None
    raise api_error(response, backend=BACKEND, detail=detail, errors=errors)
