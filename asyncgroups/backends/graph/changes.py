"""Membership changes as Graph sub-requests, and the ``$batch`` envelope around them.

A change is a `SubRequest` (a relative URL, as JSON batching carries it),
sent alone or packed with up to 19 others into ``POST /$batch``; its answer is a
`SubResponse` either way. The 20-reference and 20-sub-request limits and
what counts as success for a set (already a member, not a member) live here.
This code has been constructed to perform no I/O of its own.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import field, frozen

from asyncgroups.backends._kit import Endpoint
from asyncgroups.backends.graph.sansio import BACKEND, error_code, segment
from asyncgroups.backends.status import try_json
from asyncgroups.errors import DecodeError, InvalidInputError
from asyncgroups.transport.base import Request, Response

__all__ = [
    "MAX_BATCH",
    "MAX_BIND",
    "SubRequest",
    "SubResponse",
    "as_response",
    "build_add_member_ref",
    "build_batch",
    "build_bind_members",
    "build_remove_member",
    "is_already_member",
    "is_not_member",
    "parse_batch",
    "sub_response",
]

#: References one ``PATCH /groups/{id}`` may bind (``members@odata.bind``).
MAX_BIND = 20
#: Sub-requests one ``POST /$batch`` may carry.
MAX_BATCH = 20
_ALREADY = "added object references already exist"


@frozen
class SubRequest:
    """One request as Graph's JSON batching carries it (a relative URL).

    Sent alone it is an ordinary request; packed into ``POST /$batch`` it is one
    entry of ``requests``.
    """

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(factory=dict)

    def request(self, endpoint: Endpoint) -> Request:
        """This sub-request as an ordinary request (membership changes are sets)."""
        return endpoint.request(
            self.method, self.url, json_body=self.body, idempotent=True
        )


@frozen
class SubResponse:
    """One entry of a ``$batch`` answer's ``responses`` (or a lone answer)."""

    status: int
    headers: Mapping[str, str] = field(factory=dict)
    body: Any = None


def _object_url(endpoint: Endpoint, key: str) -> str:
    return f"{endpoint.base_url}/directoryObjects/{segment(key, 'member key')}"


def build_bind_members(
    endpoint: Endpoint, group_id: str, keys: Sequence[str]
) -> SubRequest:
    """``PATCH /groups/{id}`` binding up to 20 members (``members@odata.bind``).

    Raises:
        InvalidInputError: no keys, more than 20, or a key with path characters.
    """
    if not keys or len(keys) > MAX_BIND:
        raise InvalidInputError(
            f"one Graph PATCH binds 1 to {MAX_BIND} members, got {len(keys)}"
        )
    refs = [_object_url(endpoint, k) for k in keys]
    return SubRequest(
        "PATCH",
        f"/groups/{segment(group_id, 'group id')}",
        {"members@odata.bind": refs},
        {"Content-Type": "application/json"},
    )


def build_add_member_ref(endpoint: Endpoint, group_id: str, key: str) -> SubRequest:
    """``POST /groups/{id}/members/$ref`` adding one member."""
    return SubRequest(
        "POST",
        f"/groups/{segment(group_id, 'group id')}/members/$ref",
        {"@odata.id": _object_url(endpoint, key)},
        {"Content-Type": "application/json"},
    )


def build_remove_member(group_id: str, key: str) -> SubRequest:
    """``DELETE /groups/{id}/members/{member-id}/$ref``."""
    gid, mid = segment(group_id, "group id"), segment(key, "member key")
    return SubRequest("DELETE", f"/groups/{gid}/members/{mid}/$ref")


def build_batch(endpoint: Endpoint, subs: Sequence[SubRequest]) -> Request:
    """``POST /$batch`` carrying ``subs`` with ids ``"1"``, ``"2"``, ...

    Raises:
        InvalidInputError: no sub-requests, or more than 20.
    """
    if not subs or len(subs) > MAX_BATCH:
        raise InvalidInputError(
            f"one Graph $batch carries 1 to {MAX_BATCH} requests, got {len(subs)}"
        )
    entries = []
    for number, sub in enumerate(subs, 1):
        entry: dict[str, Any] = {
            "id": str(number),
            "method": sub.method,
            "url": sub.url,
        }
        if sub.headers:
            entry["headers"] = dict(sub.headers)
        if sub.body is not None:
            entry["body"] = sub.body
        entries.append(entry)
    # Every change packed here is a set operation: replaying the batch is safe.
    return endpoint.request(
        "POST", "/$batch", json_body={"requests": entries}, idempotent=True
    )


def parse_batch(data: Any, count: int) -> list[SubResponse]:
    """The ``count`` sub-responses of a ``$batch`` answer, in request order.

    Raises:
        DecodeError: the answer lacks a sub-response, or has a malformed one.
    """
    responses = data.get("responses") if isinstance(data, dict) else None
    if not isinstance(responses, list):
        raise DecodeError("$batch answer without responses", backend=BACKEND)
    found: dict[str, SubResponse] = {}
    for item in responses:
        if not isinstance(item, dict):
            raise DecodeError("malformed $batch sub-response", backend=BACKEND)
        number, status = item.get("id"), item.get("status")
        headers = item.get("headers") or {}
        if (
            not isinstance(number, str)
            or isinstance(status, bool)
            or not isinstance(status, int)
            or not isinstance(headers, dict)
        ):
            raise DecodeError("malformed $batch sub-response", backend=BACKEND)
        found[number] = SubResponse(
            status,
            {str(k).lower(): str(v) for k, v in headers.items()},
            item.get("body"),
        )
    missing = [str(n) for n in range(1, count + 1) if str(n) not in found]
    if missing:
        raise DecodeError(
            f"$batch answer lacks sub-responses {', '.join(missing)}", backend=BACKEND
        )
    return [found[str(n)] for n in range(1, count + 1)]


def sub_response(response: Response) -> SubResponse:
    """A lone answer in the shape of a sub-response."""
    body = try_json(response)
    if body is None and response.body.strip():
        body = response.body.decode("utf-8", "replace")
    return SubResponse(response.status, dict(response.headers), body)


def as_response(sub: SubResponse, request: Request) -> Response:
    """A sub-response as an ordinary response to ``request`` (for `decipher`)."""
    raw = b"" if sub.body is None else json.dumps(sub.body).encode()
    if isinstance(sub.body, str):
        raw = sub.body.encode()
    return Response(sub.status, dict(sub.headers), raw, request)


def is_already_member(sub: SubResponse) -> bool:
    """An add refused because a reference already exists (success for a set)."""
    return sub.status == 400 and _ALREADY in error_code(sub.body)[1]


def is_not_member(sub: SubResponse, group_id: str) -> bool:
    """A member removal answered 404 about the member, not the group (success)."""
    code, message = error_code(sub.body)
    return (
        sub.status == 404
        and code == "Request_ResourceNotFound"
        and group_id not in message
    )
