"""Snip's wire protocol without I/O: request building and response deciphering.

Every function here is pure: ``build_*`` returns a
[`Request`][asyncgroups.transport.base.Request] made by the kit's
[`Endpoint`][asyncgroups.backends._kit.Endpoint], and `decipher` turns a
[`Response`][asyncgroups.transport.base.Response] into JSON or raises the matching
``errors.*``. This module performs no I/O of its own and knows nothing about
connections, retries or the Client.

Snip-specific rules live here: group names are 3-255 characters, ids are integers,
and error bodies are ``{"message": str, "details": any}``. (Paths get a single slash
after the deployment URL because ``validation.check_base_url`` drops its trailing
``/`` before the [`Endpoint`][asyncgroups.backends._kit.Endpoint] is built.)
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, cast

from asyncgroups.backends import _kit
from asyncgroups.backends._kit import Body, Endpoint, read_body
from asyncgroups.backends.status import api_error, try_json
from asyncgroups.config import Secret
from asyncgroups.errors import InvalidInputError
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
    "endpoint",
    "int_id",
    "server_time",
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
_UNSET: Final = object()


def auth_headers(token: Secret) -> dict[str, str]:
    """The ``Authorization: Bearer`` header for an account token.

    Raises:
        ConfigurationError: the token is empty or holds CR, LF or control chars.
    """
    check_header_value(token.reveal(), "the snip token")
    return {"Authorization": f"Bearer {token.reveal()}"}


def endpoint(base_url: str, token: Secret) -> Endpoint:
    """Where Snip requests go: ``base_url`` (already checked) and the bearer header.

    Raises:
        ConfigurationError: the token is empty or holds CR, LF or control chars.
    """
    return Endpoint(base_url, auth_headers(token))


def int_id(value: str | int, what: str = "group id") -> int:
    """An id as Snip's integer, checked before anything is sent.

    Raises:
        NotFoundError: the id is not a non-negative integer, so nothing can have it.
    """
    return _kit.int_id(value, what, backend=BACKEND)


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


def build_list_groups(where: Endpoint) -> Request:
    """``GET /api/account/groups``: every group the token's user is a member of."""
    return where.request("GET", _GROUPS)


def build_get_group(where: Endpoint, group_id: int) -> Request:
    """``GET /api/account/groups/{id}``."""
    return where.request("GET", f"{_GROUPS}/{group_id}")


def build_create_group(where: Endpoint, name: str) -> Request:
    """``POST /api/account/groups`` with ``{"name": ...}`` (the API takes nothing else).

    Raises:
        InvalidInputError: the name breaks the 3-255 rule.
    """
    check_group_name(name)
    return where.request("POST", _GROUPS, json_body={"name": name})


def build_patch_group(
    where: Endpoint,
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
    return where.request(
        "PATCH", f"{_GROUPS}/{group_id}", json_body=body, idempotent=replayable
    )


def build_delete_group(where: Endpoint, group_id: int) -> Request:
    """``DELETE /api/account/groups/{id}`` (owner only)."""
    return where.request("DELETE", f"{_GROUPS}/{group_id}")


def build_leave_group(where: Endpoint, group_id: int) -> Request:
    """``POST /api/account/groups/{id}/leave`` with no body and no Content-Type."""
    return where.request("POST", f"{_GROUPS}/{group_id}/leave")


def decipher(response: Response, expect: Body = Body.JSON) -> Any:
    """The JSON of a success response, or the typed error of any other.

    Args:
        response: the answer to a request built here.
        expect: what a success body holds (the kit's convention): ``Body.NONE``
            for calls whose body the API leaves unspecified (PATCH, DELETE,
            leave), which then return ``None``.

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
        return read_body(response, BACKEND, expect)
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


def server_time(response: Response) -> datetime | None:
    """The server's clock from a response's ``Date`` header, if it has a valid one."""
    try:
        moment = parsedate_to_datetime(response.header("date") or "")
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


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
