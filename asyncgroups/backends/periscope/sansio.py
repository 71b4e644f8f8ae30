"""Periscope's requests and responses, as pure functions (sans-I/O).

``build_*`` turn arguments into [`Request`][asyncgroups.transport.base.Request] values
through the kit's [`Endpoint`][asyncgroups.backends._kit.Endpoint]; `decipher`
turns a [`Response`][asyncgroups.transport.base.Response] into JSON data or a typed
error; `unwrap` and `users_page` read the envelopes. This code performs
no I/O of its own.

Wire rules (WIRE.md §3):

- every path sits under ``/api/v1``; users are addressed by the ``HTTP-X-EMAIL``
  header, groups by their percent-encoded name in the path;
- every request carries ``HTTP-X-PARTNER-AUTH`` and a JSON ``Content-Type`` (the
  vendor's examples send it on GETs too); writes carry ``?test_mode=true|false``;
- error bodies are ``{"error": "..."}`` but nothing relies on that key: 429 and 5xx
  are classified by status alone;
- single objects come as ``{"user": ...}`` / ``{"group": ...}`` or bare; user lists
  as ``{"users": [...]}`` with an optional ``next_page_start`` cursor.
"""

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Self
from urllib.parse import quote

from attrs import evolve, frozen

from asyncgroups.backends._kit import JSON_TYPE, Body, Endpoint, Query, read_body
from asyncgroups.backends.periscope.auth import AUTH_HEADER, EMAIL_HEADER
from asyncgroups.backends.status import api_error, try_json
from asyncgroups.errors import DecodeError, InvalidInputError
from asyncgroups.transport.base import Request, Response
from asyncgroups.validation import check_email, check_path_segment

__all__ = [
    "BACKEND",
    "PREFIX",
    "Target",
    "build_create_group",
    "build_create_user",
    "build_delete_group",
    "build_delete_user",
    "build_get_group",
    "build_get_user",
    "build_list_groups",
    "build_list_users",
    "build_update_group",
    "build_update_user",
    "check_group_name",
    "check_user_email",
    "decipher",
    "error_detail",
    "groups_page",
    "item_key",
    "unwrap",
    "users_page",
]

BACKEND = "periscope"
PREFIX = "/api/v1"


@frozen
class Target:
    """Where and as whom requests go, and whether writes only test.

    Attributes:
        endpoint: the kit endpoint below ``/api/v1``, carrying the
            ``HTTP-X-PARTNER-AUTH`` value (hidden in a repr) on every request.
        test_mode: send ``test_mode=true`` on writes (validate, persist nothing).
    """

    endpoint: Endpoint
    test_mode: bool = False

    @classmethod
    def at(cls, base_url: str, auth: str, *, test_mode: bool = False) -> Self:
        """The target for ``base_url`` (scheme and host, checked) as ``auth``."""
        headers = {AUTH_HEADER: auth, "Content-Type": JSON_TYPE}
        return cls(Endpoint(base_url + PREFIX, headers), test_mode)

    def write_query(self) -> dict[str, str]:
        """The query every write carries."""
        return {"test_mode": "true" if self.test_mode else "false"}

    def request(
        self,
        method: str,
        path: str,
        *,
        email: str | None = None,
        query: Query | None = None,
        json_body: Any = None,
    ) -> Request:
        """A request to ``path`` (below ``/api/v1``), addressed to ``email`` if given.

        Raises:
            InvalidInputError: ``email`` is not an e-mail address or holds CR/LF.
        """
        endpoint = self.endpoint
        if email is not None:
            headers = {**endpoint.headers, EMAIL_HEADER: check_user_email(email)}
            endpoint = evolve(endpoint, headers=headers)
        return endpoint.request(method, path, query=query, json_body=json_body)


def check_group_name(name: str) -> str:
    """Check a group name that becomes a path segment.

    Raises:
        InvalidInputError: empty, or holds ``/``, ``?``, ``#``, CR/LF or another
            control character.
    """
    check_path_segment(name, "group name")
    return name


def check_user_email(email: str) -> str:
    """Check an e-mail that becomes the ``HTTP-X-EMAIL`` header.

    Raises:
        InvalidInputError: not an e-mail address, or holds CR/LF.
    """
    check_email(email, "user e-mail")
    return email


def _group_path(name: str) -> str:
    return "/groups/" + quote(check_group_name(name), safe="")


def _cursor(cursor: str | None) -> dict[str, str] | None:
    return {"next_page_start": cursor} if cursor is not None else None


def build_list_users(target: Target, cursor: str | None = None) -> Request:
    """``GET /users``, from ``cursor`` (``next_page_start``) when paging."""
    return target.request("GET", "/users", query=_cursor(cursor))


def build_get_user(target: Target, email: str) -> Request:
    """``GET /users`` addressed to one user by ``HTTP-X-EMAIL``."""
    return target.request("GET", "/users", email=email)


def build_create_user(target: Target, payload: Mapping[str, Any]) -> Request:
    """``POST /users?test_mode=…`` with the wire payload.

    Raises:
        InvalidInputError: the payload has no valid ``email``.
    """
    email = payload.get("email")
    if not isinstance(email, str):
        raise InvalidInputError("creating a user needs an e-mail")
    check_user_email(email)
    return target.request(
        "POST", "/users", query=target.write_query(), json_body=dict(payload)
    )


def build_update_user(
    target: Target, email: str, payload: Mapping[str, Any]
) -> Request:
    """``PUT /users?test_mode=…`` addressed by ``HTTP-X-EMAIL``.

    A ``groups`` list in the payload replaces the user's whole list.
    """
    return target.request(
        "PUT",
        "/users",
        email=email,
        query=target.write_query(),
        json_body=dict(payload),
    )


def build_delete_user(target: Target, email: str) -> Request:
    """``DELETE /users?test_mode=…`` addressed by ``HTTP-X-EMAIL``."""
    return target.request("DELETE", "/users", email=email, query=target.write_query())


def build_list_groups(target: Target, cursor: str | None = None) -> Request:
    """``GET /groups``, from ``cursor`` when a server pages groups."""
    return target.request("GET", "/groups", query=_cursor(cursor))


def build_get_group(target: Target, name: str) -> Request:
    """``GET /groups/<name>``."""
    return target.request("GET", _group_path(name))


def build_create_group(target: Target, payload: Mapping[str, Any]) -> Request:
    """``POST /groups?test_mode=…``.

    Raises:
        InvalidInputError: the name is missing or cannot be a path segment later.
    """
    name = payload.get("name")
    if not isinstance(name, str):
        raise InvalidInputError("creating a group needs a name")
    check_group_name(name)
    return target.request(
        "POST", "/groups", query=target.write_query(), json_body=dict(payload)
    )


def build_update_group(
    target: Target, name: str, payload: Mapping[str, Any]
) -> Request:
    """``PUT /groups/<name>?test_mode=…``; a ``name`` in the payload renames it."""
    new = payload.get("name")
    if new is not None:
        if not isinstance(new, str):
            raise InvalidInputError("group name must be a str")
        check_group_name(new)
    return target.request(
        "PUT", _group_path(name), query=target.write_query(), json_body=dict(payload)
    )


def build_delete_group(target: Target, name: str) -> Request:
    """``DELETE /groups/<name>?test_mode=…``."""
    return target.request("DELETE", _group_path(name), query=target.write_query())


def error_detail(response: Response) -> str:
    """The server's own message from an error body, or ``""``.

    ``{"error": "..."}`` is the expected shape; ``message`` and ``detail`` are read
    too, since proxies and fault injectors answer with their own envelopes.
    """
    data = try_json(response)
    if isinstance(data, Mapping):
        for key in ("error", "message", "detail", "errors"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, Mapping | list) and value:
                return json.dumps(value)[:400]
    return ""


def decipher(response: Response, expect: Body = Body.JSON) -> Any:
    """Check a response and decode its JSON body.

    Args:
        response: the response to read.
        expect: what a success body must hold (``Body.OPTIONAL``: an empty body,
            e.g. a 204, is ``None``).

    Raises:
        APIError: an error status, as its typed subclass (401 ->
            ``AuthenticationError``, 404 -> ``NotFoundError``, 409 ->
            ``ConflictError``, ...); a 3xx is never followed.
        DecodeError: a 2xx whose body is not what ``expect`` says.
    """
    if not 200 <= response.status < 300:
        detail = error_detail(response)
        errors: dict[str, list[str]] | None = None
        if response.status in (400, 422) and detail:
            errors = {"error": [detail]}
        raise api_error(response, backend=BACKEND, detail=detail, errors=errors)
    return read_body(response, BACKEND, expect)


def unwrap(data: Any, key: str) -> Mapping[str, Any]:
    """The object from ``{key: {...}}`` or a bare ``{...}``.

    Raises:
        DecodeError: neither shape.
    """
    if isinstance(data, Mapping):
        inner = data.get(key)
        if isinstance(inner, Mapping):
            return inner
        if key not in data:
            return data
    raise DecodeError(f"expected a {key} object", backend=BACKEND)


def _page(data: Any, key: str) -> tuple[Sequence[Any], str | None]:
    if isinstance(data, list):
        return data, None
    if isinstance(data, Mapping) and isinstance(data.get(key), list):
        cursor = data.get("next_page_start")
        if cursor is not None and not isinstance(cursor, str | int):
            raise DecodeError("next_page_start must be a string", backend=BACKEND)
        return data[key], (None if cursor in (None, "") else str(cursor))
    raise DecodeError(f"expected a {key} list", backend=BACKEND)


def item_key(name: str) -> Callable[[Any], Hashable]:
    """The identity of a listed item, by its ``name`` field, for paging loops.

    A page whose items all were seen before does not advance the listing, whatever
    cursor came with it. Items without the field count by their JSON text.
    """

    def key(item: Any) -> Hashable:
        value = item.get(name) if isinstance(item, Mapping) else None
        if isinstance(value, str):
            return (name, value)
        return json.dumps(item, sort_keys=True, default=repr)

    return key


def users_page(data: Any) -> tuple[Sequence[Any], str | None]:
    """``(users, next_page_start)`` from a list answer (no cursor: last page).

    Raises:
        DecodeError: the answer holds no ``users`` list.
    """
    return _page(data, "users")


def groups_page(data: Any) -> tuple[Sequence[Any], str | None]:
    """``(groups, next_page_start)`` from a group list answer.

    Raises:
        DecodeError: the answer holds no ``groups`` list.
    """
    return _page(data, "groups")
