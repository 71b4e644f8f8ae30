"""Okta's wire rules as pure functions: build requests, decipher answers.

``build_*`` functions return [`Request`][asyncgroups.transport.base.Request] values
(the ``SSWS`` token is in the endpoint's headers); `next_link` reads the
``Link: <...>; rel="next"`` header Okta pages with; `decipher` turns a
response into JSON or the matching [`asyncgroups.errors`][asyncgroups.errors] type,
reading Okta's ``{"errorCode", "errorSummary", "errorCauses"}`` body. This code performs
no I/O.
"""

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from asyncgroups.backends._kit import Body, Endpoint, path_id, read_body
from asyncgroups.backends.status import api_error, try_json
from asyncgroups.transport.base import Request, Response

__all__ = [
    "BACKEND",
    "GROUP",
    "GROUPS",
    "MEMBERS",
    "PAGE_SIZE",
    "USERS",
    "WRITABLE_TYPE",
    "build_create_group",
    "build_delete_group",
    "build_find_group",
    "build_get_group",
    "build_get_user",
    "build_list_groups",
    "build_list_members",
    "build_list_users",
    "build_membership",
    "build_update_group",
    "check_id",
    "decipher",
    "error_code",
    "next_link",
]

BACKEND = "okta"
#: ``limit`` asked for on listings (Okta allows 200 users, 1,000 group members and
#: 10,000 groups a page; one size keeps pages small enough to be paced).
PAGE_SIZE = 200
#: The only group type whose memberships may be changed through the API.
WRITABLE_TYPE = "OKTA_GROUP"
#: Okta's rate-limit buckets: one budget per endpoint family, announced in the
#: ``X-Rate-Limit-*`` headers of every answer.
GROUPS = "/api/v1/groups"
GROUP = "/api/v1/groups/{id}"
MEMBERS = "/api/v1/groups/{id}/users"
USERS = "/api/v1/users"
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^,;<]*)*)")
_NEXT = re.compile(r'rel\s*=\s*"?([^";]*)"?', re.IGNORECASE)


def check_id(value: str, what: str) -> str:
    """An Okta id (``00g...``/``00u...``) or login, checked before any I/O.

    Raises:
        InvalidInputError: the id is empty, holds control or path characters, or
            is ``.``/``..``.
    """
    return path_id(value, what, api="an Okta")


def _segment(value: str, what: str) -> str:
    return quote(check_id(value, what), safe="@")


def _group_path(group_id: str) -> str:
    return f"/api/v1/groups/{_segment(group_id, 'group id')}"


# -- groups -----------------------------------------------------------------------


def _profile(name: str | None, description: str | None) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    if name is not None:
        profile["name"] = name
    if description is not None:
        profile["description"] = description
    return profile


def build_create_group(
    endpoint: Endpoint, name: str, description: str | None
) -> Request:
    """``POST /api/v1/groups`` with ``{"profile": {"name", "description"}}``."""
    body = {"profile": _profile(name, description)}
    return endpoint.request("POST", "/api/v1/groups", json_body=body, family=GROUPS)


def build_get_group(endpoint: Endpoint, group_id: str) -> Request:
    """``GET /api/v1/groups/{id}``.

    Raises:
        InvalidInputError: the id holds path characters (nothing is sent).
    """
    return endpoint.request("GET", _group_path(group_id), family=GROUP)


def build_update_group(
    endpoint: Endpoint, group_id: str, name: str, description: str | None
) -> Request:
    """``PUT /api/v1/groups/{id}``: Okta replaces the whole profile."""
    body = {"profile": _profile(name, description)}
    return endpoint.request("PUT", _group_path(group_id), json_body=body, family=GROUP)


def build_delete_group(endpoint: Endpoint, group_id: str) -> Request:
    """``DELETE /api/v1/groups/{id}`` (answered 204)."""
    return endpoint.request("DELETE", _group_path(group_id), family=GROUP)


def build_list_groups(endpoint: Endpoint, query: str | None, limit: int) -> Request:
    """``GET /api/v1/groups`` (first page): names starting with ``query`` if given."""
    params = [("limit", str(limit))]
    if query is not None:
        params.insert(0, ("q", query))
    return endpoint.request("GET", "/api/v1/groups", query=params, family=GROUPS)


def build_find_group(endpoint: Endpoint, name: str) -> Request:
    """``GET /api/v1/groups?search=profile.name eq "..."`` (finds a lost create)."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return endpoint.request(
        "GET",
        "/api/v1/groups",
        query=[("search", f'profile.name eq "{escaped}"')],
        family=GROUPS,
    )


# -- users ------------------------------------------------------------------------


def build_get_user(endpoint: Endpoint, user_id: str) -> Request:
    """``GET /api/v1/users/{id or login}``."""
    path = f"/api/v1/users/{_segment(user_id, 'user id')}"
    return endpoint.request("GET", path, family=USERS)


def build_list_users(endpoint: Endpoint, query: str | None, limit: int) -> Request:
    """``GET /api/v1/users`` (first page): ``q`` matches names and e-mail."""
    params = [("limit", str(limit))]
    if query is not None:
        params.insert(0, ("q", query))
    return endpoint.request("GET", "/api/v1/users", query=params, family=USERS)


# -- members ----------------------------------------------------------------------


def build_list_members(endpoint: Endpoint, group_id: str, limit: int) -> Request:
    """``GET /api/v1/groups/{id}/users`` (first page)."""
    return endpoint.request(
        "GET",
        f"{_group_path(group_id)}/users",
        query=[("limit", str(limit))],
        family=MEMBERS,
    )


def build_membership(
    endpoint: Endpoint, method: str, group_id: str, user_id: str
) -> Request:
    """``PUT`` (add) or ``DELETE`` (remove) ``/api/v1/groups/{gid}/users/{uid}``.

    Both are idempotent on Okta (answered 204 whether or not the user was a member).
    """
    path = f"{_group_path(group_id)}/users/{_segment(user_id, 'member key')}"
    return endpoint.request(method, path, idempotent=True, family=MEMBERS)


# -- answers ----------------------------------------------------------------------


def _link_values(response: Response) -> list[str]:
    getall = getattr(response.headers, "getall", None)
    if getall is not None:
        return [str(v) for v in getall("link", [])]
    value = response.header("link")
    return [] if value is None else [value]


def next_link(response: Response) -> str | None:
    """The URL of ``rel="next"`` in the answer's ``Link`` header(s), if any."""
    for value in _link_values(response):
        for url, params in _LINK.findall(value):
            rels = {r.strip().lower() for m in _NEXT.findall(params) for r in m.split()}
            if "next" in rels:
                return str(url)
    return None


def error_code(body: Any) -> tuple[str, str, list[str]]:
    """``(errorCode, errorSummary, [causes])`` of Okta's error body (empty if absent)."""
    if not isinstance(body, Mapping):
        return "", "", []
    code, summary = body.get("errorCode"), body.get("errorSummary")
    causes = body.get("errorCauses")
    found = []
    if isinstance(causes, list):
        for cause in causes:
            text = cause.get("errorSummary") if isinstance(cause, Mapping) else None
            if isinstance(text, str):
                found.append(text)
    return (
        code if isinstance(code, str) else "",
        summary if isinstance(summary, str) else "",
        found,
    )


def decipher(response: Response, expect: Body = Body.JSON) -> Any:
    """Return a success answer's JSON, or raise the error it stands for.

    Raises:
        APIError: an error status (subclass by status); Okta's ``errorCode``,
            ``errorSummary`` and causes fill the detail (and a 400's ``errors``).
        DecodeError: an expected body is empty or not JSON.
    """
    status = response.status
    if 200 <= status < 300:
        return read_body(response, BACKEND, expect)
    code, summary, causes = error_code(try_json(response))
    detail = f"{code}: {summary}" if code and summary else code or summary
    if causes:
        detail = f"{detail} ({'; '.join(causes)})"
    errors = {code: causes or [summary]} if status in (400, 422) and code else None
    raise api_error(response, backend=BACKEND, detail=detail, errors=errors)
