"""NeuroIO's wire rules as pure functions: build requests, decipher responses.

``build_*`` functions return [`Request`][asyncgroups.transport.base.Request] values
built on the kit's [`Endpoint`][asyncgroups.backends._kit.Endpoint], and `decipher`
turns a [`Response`][asyncgroups.transport.base.Response] into JSON or raises the
matching [`asyncgroups.errors`][asyncgroups.errors] type. The 100-pid rule and the
integer group id rule live here. This code has been constructed to perform no I/O of its
own.
"""

import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from asyncgroups import validation
from asyncgroups.backends._kit import Body, Endpoint, int_id, read_body
from asyncgroups.backends.status import api_error, try_json
from asyncgroups.errors import InvalidInputError
from asyncgroups.transport.base import Request, Response

__all__ = [
    "BACKEND",
    "DEFAULT_BASE_URL",
    "GROUPS_PATH",
    "MAX_PIDS",
    "MEMBERSHIP_PATH",
    "build_add_members",
    "build_create_group",
    "build_delete_group",
    "build_delete_person",
    "build_get_group",
    "build_list_groups",
    "build_list_members",
    "build_remove_members",
    "build_update_group",
    "chunk_pids",
    "decipher",
    "group_id_int",
]

BACKEND = "neuroio"
DEFAULT_BASE_URL = "https://api.neuroio.com"
#: Groups live under ``/v1/groups/persons/``; every path ends in a slash.
GROUPS_PATH = "/v1/groups/persons/"
#: One request adds/removes pids to/from many groups at once.
MEMBERSHIP_PATH = "/v1/groups/persons/pids/"
PERSONS_PATH = "/v1/persons/"
#: The documented limit of pids in one membership request.
MAX_PIDS = 100
#: Pids are opaque strings; this bound keeps absurd values off the wire.
MAX_PID_LENGTH = 64


def group_id_int(group_id: str | int) -> int:
    """A group id as the integer NeuroIO puts on the wire.

    Raises:
        NotFoundError: the id is not an integer, so no such group can exist.
    """
    return int_id(group_id, "group", backend=BACKEND)


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def _check_pids(pids: Sequence[object]) -> list[str]:
    if not pids:
        raise InvalidInputError("a membership request needs at least one pid")
    if len(pids) > MAX_PIDS:
        raise InvalidInputError(
            f"NeuroIO takes at most {MAX_PIDS} pids a request, got {len(pids)}"
        )
    checked: list[str] = []
    for pid in pids:
        if not isinstance(pid, str) or not pid or len(pid) > MAX_PID_LENGTH:
            raise InvalidInputError(
                f"a pid must be a non-empty string of at most {MAX_PID_LENGTH} characters"
            )
        checked.append(pid)
    return checked


def chunk_pids(pids: Sequence[str], size: int = MAX_PIDS) -> list[list[str]]:
    """Split pids into request-sized chunks (never more than `MAX_PIDS`)."""
    step = max(1, min(size, MAX_PIDS))
    return [list(pids[i : i + step]) for i in range(0, len(pids), step)]


def _joined(values: Iterable[str | int]) -> str:
    return ",".join(str(v) for v in values)


def build_create_group(endpoint: Endpoint, name: str) -> Request:
    """``POST /v1/groups/persons/`` with ``{"name": ...}``."""
    return endpoint.request("POST", GROUPS_PATH, json_body={"name": name})


def _group_path(group_id: str | int, tail: str = "") -> str:
    # An integer id only: "." or ".." would be normalised away by URL handling
    # and hit the collection itself (``DELETE /v1/groups/persons/``).
    # group_id_int's body, without its call
    return f"{GROUPS_PATH}{int_id(group_id, 'group', backend=BACKEND)}/{tail}"


def build_get_group(endpoint: Endpoint, group_id: str | int) -> Request:
    """``GET /v1/groups/persons/{id}/``.

    Raises:
        NotFoundError: the id is not an integer (nothing is sent).
    """
    return endpoint.request("GET", _group_path(group_id))


def build_update_group(endpoint: Endpoint, group_id: str | int, name: str) -> Request:
    """``PATCH /v1/groups/persons/{id}/`` with ``{"name": ...}``.

    Raises:
        NotFoundError: the id is not an integer (nothing is sent).
    """
    return endpoint.request("PATCH", _group_path(group_id), json_body={"name": name})


def build_delete_group(endpoint: Endpoint, group_id: str | int) -> Request:
    """``DELETE /v1/groups/persons/{id}/`` (answered 204, empty).

    Raises:
        NotFoundError: the id is not an integer (nothing is sent).
    """
    return endpoint.request("DELETE", _group_path(group_id))


def build_list_groups(
    endpoint: Endpoint,
    *,
    limit: int,
    offset: int,
    q: str | None = None,
    pids_include: Sequence[str] | None = None,
    pids_exclude: Sequence[str] | None = None,
    groups_ids: Sequence[int] | None = None,
    spaces_ids: Sequence[int] | None = None,
) -> Request:
    """``GET /v1/groups/persons/`` with filters in the real client's order.

    Lists are comma-joined into one parameter; absent filters are omitted.
    """
    query: list[tuple[str, str]] = []
    if q is not None:
        query.append(("q", q))
    for name, values in (
        ("pids_include", pids_include),
        ("pids_exclude", pids_exclude),
        ("groups_ids", groups_ids),
        ("spaces_ids", spaces_ids),
    ):
        if values is not None:
            query.append((name, _joined(values)))
    query += [("limit", str(limit)), ("offset", str(offset))]
    return endpoint.request("GET", GROUPS_PATH, query=query)


def build_list_members(
    endpoint: Endpoint,
    group_id: str | int,
    *,
    limit: int,
    offset: int,
    pids: Sequence[str] | None = None,
) -> Request:
    """``GET /v1/groups/persons/{id}/pids/``, optionally only the given pids.

    Raises:
        NotFoundError: the id is not an integer (nothing is sent).
    """
    path = _group_path(group_id, "pids/")
    query: list[tuple[str, str]] = []
    if pids is not None:
        query.append(("pids", _joined(pids)))
    query += [("limit", str(limit)), ("offset", str(offset))]
    return endpoint.request("GET", path, query=query)


def _membership(
    method: str, endpoint: Endpoint, group_ids: Sequence[str | int], pids: Sequence[str]
) -> Request:
    if not group_ids:
        raise InvalidInputError("a membership request needs at least one group id")
    body = {
        "pids": _check_pids(pids),
        "groups_ids": [group_id_int(g) for g in group_ids],
    }
    # Set semantics: adding a member twice or removing a non-member is a no-op,
    # so re-sending after an unknown outcome cannot change the result.
    return endpoint.request(method, MEMBERSHIP_PATH, json_body=body, idempotent=True)


def build_add_members(
    endpoint: Endpoint, group_ids: Sequence[str | int], pids: Sequence[str]
) -> Request:
    """``POST /v1/groups/persons/pids/``: every pid into every group.

    Raises:
        InvalidInputError: no pids, more than `MAX_PIDS`, or a bad pid.
        NotFoundError: a group id is not an integer.
    """
    return _membership("POST", endpoint, group_ids, pids)


def build_remove_members(
    endpoint: Endpoint, group_ids: Sequence[str | int], pids: Sequence[str]
) -> Request:
    """``DELETE /v1/groups/persons/pids/`` with a JSON body.

    Raises:
        InvalidInputError: no pids, more than `MAX_PIDS`, or a bad pid.
        NotFoundError: a group id is not an integer.
    """
    return _membership("DELETE", endpoint, group_ids, pids)


def build_delete_person(endpoint: Endpoint, pid: str) -> Request:
    """``DELETE /v1/persons/{pid}/`` (answered 204).

    Raises:
        InvalidInputError: the pid is empty, holds ``/ ? #`` or control characters,
            or is ``.``/``..`` (which would address another path).
    """
    validation.check_path_segment(pid, "pid")
    return endpoint.request("DELETE", f"{PERSONS_PATH}{_segment(pid)}/")


def _envelope(data: Any) -> tuple[str, dict[str, list[str]]]:
    """Message and field errors of NeuroIO's ``{error_codes, message, fields}``."""
    if not isinstance(data, dict):
        return "", {}
    message = data.get("message")
    if not isinstance(message, str):
        detail = data.get("detail")
        message = detail if isinstance(detail, str) else ""
    errors: dict[str, list[str]] = {}
    fields = data.get("fields")
    if isinstance(fields, list):
        for item in fields:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                text = item.get("message")
                errors.setdefault(item["name"], []).append(
                    text if isinstance(text, str) else json.dumps(text)
                )
    codes = data.get("error_codes")
    if message and isinstance(codes, list) and codes:
        message = f"{message} (codes {','.join(str(c) for c in codes)})"
    if errors:
        summary = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        message = f"{message} {summary}".strip()
    return message, errors


def decipher(response: Response, expect: Body = Body.JSON) -> Any:
    """Return a success response's JSON, or raise the error it stands for.

    Args:
        response: the response to read.
        expect: what a success body must hold (the kit's one convention). Deletes
            and membership changes pass ``Body.NONE``: NeuroIO answers them with
            200/201/204 and an empty or any body, which is ignored.

    Raises:
        APIError: an error status (subclass chosen by status alone); NeuroIO's
            envelope fills the detail and ``RejectedRequestError.errors``.
        DecodeError: an expected body is empty or not JSON.
    """
    status = response.status
    if 200 <= status < 300:
        return read_body(response, BACKEND, expect)
    if status == 429 or status >= 500 or status < 400:
        # Proxies answer these with their own bodies (HTML, {"detail": ...}): the
        # status alone decides, and the detail is the generic description.
        raise api_error(response, backend=BACKEND)
    message, errors = _envelope(try_json(response))
    raise api_error(response, backend=BACKEND, detail=message, errors=errors)
