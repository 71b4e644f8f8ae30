"""Snip's wire protocol without I/O: request building and response deciphering.

Every function here is pure: ``build_*`` returns a :class:`~asyncgroups.transport.base.Request`
and :func:`decipher` turns a :class:`~asyncgroups.transport.base.Response` into JSON or
raises the matching ``errors.*``. This module performs no I/O of its own and knows
nothing about connections, retries or the Client.

Snip-specific rules live here: group names are 3-255 characters, ids are integers,
paths have a single slash after the deployment URL whatever its trailing ``/``, and
error bodies are ``{"message": str, "details": any}``.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, cast

from asyncgroups import validation
from asyncgroups.backends.status import api_error, parse_json, try_json
from asyncgroups.config import Secret
from asyncgroups.errors import (
    InvalidInputError,
    NotFoundError,
)
from asyncgroups.transport.base import Request, Response
from asyncgroups.validation import check_header_value

__all__ = [
    "BACKEND",
    "DEFAULT_BASE_URL",
    "MAX_REMOVE",
    "NAME_MAX",
    "NAME_MIN",
    "ROLES",
    "auth_headers",
    "build_create_group",
    "build_delete_group",
    "build_get_group",
    "build_leave_group",
    "build_list_groups",
    "build_patch_group",
    "check_group_name",
    "decipher",
    "int_id",
    "normalise_base_url",
]

BACKEND: Final = "snip"
DEFAULT_BASE_URL: Final = "https://snip.roentgen.physik.uni-goettingen.de"
#: Group names the server accepts (the client library documents 3-255).
NAME_MIN: Final = 3
NAME_MAX: Final = 255
#: User ids one ``remove_members`` PATCH carries at most.
MAX_REMOVE: Final = 500
#: Roles ``update_member_roles`` may assign; ownership moves only by transfer.
ROLES: Final = frozenset({"moderator", "member"})

_GROUPS: Final = "/api/account/groups"
_JSON: Final = {"Content-Type": "application/json"}
_UNSET: Final = object()


def normalise_base_url(url: str) -> str:
    """The deployment URL without trailing slashes, so paths get a single ``/``.

    Raises:
        ConfigurationError: not an absolute http(s) URL, or it holds control chars.
    """
    return validation.check_base_url(url)


def auth_headers(token: Secret) -> dict[str, str]:
    """The ``Authorization: Bearer`` header for an account token.

    Raises:
        ConfigurationError: the token is empty or holds CR, LF or control chars.
    """
    check_header_value(token.reveal(), "the snip token")
    return {"Authorization": f"Bearer {token.reveal()}"}


def int_id(value: str | int, what: str = "group id") -> int:
    """An id as Snip's integer, checked before anything is sent.

    Raises:
        NotFoundError: the id is not a non-negative integer, so nothing can have it.
    """
    text = str(value).strip()
    if isinstance(value, bool) or not text.isascii() or not text.isdigit():
        raise NotFoundError(
            f"no {what} {value!r}: snip ids are integers", backend=BACKEND
        )
    return int(text)


def check_group_name(name: str) -> None:
    """Check Snip's group-name rule: 3 to 255 characters.

    Raises:
        InvalidInputError: the name is not a string of 3-255 characters.
    """
    if (
        not isinstance(cast("object", name), str)
        or not NAME_MIN <= len(name) <= NAME_MAX
    ):
        raise InvalidInputError(
            f"a snip group name must be {NAME_MIN}-{NAME_MAX} characters long"
        )


def build_list_groups(base_url: str, headers: Mapping[str, str]) -> Request:
    """``GET /api/account/groups``: every group the token's user is a member of."""
    return Request("GET", base_url + _GROUPS, headers=dict(headers))


def build_get_group(
    base_url: str, headers: Mapping[str, str], group_id: int
) -> Request:
    """``GET /api/account/groups/{id}``."""
    return Request("GET", f"{base_url}{_GROUPS}/{group_id}", headers=dict(headers))


def build_create_group(base_url: str, headers: Mapping[str, str], name: str) -> Request:
    """``POST /api/account/groups`` with ``{"name": ...}`` (the API takes nothing else).

    Raises:
        InvalidInputError: the name breaks the 3-255 rule.
    """
    check_group_name(name)
    return Request(
        "POST",
        base_url + _GROUPS,
        headers={**headers, **_JSON},
        body=_encode({"name": name}),
    )


def build_patch_group(
    base_url: str,
    headers: Mapping[str, str],
    group_id: int,
    *,
    name: str | None = None,
    description: Any = _UNSET,
    update_member_roles: Mapping[int, str] | None = None,
    remove_members: Sequence[int] | None = None,
    transfer_ownership: int | None = None,
    max_remove: int = MAX_REMOVE,
) -> Request:
    """``PATCH /api/account/groups/{id}`` with the given subset of fields.

    Renames, descriptions and role changes set state, so re-sending them is harmless
    and the request is marked idempotent; removals and ownership transfers are not.

    Raises:
        InvalidInputError: nothing to change, a bad name or role, or more than
            ``max_remove`` user ids.
    """
    body: dict[str, Any] = {}
    if name is not None:
        check_group_name(name)
        body["name"] = name
    if description is not _UNSET:
        if description is not None and not isinstance(description, str):
            raise InvalidInputError("a snip group description must be a string")
        body["description"] = description
    if update_member_roles:
        bad = sorted({r for r in update_member_roles.values() if r not in ROLES})
        if bad:
            raise InvalidInputError(
                f"snip roles are {', '.join(sorted(ROLES))}; not {', '.join(map(str, bad))}"
            )
        body["update_member_roles"] = [
            {"user_id": uid, "role": role} for uid, role in update_member_roles.items()
        ]
    if remove_members:
        if len(remove_members) > max_remove:
            raise InvalidInputError(
                f"snip removes at most {max_remove} members per request, "
                f"not {len(remove_members)}"
            )
        body["remove_members"] = list(remove_members)
    if transfer_ownership is not None:
        body["transfer_ownership"] = transfer_ownership
    if not body:
        raise InvalidInputError("nothing to change")
    replayable = not ({"remove_members", "transfer_ownership"} & body.keys())
    return Request(
        "PATCH",
        f"{base_url}{_GROUPS}/{group_id}",
        headers={**headers, **_JSON},
        body=_encode(body),
        idempotent=replayable,
    )


def build_delete_group(
    base_url: str, headers: Mapping[str, str], group_id: int
) -> Request:
    """``DELETE /api/account/groups/{id}`` (owner only)."""
    return Request("DELETE", f"{base_url}{_GROUPS}/{group_id}", headers=dict(headers))


def build_leave_group(
    base_url: str, headers: Mapping[str, str], group_id: int
) -> Request:
    """``POST /api/account/groups/{id}/leave`` with no body and no Content-Type."""
    return Request(
        "POST", f"{base_url}{_GROUPS}/{group_id}/leave", headers=dict(headers)
    )


def decipher(response: Response, *, expect_body: bool = True) -> Any:
    """The JSON of a success response, or the typed error of any other.

    Args:
        response: the answer to a request built here.
        expect_body: parse the body; ``False`` for calls whose body the API leaves
            unspecified (DELETE, leave), which then return ``None``.

    Raises:
        AuthenticationError: 401 (missing, unknown or book token).
        PermissionDeniedError: 403 (the role does not allow it).
        NotFoundError: 404 (no such group, or not a member of it).
        RejectedRequestError: 400/422, with the server's ``details`` as field errors.
        RateLimitedError: 429, classified by status whatever the body.
        ServerError: 5xx, classified by status whatever the body (HTML included).
        APIError: any other non-2xx status, redirects included.
        DecodeError: a 2xx whose body is not JSON.
    """
    if 200 <= response.status < 300:
        return parse_json(response, backend=BACKEND) if expect_body else None
    data = try_json(response)
    message = ""
    errors: dict[str, list[str]] = {}
    if isinstance(data, Mapping):
        raw = data.get("message")
        if isinstance(raw, str):
            message = raw
        errors = _field_errors(data.get("details"))
    # 429 and 5xx may come from proxies and fault injectors with other bodies: the
    # shared table classifies them by status; the envelope only adds the message.
    raise api_error(response, backend=BACKEND, detail=message, errors=errors)


def _field_errors(details: Any) -> dict[str, list[str]]:
    if isinstance(details, Mapping):
        return {str(k): _messages(v) for k, v in details.items()}
    if isinstance(details, str):
        return {"": [details]}
    if isinstance(details, list):
        return {"": [str(d) for d in details]}
    return {}


def _messages(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _encode(payload: Mapping[str, Any] | Iterable[Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
