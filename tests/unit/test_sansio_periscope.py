"""Periscope's sans-I/O layer: request tables and recorded answers, no sockets."""

import json
import pathlib
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.backends._kit import Body
from asyncgroups.backends.periscope import sansio, wire
from asyncgroups.backends.periscope.auth import partner_auth
from asyncgroups.backends.periscope.memberships import Change, apply_changes
from asyncgroups.transport.base import Request, Response

SAMPLES = pathlib.Path(__file__).parent.parent / "samples" / "periscope"
KEY = "0f8fad5b-d9cb-469f-a165-70867728950e"
ENDPOINT = sansio.Target.at("https://api.example.com", f"acme:{KEY}", test_mode=False)
TESTING = sansio.Target.at("https://api.example.com", f"acme:{KEY}", test_mode=True)
GET = Request(
    "GET",
    "https://api.example.com/api/v1/users",
    {"HTTP-X-PARTNER-AUTH": f"acme:{KEY}"},
)


def sample(case: str, request: Request = GET) -> Response:
    folder = SAMPLES / case
    return Response(
        status=int((folder / "status").read_text()),
        headers=json.loads((folder / "headers.json").read_text()),
        body=(folder / "body").read_bytes(),
        request=request,
    )


def answer(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status, headers or {"Content-Type": "application/json"}, raw, GET)


# -- requests -----------------------------------------------------------------------

BUILDS = [
    (sansio.build_list_users(ENDPOINT), "GET", "/api/v1/users", None),
    (
        sansio.build_list_users(ENDPOINT, "b@x.com"),
        "GET",
        "/api/v1/users?next_page_start=b%40x.com",
        None,
    ),
    (sansio.build_get_user(ENDPOINT, "a@x.com"), "GET", "/api/v1/users", "a@x.com"),
    (
        sansio.build_create_user(ENDPOINT, {"email": "a@x.com"}),
        "POST",
        "/api/v1/users?test_mode=false",
        None,
    ),
    (
        sansio.build_create_user(TESTING, {"email": "a@x.com"}),
        "POST",
        "/api/v1/users?test_mode=true",
        None,
    ),
    (
        sansio.build_update_user(ENDPOINT, "a@x.com", {"groups": []}),
        "PUT",
        "/api/v1/users?test_mode=false",
        "a@x.com",
    ),
    (
        sansio.build_delete_user(TESTING, "a@x.com"),
        "DELETE",
        "/api/v1/users?test_mode=true",
        "a@x.com",
    ),
    (sansio.build_list_groups(ENDPOINT), "GET", "/api/v1/groups", None),
    (
        sansio.build_get_group(ENDPOINT, "Sales Team"),
        "GET",
        "/api/v1/groups/Sales%20Team",
        None,
    ),
    (
        sansio.build_get_group(ENDPOINT, "Ventes é"),
        "GET",
        "/api/v1/groups/Ventes%20%C3%A9",
        None,
    ),
    (
        sansio.build_create_group(ENDPOINT, {"name": "N"}),
        "POST",
        "/api/v1/groups?test_mode=false",
        None,
    ),
    (
        sansio.build_update_group(TESTING, "a b", {"name": "c"}),
        "PUT",
        "/api/v1/groups/a%20b?test_mode=true",
        None,
    ),
    (
        sansio.build_delete_group(ENDPOINT, "x+y&z"),
        "DELETE",
        "/api/v1/groups/x%2By%26z?test_mode=false",
        None,
    ),
]


@pytest.mark.parametrize(("request_", "method", "path", "email"), BUILDS)
def test_requests_are_built_as_the_wire_spec_says(
    request_: Request, method: str, path: str, email: str | None
) -> None:
    """Method, path, query, auth and e-mail headers of every request."""
    assert request_.method == method
    assert request_.url == "https://api.example.com" + path
    assert request_.headers["HTTP-X-PARTNER-AUTH"] == f"acme:{KEY}"
    assert request_.headers["Content-Type"] == "application/json"
    assert request_.headers.get("HTTP-X-EMAIL") == email
    assert KEY not in repr(request_)


def test_bodies_are_json() -> None:
    """Payloads go out as compact JSON."""
    request = sansio.build_update_user(ENDPOINT, "a@x.com", {"groups": ["A", "B"]})
    assert json.loads(request.body) == {"groups": ["A", "B"]}
    assert sansio.build_list_users(ENDPOINT).body == b""


@pytest.mark.parametrize("name", ["a/b", "a?b", "a#b", "a\r\nb", "a\tb", "", " ", ".."])
def test_bad_group_names_never_become_requests(name: str) -> None:
    """Path characters and control characters in names raise InvalidInputError."""
    with pytest.raises(ag.InvalidInputError):
        sansio.build_get_group(ENDPOINT, name)
    with pytest.raises(ag.InvalidInputError):
        sansio.build_create_group(ENDPOINT, {"name": name})
    with pytest.raises(ag.InvalidInputError):
        sansio.build_update_group(ENDPOINT, "ok", {"name": name})


@pytest.mark.parametrize("email", ["a@x.com\r\nX: 1", "a\n@x.com", "nope", ""])
def test_bad_emails_never_become_headers(email: str) -> None:
    """CR/LF or a non-address in HTTP-X-EMAIL raises InvalidInputError."""
    with pytest.raises(ag.InvalidInputError):
        sansio.build_get_user(ENDPOINT, email)


def test_partner_auth_refuses_crlf_without_showing_the_key() -> None:
    """The auth value is site:key; CR/LF is a ConfigurationError naming no secret."""
    assert partner_auth("acme", ag.Secret("k:with:colons")) == "acme:k:with:colons"
    assert KEY not in repr(ENDPOINT) + repr(TESTING)
    with pytest.raises(ag.ConfigurationError) as info:
        partner_auth("acme", ag.Secret("bad\r\nkey"))
    assert "bad" not in str(info.value)


# -- responses ----------------------------------------------------------------------

ERRORS = [
    ("unauthorized", ag.AuthenticationError, "invalid API key"),
    ("unknown_site", ag.PermissionDeniedError, "unknown site"),
    ("not_found", ag.NotFoundError, "user not found"),
    ("conflict", ag.ConflictError, "already exists"),
    ("rejected", ag.RejectedRequestError, "unknown group"),
    ("invalid_email", ag.RejectedRequestError, "valid e-mail"),
    ("builtin", ag.PermissionDeniedError, "built-in"),
    ("html_502", ag.ServerError, "502 Bad Gateway"),
    ("proxy_429", ag.RateLimitedError, "slow down"),
]


@pytest.mark.parametrize(("case", "error", "text"), ERRORS)
def test_error_answers_map_to_typed_errors(
    case: str, error: type[ag.APIError], text: str
) -> None:
    """Status decides the class; the server's message is kept; the key is not."""
    with pytest.raises(error) as info:
        sansio.decipher(sample(case))
    assert text in str(info.value)
    assert KEY not in str(info.value) + repr(info.value)
    assert info.value.backend == "periscope"


def test_429_keeps_retry_after() -> None:
    """A proxy's 429 with Retry-After is classified by status and header only."""
    with pytest.raises(ag.RateLimitedError) as info:
        sansio.decipher(sample("proxy_429"))
    assert info.value.retry_after == 2


def test_server_echoing_the_key_is_scrubbed() -> None:
    """A body that echoes the auth header never carries the key into the message."""
    with pytest.raises(ag.AuthenticationError) as info:
        sansio.decipher(answer(401, {"error": f"bad auth acme:{KEY}"}))
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (200, b"", None),
        (200, b"{not json", None),
        (200, b"<html><title>Login</title></html>", {"Content-Type": "text/html"}),
    ],
)
def test_bad_success_bodies_are_decode_errors(
    status: int, body: bytes, headers: dict[str, str] | None
) -> None:
    """A 2xx that is not JSON raises DecodeError."""
    with pytest.raises(ag.DecodeError):
        sansio.decipher(answer(status, body, headers))


def test_empty_success_is_accepted_where_allowed() -> None:
    """DELETE answers may be 204 with no body."""
    assert sansio.decipher(sample("group_deleted"), Body.OPTIONAL) is None
    assert sansio.decipher(sample("user_deleted"), Body.OPTIONAL) == {}
    with pytest.raises(ag.DecodeError):
        sansio.decipher(sample("group_deleted"))


@pytest.mark.parametrize("case", ["user", "user_bare"])
def test_user_wrapped_or_bare(case: str) -> None:
    """``{"user": ...}`` and a bare user decode alike; groups land in extra."""
    user = wire.structure_user(sansio.unwrap(sansio.decipher(sample(case)), "user"))
    assert user == ag.User(id="a@x.com", email="a@x.com", first_name="A", last_name="B")
    assert user.extra["groups"] == ("Everyone", "Sales")
    assert user.extra["invited_by_email"] == "admin@x.com"


@pytest.mark.parametrize("case", ["group", "group_bare"])
def test_group_wrapped_or_bare(case: str) -> None:
    """A group's id is its name; access is kept in extra."""
    group = wire.structure_group(sansio.unwrap(sansio.decipher(sample(case)), "group"))
    assert (group.id, group.name, group.description) == ("Sales", "Sales", None)
    assert group.extra["access"] == "View"


@pytest.mark.parametrize(
    ("case", "count", "cursor"),
    [("users", 2, None), ("users_page", 1, "c@x.com"), ("users_last_page", 1, None)],
)
def test_user_pages(case: str, count: int, cursor: str | None) -> None:
    """One page without a cursor, or a ``next_page_start`` to follow."""
    items, nxt = sansio.users_page(sansio.decipher(sample(case)))
    assert (len(items), nxt) == (count, cursor)


def test_groups_list() -> None:
    """The group list is one page."""
    items, nxt = sansio.groups_page(sansio.decipher(sample("groups")))
    assert [g["name"] for g in items] == ["Everyone", "Administrators", "Sales"]
    assert nxt is None


@pytest.mark.parametrize(
    "data",
    [[1, 2], {"users": "x"}, {"nope": []}, "text"],
)
def test_malformed_lists_are_decode_errors(data: Any) -> None:
    """A list answer without a ``users`` list raises DecodeError."""
    if isinstance(data, list):
        items, _ = sansio.users_page(data)
        with pytest.raises(ag.DecodeError):
            wire.structure_user(items[0])
        return
    with pytest.raises(ag.DecodeError):
        sansio.users_page(data)


@pytest.mark.parametrize(
    "data",
    [
        {"first_name": "no email"},
        {"email": 5},
        {"user": "x"},
        {"email": "a@x.com", "groups": "Sales"},
    ],
)
def test_malformed_users_are_decode_errors(data: Any) -> None:
    """Users without a string e-mail, or with bad groups, raise DecodeError."""
    with pytest.raises(ag.DecodeError):
        wire.structure_user(sansio.unwrap(data, "user"))


def test_group_payload_refuses_a_description() -> None:
    """Periscope groups have no description."""
    with pytest.raises(ag.InvalidInputError):
        wire.group_payload(name="A", description="d")
    assert wire.group_payload(name="A", description=None) == {"name": "A"}


@pytest.mark.parametrize(
    ("current", "changes", "expected"),
    [
        (["Everyone", "A"], [Change(add=("B",))], ["Everyone", "A", "B"]),
        (["Everyone", "A"], [Change(add=("a",))], ["Everyone", "A"]),
        (["Everyone", "A", "B"], [Change(remove=("a",))], ["Everyone", "B"]),
        (["A"], [Change(add=("B",)), Change(remove=("B",))], ["A"]),
        (["A"], [Change(remove=("B",)), Change(add=("B", "C"))], ["A", "B", "C"]),
    ],
)
def test_changes_apply_in_order(
    current: list[str], changes: list[Change], expected: list[str]
) -> None:
    """Queued changes apply in order, names compared case-insensitively."""
    assert apply_changes(current, changes) == expected


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: wire.user_payload(email="a@x.com", extra={"colour": "red"}), "colour"),
        (
            lambda: wire.user_payload(
                extra={"invited_by_email": "b@x.com"}, known=wire.USER_UPDATE_FIELDS
            ),
            "invited_by_email",
        ),
        (lambda: wire.group_payload(name="A", extra={"owner": "x"}), "owner"),
        (
            lambda: wire.group_payload(
                extra={"created_by_email": "b@x.com"}, known=wire.GROUP_UPDATE_FIELDS
            ),
            "created_by_email",
        ),
    ],
)
def test_unknown_fields_are_refused_by_name(build: Any, key: str) -> None:
    """A key Periscope does not take for that call is an InvalidInputError naming it."""
    with pytest.raises(ag.InvalidInputError, match=repr(key)):
        build()


def test_periscope_fields_go_to_the_wire() -> None:
    """``groups`` becomes a list of names; ``None`` leaves a field out."""
    payload = wire.user_payload(
        email="a@x.com",
        first_name=None,
        extra={"groups": ("A", "B"), "invited_by_email": None},
    )
    assert payload == {"email": "a@x.com", "groups": ["A", "B"]}
    for groups in ("Sales", 5, ["A", 1]):
        with pytest.raises(ag.InvalidInputError):
            wire.user_payload(email="a@x.com", extra={"groups": groups})
    assert wire.group_payload(
        name="N", extra={"access": "Edit"}, known=wire.GROUP_UPDATE_FIELDS
    ) == {"name": "N", "access": "Edit"}
    with pytest.raises(ag.InvalidInputError):
        wire.group_payload(name="N", extra={"access": 3})
