"""NeuroIO's sans-I/O layer: requests built, and (status, headers, body) deciphered."""

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, strategies as st

import asyncgroups as ag
from asyncgroups.backends._kit import Body, Endpoint
from asyncgroups.backends.neuroio import sansio
from asyncgroups.transport.base import Request, Response
from asyncgroups.validation import check_base_url

ORIGIN = Endpoint("https://api.neuroio.com", {"Authorization": "Token s3cr3t-key"})
SAMPLES = Path(__file__).parent.parent / "samples" / "neuroio"


def _response(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> Response:
    request = sansio.build_get_group(ORIGIN, "1")
    return Response(status=status, headers=headers or {}, body=body, request=request)


def _sample(name: str) -> Response:
    case = SAMPLES / name
    return _response(
        int((case / "status").read_text()),
        (case / "body").read_bytes(),
        json.loads((case / "headers.json").read_text()),
    )


def _json(request: Request) -> Any:
    return json.loads(request.body)


def test_requests_have_trailing_slashes_and_token() -> None:
    """Every path ends in a slash and carries ``Authorization: Token``."""
    built = [
        sansio.build_create_group(ORIGIN, "x"),
        sansio.build_get_group(ORIGIN, "5"),
        sansio.build_update_group(ORIGIN, "5", "y"),
        sansio.build_delete_group(ORIGIN, "5"),
        sansio.build_list_groups(ORIGIN, limit=20, offset=0),
        sansio.build_list_members(ORIGIN, "5", limit=20, offset=0),
        sansio.build_add_members(ORIGIN, ["5"], ["p"]),
        sansio.build_remove_members(ORIGIN, ["5"], ["p"]),
        sansio.build_delete_person(ORIGIN, "p"),
    ]
    for request in built:
        assert request.url.split("?")[0].endswith("/")
        assert request.headers["Authorization"] == "Token s3cr3t-key"
        assert "s3cr3t" not in repr(request)


@pytest.mark.parametrize(
    ("request_", "method", "url", "body"),
    [
        (
            sansio.build_create_group(ORIGIN, "Eng"),
            "POST",
            "https://api.neuroio.com/v1/groups/persons/",
            {"name": "Eng"},
        ),
        (
            sansio.build_update_group(ORIGIN, "7", "New"),
            "PATCH",
            "https://api.neuroio.com/v1/groups/persons/7/",
            {"name": "New"},
        ),
        (
            sansio.build_add_members(ORIGIN, ["1", "2"], ["a", "b"]),
            "POST",
            "https://api.neuroio.com/v1/groups/persons/pids/",
            {"pids": ["a", "b"], "groups_ids": [1, 2]},
        ),
        (
            sansio.build_remove_members(ORIGIN, ["3"], ["a"]),
            "DELETE",
            "https://api.neuroio.com/v1/groups/persons/pids/",
            {"pids": ["a"], "groups_ids": [3]},
        ),
    ],
)
def test_json_bodies(request_: Request, method: str, url: str, body: Any) -> None:
    """JSON requests go to the documented path with the documented body."""
    assert (request_.method, request_.url) == (method, url)
    assert _json(request_) == body
    assert request_.headers["Content-Type"] == "application/json"


def test_membership_requests_are_replayable() -> None:
    """Membership changes have set semantics, so they are marked idempotent."""
    assert sansio.build_add_members(ORIGIN, ["1"], ["a"]).replayable
    assert sansio.build_remove_members(ORIGIN, ["1"], ["a"]).replayable
    assert not sansio.build_create_group(ORIGIN, "x").replayable


def test_list_query_order_and_commas() -> None:
    """Filters are comma-joined, in the real client's order, limit/offset last."""
    request = sansio.build_list_groups(
        ORIGIN,
        limit=100,
        offset=200,
        q="En",
        pids_include=["p1", "p2"],
        pids_exclude=["p3"],
        groups_ids=[1, 2],
        spaces_ids=[4],
    )
    assert request.url == (
        "https://api.neuroio.com/v1/groups/persons/?q=En&pids_include=p1%2Cp2"
        "&pids_exclude=p3&groups_ids=1%2C2&spaces_ids=4&limit=100&offset=200"
    )
    members = sansio.build_list_members(
        ORIGIN, "9", limit=5, offset=10, pids=["a", "b"]
    )
    assert members.url.endswith(
        "/v1/groups/persons/9/pids/?pids=a%2Cb&limit=5&offset=10"
    )


_QUERY_TEXT = st.text(alphabet="aZ09 é&=/?#%+-_.~\u00b2", max_size=4)


@given(st.lists(st.tuples(_QUERY_TEXT, _QUERY_TEXT), min_size=1, max_size=4))
def test_a_query_reads_as_urlencode_writes_it(pairs: list[tuple[str, str]]) -> None:
    """Queries of letters and digits skip urlencode; every query is the same."""
    expected = "https://api.neuroio.com/p?" + urlencode(pairs, quote_via=quote)
    assert ORIGIN.url("/p", pairs) == expected


@pytest.mark.parametrize("group_id", ["..", ".", "", "a/b?c", "²", "-1", "1.0"])
def test_group_ids_must_be_integers(group_id: str) -> None:
    """A non-integer id (".." would hit the collection) is NotFoundError, unsent."""
    builders = [
        lambda: sansio.build_get_group(ORIGIN, group_id),
        lambda: sansio.build_update_group(ORIGIN, group_id, "x"),
        lambda: sansio.build_delete_group(ORIGIN, group_id),
        lambda: sansio.build_list_members(ORIGIN, group_id, limit=5, offset=0),
    ]
    for build in builders:
        with pytest.raises(ag.NotFoundError):
            build()


def test_group_id_is_the_integer() -> None:
    """An integer id, as a string or an int, is the path segment."""
    assert sansio.build_get_group(ORIGIN, " 7 ").url.endswith("/persons/7/")
    assert sansio.build_delete_group(ORIGIN, 7).url.endswith("/persons/7/")


@pytest.mark.parametrize("pid", [".", "..", "a/b", "/", "a?b", "a#b", ""])
def test_person_pid_must_be_one_segment(pid: str) -> None:
    """A pid that is not one plain path segment is refused before sending."""
    with pytest.raises(ag.InvalidInputError):
        sansio.build_delete_person(ORIGIN, pid)


def test_person_pid_is_escaped() -> None:
    """Other pids are escaped into one segment."""
    url = sansio.build_delete_person(ORIGIN, "a b%2e").url
    assert url == "https://api.neuroio.com/v1/persons/a%20b%252e/"


def test_hundred_pid_rule() -> None:
    """100 pids fit in a request; 101, none, or a bad group id do not."""
    pids = [f"p{i}" for i in range(101)]
    assert (
        len(_json(sansio.build_add_members(ORIGIN, ["1"], pids[:100]))["pids"]) == 100
    )
    with pytest.raises(ag.InvalidInputError):
        sansio.build_add_members(ORIGIN, ["1"], pids)
    with pytest.raises(ag.InvalidInputError):
        sansio.build_remove_members(ORIGIN, ["1"], [])
    with pytest.raises(ag.InvalidInputError):
        sansio.build_add_members(ORIGIN, [], ["a"])
    with pytest.raises(ag.InvalidInputError):
        sansio.build_add_members(ORIGIN, ["1"], ["x" * 65])
    with pytest.raises(ag.NotFoundError):
        sansio.build_add_members(ORIGIN, ["Eng"], ["a"])
    assert [len(c) for c in sansio.chunk_pids(pids)] == [100, 1]
    assert [len(c) for c in sansio.chunk_pids(pids, 1000)] == [100, 1]


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://api.neuroio.com",
        "api.neuroio.com",
        "https://u:p@h",
        "https://h/?a=1",
        "https://h\r\nX: y",
    ],
)
def test_bad_base_urls(url: str) -> None:
    """Unusable base URLs are ConfigurationErrors."""
    with pytest.raises(ag.ConfigurationError):
        check_base_url(url)
    with pytest.raises(ag.ConfigurationError):
        ag.backends.NeuroIO("t", base_url=url)


def test_good_base_url_loses_its_slash() -> None:
    """A trailing slash is dropped so paths never double it."""
    assert check_base_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    backend = ag.backends.NeuroIO("t", base_url="http://127.0.0.1:8080/")
    assert backend.base_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("group_created", {"id": 1, "name": "test"}),
        ("group", {"id": 7, "name": "Engineering", "space_id": 4}),
        (
            "group_persons",
            {
                "count": 1,
                "results": [
                    {"pid": "abcdef01-abcd-abcd01-abcdef01", "pid_source": "default"}
                ],
            },
        ),
    ],
)
def test_success_samples(sample: str, expected: Any) -> None:
    """Recorded success bodies decode to their JSON."""
    assert sansio.decipher(_sample(sample)) == expected


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (204, b""),
        (200, b""),
        (201, b""),
        (200, b'{"ok": true}'),
        (200, b"OK"),
        (200, b"<html>oops</html>"),
    ],
)
def test_bodiless_successes_are_accepted(status: int, body: bytes) -> None:
    """Deletes and membership changes accept 200/201/204, empty or any body.

    ``Body.NONE`` ignores the body (the kit's one convention): ``None``, never a
    ``DecodeError``.
    """
    assert sansio.decipher(_response(status, body), Body.NONE) is None


def test_ignored_bodies_still_raise_on_errors() -> None:
    """``Body.NONE`` only concerns success bodies: an error status still raises."""
    with pytest.raises(ag.NotFoundError):
        sansio.decipher(_sample("not_found"), Body.NONE)
    with pytest.raises(ag.RejectedRequestError):
        sansio.decipher(_sample("validation_error"), Body.NONE)


@pytest.mark.parametrize(
    ("status", "headers", "body", "error", "detail"),
    [
        (
            400,
            {},
            b'{"error_codes":[400],"message":"Validation error.","fields":[{"name":"pids","message":"Too many.","error_code":400}]}',
            ag.RejectedRequestError,
            "Validation error. (codes 400) pids: Too many.",
        ),
        (
            401,
            {},
            b'{"error_codes":[401],"message":"Invalid token.","fields":[]}',
            ag.AuthenticationError,
            "Invalid token. (codes 401)",
        ),
        (
            403,
            {},
            b'{"error_codes":[403],"message":"Forbidden.","fields":[]}',
            ag.PermissionDeniedError,
            "Forbidden. (codes 403)",
        ),
        (
            404,
            {},
            b'{"error_codes":[404],"message":"Not found.","fields":[]}',
            ag.NotFoundError,
            "Not found. (codes 404)",
        ),
        (404, {}, b"", ag.NotFoundError, ""),
        (
            405,
            {},
            b'{"detail":"Method \\"PUT\\" not allowed."}',
            ag.APIError,
            'Method "PUT" not allowed.',
        ),
        (409, {}, b"[1, 2]", ag.ConflictError, "[1, 2]"),
        (
            429,
            {"Retry-After": "3"},
            b'{"detail":"Request was throttled."}',
            ag.RateLimitedError,
            '{"detail":"Request was throttled."}',
        ),
        (
            429,
            {},
            b'{"error_codes":[429],"message":"Slow down.","fields":[]}',
            ag.RateLimitedError,
            None,
        ),
        (500, {}, b"Internal Server Error", ag.ServerError, "Internal Server Error"),
        (
            502,
            {"Content-Type": "text/html"},
            b"<html><title>502 Bad Gateway</title></html>",
            ag.ServerError,
            "HTML page: 502 Bad Gateway",
        ),
        (
            503,
            {},
            b'{"error_codes":[503],"message":"x","fields":[]}',
            ag.ServerError,
            None,
        ),
        (
            302,
            {"Location": "https://elsewhere.example/"},
            b"",
            ag.APIError,
            "redirect to https://elsewhere.example/ not followed",
        ),
    ],
)
def test_error_table(
    status: int,
    headers: dict[str, str],
    body: bytes,
    error: type[ag.APIError],
    detail: str | None,
) -> None:
    """Each error status raises its class; NeuroIO's envelope fills the detail."""
    with pytest.raises(error) as info:
        sansio.decipher(_response(status, body, headers))
    assert type(info.value) is error
    assert info.value.status == status
    assert info.value.backend == "neuroio"
    if detail is not None:
        assert info.value.detail == detail
    assert "s3cr3t" not in str(info.value)


def test_field_errors_are_kept() -> None:
    """Field messages land in ``RejectedRequestError.errors``, per field."""
    with pytest.raises(ag.RejectedRequestError) as info:
        sansio.decipher(_sample("validation_error"))
    assert info.value.errors == {
        "pids": ("Ensure this field has no more than 100 elements.",)
    }


def test_retry_after_is_read_from_a_proxy_429() -> None:
    """A 429 with a foreign body still carries its Retry-After."""
    with pytest.raises(ag.RateLimitedError) as info:
        sansio.decipher(_sample("proxy_429"))
    assert info.value.retry_after == 3


@pytest.mark.parametrize(
    ("sample", "error"),
    [
        ("login_failed", ag.RejectedRequestError),
        ("not_found", ag.NotFoundError),
        ("unauthorized", ag.AuthenticationError),
        ("html_502", ag.ServerError),
    ],
)
def test_error_samples(sample: str, error: type[Exception]) -> None:
    """Recorded error responses raise their class."""
    with pytest.raises(error):
        sansio.decipher(_sample(sample))


@pytest.mark.parametrize("body", [b"", b"<html>oops</html>", b'{"id": 1', b"\xff\xfe"])
def test_bad_success_bodies_are_decode_errors(body: bytes) -> None:
    """A promised body that is empty or not JSON is a DecodeError."""
    with pytest.raises(ag.DecodeError):
        sansio.decipher(_response(200, body))


def test_echoed_token_is_scrubbed() -> None:
    """A server echoing our Authorization header never leaks the token."""
    body = b'{"error_codes":[400],"message":"bad header Token s3cr3t-key","fields":[{"name":"auth","message":"s3cr3t-key","error_code":400}]}'
    with pytest.raises(ag.RejectedRequestError) as info:
        sansio.decipher(_response(400, body))
    assert "s3cr3t" not in str(info.value)
    assert "s3cr3t" not in repr(info.value.errors)
