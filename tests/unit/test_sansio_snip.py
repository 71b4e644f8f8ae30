"""Snip's sans-I/O layer: request tables and (status, headers, body) -> result tables."""

import json
from pathlib import Path
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.backends._kit import Body, Endpoint
from asyncgroups.backends.snip import sansio
from asyncgroups.config import Secret
from asyncgroups.transport.base import Request, Response
from asyncgroups.validation import check_base_url

SAMPLES = Path(__file__).parent.parent / "samples" / "snip"
BASE = "https://snip.example.org"
TOKEN = "a" * 192
HEADERS = sansio.auth_headers(Secret(TOKEN))
WHERE = sansio.endpoint(BASE, Secret(TOKEN))


def response(status: int, body: bytes | str = b"", **headers: str) -> Response:
    data = body.encode() if isinstance(body, str) else body
    request = Request("GET", BASE + "/api/account/groups", headers=HEADERS)
    return Response(status=status, headers=headers, body=data, request=request)


def sample(name: str) -> Response:
    folder = SAMPLES / name
    status = int((folder / "status").read_text())
    headers = json.loads((folder / "headers.json").read_text())
    return response(status, (folder / "body").read_bytes(), **headers)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://snip.example.org", BASE),
        ("https://snip.example.org/", BASE),
        ("https://snip.example.org///", BASE),
        ("http://127.0.0.1:4000/prefix/", "http://127.0.0.1:4000/prefix"),
    ],
)
def test_base_url_loses_trailing_slashes(url: str, expected: str) -> None:
    """Paths get exactly one slash after the deployment URL."""
    base = check_base_url(url)
    assert base == expected
    where = Endpoint(base, HEADERS)
    assert sansio.build_list_groups(where).url == expected + "/api/account/groups"


@pytest.mark.parametrize(
    "url", ["snip.example.org", "ftp://x", "https://x/?a=1", "https://x\r\n", ""]
)
def test_bad_base_url_is_configuration_error(url: str) -> None:
    """Relative, non-http, query-carrying or control-char URLs are refused."""
    with pytest.raises(ag.ConfigurationError):
        check_base_url(url)


@pytest.mark.parametrize("token", ["", "abc\r\nX: y", "abc\n", "a\x00b"])
def test_bad_token_is_configuration_error(token: str) -> None:
    """CR/LF and control characters never reach a header; the message hides them."""
    with pytest.raises(ag.ConfigurationError) as info:
        sansio.auth_headers(Secret(token))
    assert token.strip() == "" or token.split("\r")[0] not in str(info.value)


def test_auth_header_is_bearer() -> None:
    """Snip wants ``Authorization: Bearer <token>``; the repr hides it."""
    assert {"Authorization": f"Bearer {TOKEN}"} == HEADERS
    assert WHERE.headers == HEADERS
    assert TOKEN not in repr(WHERE)
    assert TOKEN not in repr(sansio.build_list_groups(WHERE))


@pytest.mark.parametrize(
    ("build", "method", "path", "body", "content_type", "idempotent"),
    [
        (lambda: sansio.build_list_groups(WHERE), "GET", "", None, False, True),
        (lambda: sansio.build_get_group(WHERE, 9), "GET", "/9", None, False, True),
        (
            lambda: sansio.build_create_group(WHERE, "Eng"),
            "POST", "", {"name": "Eng"}, True, False,
        ),
        (
            lambda: sansio.build_patch_group(WHERE, 9, name="Eng2", description="d"),
            "PATCH", "/9", {"name": "Eng2", "description": "d"}, True, True,
        ),
        (
            lambda: sansio.build_patch_group(WHERE, 9, description=None),
            "PATCH", "/9", {"description": None}, True, True,
        ),
        (
            lambda: sansio.build_patch_group(
                WHERE, 9, name="Eng2", description="d",
                update_member_roles={2: "moderator"}, remove_members=[3],
                transfer_ownership=4,
            ),
            "PATCH", "/9",
            {"name": "Eng2", "description": "d",
             "update_member_roles": [{"user_id": 2, "role": "moderator"}],
             "remove_members": [3], "transfer_ownership": 4},
            True, False,
        ),
        (
            lambda: sansio.build_patch_group(WHERE, 9, remove_members=[1, 2]),
            "PATCH", "/9", {"remove_members": [1, 2]}, True, False,
        ),
        (lambda: sansio.build_delete_group(WHERE, 9), "DELETE", "/9", None, False, True),
        (lambda: sansio.build_leave_group(WHERE, 9), "POST", "/9/leave", None, False, False),
    ],
    ids=["list", "get", "create", "rename", "clear-description", "all-five", "remove", "delete", "leave"],
)  # fmt: skip
def test_requests(
    build: Any, method: str, path: str, body: Any, content_type: bool, idempotent: bool
) -> None:
    """Each builder gives the method, path, JSON body and headers Snip expects."""
    request: Request = build()
    assert request.method == method
    assert request.url == f"{BASE}/api/account/groups{path}"
    assert (json.loads(request.body) if request.body else None) == body
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert ("Content-Type" in request.headers) is content_type
    assert request.replayable is idempotent


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: sansio.build_create_group(WHERE, "ab"), ag.InvalidInputError),
        (lambda: sansio.build_create_group(WHERE, "x" * 256), ag.InvalidInputError),
        (lambda: sansio.build_patch_group(WHERE, 1), ag.InvalidInputError),
        (lambda: sansio.build_patch_group(WHERE, 1, name="ab"), ag.InvalidInputError),
        (
            lambda: sansio.build_patch_group(WHERE, 1, update_member_roles={2: "owner"}),
            ag.InvalidInputError,
        ),
        (
            lambda: sansio.build_patch_group(WHERE, 1, remove_members=list(range(501))),
            ag.InvalidInputError,
        ),
        (lambda: sansio.int_id("abc"), ag.NotFoundError),
        (lambda: sansio.int_id("-1"), ag.NotFoundError),
        (lambda: sansio.int_id("\uff11\uff12"), ag.NotFoundError),
    ],
    ids=["short", "long", "empty-patch", "short-rename", "owner-role", "501", "abc", "negative", "fullwidth"],
)  # fmt: skip
def test_refused_before_sending(call: Any, error: type[Exception]) -> None:
    """Snip's own limits are enforced before any request exists."""
    with pytest.raises(error):
        call()


@pytest.mark.parametrize("name", ["abc", "x" * 255, "Test Group"])
def test_names_within_limits(name: str) -> None:
    """3 and 255 characters are both accepted."""
    sansio.check_group_name(name)


def test_int_id() -> None:
    """Integer ids, as ints or decimal strings, become Snip's integers."""
    assert sansio.int_id("42") == 42
    assert sansio.int_id(7) == 7
    with pytest.raises(ag.NotFoundError) as info:
        sansio.int_id("x", "user id")
    assert info.value.backend == "snip"
    assert "no user id 'x': snip ids are integers" in str(info.value)


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Tue, 14 Oct 2025 13:08:20 GMT", "2025-10-14T13:08:20+00:00"),
        ("Tue, 14 Oct 2025 13:08:20", None),  # naive: no reference
        ("yesterday", None),
        ("", None),
    ],
)
def test_server_time(date: str, expected: str | None) -> None:
    """The reconciliation reference is the server's tz-aware Date header, if valid."""
    moment = sansio.server_time(response(200, "[]", Date=date))
    assert (moment.isoformat() if moment else None) == expected


@pytest.mark.parametrize(
    ("case", "error", "detail"),
    [
        ("bad_name", ag.RejectedRequestError, "Invalid group name"),
        ("book_token", ag.AuthenticationError, "account token is required"),
        ("forbidden", ag.PermissionDeniedError, "Only the owner"),
        ("not_found", ag.NotFoundError, "Group not found"),
        ("rate_limited_proxy", ag.RateLimitedError, ""),
        ("bad_gateway_html", ag.ServerError, "502 Bad Gateway"),
    ],
)
def test_error_samples(case: str, error: type[ag.APIError], detail: str) -> None:
    """Recorded error bodies map to the typed errors with the server's message."""
    with pytest.raises(error) as info:
        sansio.decipher(sample(case))
    assert detail in info.value.detail
    assert info.value.backend == "snip"
    assert TOKEN not in str(info.value)


def test_rejected_details_become_field_errors() -> None:
    """``details`` of a 400 is kept as ``.errors``."""
    with pytest.raises(ag.RejectedRequestError) as info:
        sansio.decipher(sample("bad_name"))
    assert info.value.errors == {"name": ("must be a string of 3 to 255 characters",)}


def test_429_keeps_retry_after() -> None:
    """A proxy's 429 is classified by status and keeps Retry-After."""
    with pytest.raises(ag.RateLimitedError) as info:
        sansio.decipher(sample("rate_limited_proxy"))
    assert info.value.retry_after == 3


@pytest.mark.parametrize(
    ("status", "headers", "body", "error"),
    [
        (401, {}, "", ag.AuthenticationError),
        (403, {"Content-Type": "text/plain"}, "nope", ag.PermissionDeniedError),
        (404, {}, "<html>Not Found</html>", ag.NotFoundError),
        (409, {}, '{"message": "taken"}', ag.ConflictError),
        (422, {}, '{"message": "bad", "details": ["x", "y"]}', ag.RejectedRequestError),
        (429, {}, '{"message": "slow down"}', ag.RateLimitedError),
        (500, {}, '{"message": "boom", "details": null}', ag.ServerError),
        (503, {"Content-Type": "text/html"}, "<title>503</title>", ag.ServerError),
        (504, {}, "", ag.ServerError),
        (302, {"Location": "https://elsewhere.example/login"}, "", ag.APIError),
        (418, {}, "teapot", ag.APIError),
    ],
)
def test_status_table(
    status: int, headers: dict[str, str], body: str, error: type[ag.APIError]
) -> None:
    """Any error status maps by the shared table, whatever the body."""
    with pytest.raises(error) as info:
        sansio.decipher(response(status, body, **headers))
    assert type(info.value) is error
    assert info.value.status == status


def test_echoed_token_is_scrubbed() -> None:
    """A server that echoes the Authorization header leaks nothing."""
    body = json.dumps({"message": f"bad header Bearer {TOKEN}", "details": None})
    with pytest.raises(ag.AuthenticationError) as info:
        sansio.decipher(response(401, body))
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, "[]", []),
        (201, '{"id": 1}', {"id": 1}),
        (204, "", None),
    ],
)
def test_success(status: int, body: str, expected: Any) -> None:
    """2xx bodies are JSON; ``Body.NONE`` ignores them, ``Body.OPTIONAL`` allows none."""
    if body:
        assert sansio.decipher(response(status, body)) == expected
    assert sansio.decipher(response(status, body), Body.NONE) is None
    assert sansio.decipher(response(status, body), Body.OPTIONAL) == expected


@pytest.mark.parametrize("body", ["", "<html>oops</html>", '{"a": ', "\xff"])
def test_success_with_bad_body_is_decode_error(body: str) -> None:
    """A 2xx whose body is not JSON is a DecodeError."""
    with pytest.raises(ag.DecodeError):
        sansio.decipher(response(200, body))


def test_json_without_content_type_is_still_read() -> None:
    """Unlike snip-python, a missing Content-Type does not lose the body."""
    assert sansio.decipher(sample("missing_content_type"))["id"] == 9
