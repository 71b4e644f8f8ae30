"""SCIM sans-I/O: request building and (status, headers, body) -> result tables."""

import json

import pytest

from asyncgroups import errors
from asyncgroups.config import Secret
from asyncgroups.transport.base import Request, Response
from asyncgroups_scim import SCIM, sansio, wire

TOKEN = "scim-unit-token-0123456789"
ORIGIN = sansio.endpoint("https://idp.example.com/scim/v2", Secret(TOKEN))


def _response(status: int, body: object = b"", headers: dict[str, str] | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = sansio.build_get(ORIGIN, "Groups", "g1")
    return Response(status, headers or {}, raw, request)


def _scim_error(status: int, scim_type: str | None = None, detail: str = "nope"):
    body = {"schemas": [sansio.SCHEMA_ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


@pytest.mark.parametrize(
    ("status", "body", "expected", "text"),
    [
        (
            400,
            _scim_error(400, "invalidFilter", "bad filter"),
            errors.RejectedRequestError,
            "invalidFilter: bad filter",
        ),
        (
            400,
            _scim_error(400, "invalidValue"),
            errors.RejectedRequestError,
            "invalidValue: nope",
        ),
        (400, _scim_error(400, "noTarget"), errors.RejectedRequestError, "noTarget"),
        (
            400,
            _scim_error(400, "mutability"),
            errors.RejectedRequestError,
            "mutability",
        ),
        (401, _scim_error(401), errors.AuthenticationError, "nope"),
        (403, _scim_error(403), errors.PermissionDeniedError, "nope"),
        (
            404,
            _scim_error(404, detail="Group 'g1' not found"),
            errors.NotFoundError,
            "Group 'g1' not found",
        ),
        (409, _scim_error(409, "uniqueness"), errors.ConflictError, "uniqueness"),
        (412, _scim_error(412), errors.ConflictError, "nope"),
        (413, _scim_error(413), errors.APIError, "nope"),
        (429, _scim_error(429), errors.RateLimitedError, "nope"),
        (500, _scim_error(500), errors.ServerError, "nope"),
        (
            502,
            b"<html><title>502 Bad Gateway</title></html>",
            errors.ServerError,
            "502 Bad Gateway",
        ),
        (400, b"not json", errors.RejectedRequestError, "not json"),
    ],
)
def test_error_bodies_map_onto_typed_errors(status, body, expected, text):
    """A SCIM error body picks the class by status and carries scimType and detail."""
    with pytest.raises(expected) as info:
        sansio.decipher(_response(status, body))
    assert type(info.value) is expected
    assert text in str(info.value)
    assert info.value.status == status
    assert info.value.backend == "scim"


def test_scim_type_is_kept_as_field_error():
    """A 400's scimType is available to callers (e.g. ``noTarget`` on remove)."""
    with pytest.raises(errors.RejectedRequestError) as info:
        sansio.decipher(_response(400, _scim_error(400, "noTarget")))
    assert sansio.scim_type_of(info.value) == "noTarget"


def test_501_is_unsupported_operation():
    """501 (a feature the server does not implement) is UnsupportedOperationError."""
    with pytest.raises(
        errors.UnsupportedOperationError, match="PATCH is not supported"
    ):
        sansio.decipher(
            _response(501, _scim_error(501, detail="PATCH is not supported"))
        )


def test_echoed_token_is_scrubbed():
    """A server echoing the Authorization header never leaks it into the message."""
    body = _scim_error(400, "invalidValue", f"bad header Bearer {TOKEN}")
    with pytest.raises(errors.RejectedRequestError) as info:
        sansio.decipher(_response(400, body))
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)
    assert all(TOKEN not in m for ms in info.value.errors.values() for m in ms)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"id": "g1"}, {"id": "g1"}),
        (201, {"id": "g1"}, {"id": "g1"}),
        (204, b"", None),
        (200, b"", None),
    ],
)
def test_success_bodies(status, body, expected):
    """Success answers decode to JSON; 204 and empty bodies to None."""
    assert sansio.decipher(_response(status, body)) == expected


def test_malformed_success_body_is_decode_error():
    """A 200 whose body is not JSON is a DecodeError."""
    with pytest.raises(errors.DecodeError):
        sansio.decipher(_response(200, b"{oops"))


def test_requests_carry_bearer_token_and_media_type():
    """Every request authenticates with a bearer token; bodies are SCIM JSON."""
    request = sansio.build_create(ORIGIN, "Users", {"userName": "a"})
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == sansio.MEDIA_TYPE
    assert request.url == "https://idp.example.com/scim/v2/Users"
    assert not request.replayable
    assert TOKEN not in repr(request)
    assert TOKEN not in repr(ORIGIN)


def test_list_uses_one_based_index_paging_and_filter():
    """Listings send startIndex/count and a URL-encoded filter."""
    request = sansio.build_list(
        ORIGIN, "Groups", start_index=101, count=100, filter='displayName co "a&b"'
    )
    assert request.method == "GET"
    assert "startIndex=101" in request.url
    assert "count=100" in request.url
    assert "filter=displayName%20co%20%22a%26b%22" in request.url


def test_ids_are_path_segments():
    """Ids are percent-encoded into one path segment."""
    request = sansio.build_get(ORIGIN, "Users", "a/b?c")
    assert request.url.endswith("/Users/a%2Fb%3Fc")
    with pytest.raises(errors.InvalidInputError):
        sansio.build_get(ORIGIN, "Users", "a\r\nb")


def test_conditional_writes_send_if_match():
    """PUT/PATCH/DELETE send If-Match only when an ETag is given."""
    put = sansio.build_replace(ORIGIN, "Groups", "g1", {}, etag='W/"3"')
    assert put.headers["If-Match"] == 'W/"3"'
    assert "If-Match" not in sansio.build_patch(ORIGIN, "Groups", "g1", []).headers


def test_member_operations():
    """Adds are one ``add`` of members; removes are value-filtered, replayable."""
    assert sansio.member_add_ops(["u1", "u2"]) == [
        {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}
    ]
    assert sansio.member_remove_ops(['u"1']) == [
        {"op": "remove", "path": 'members[value eq "u\\"1"]'}
    ]
    request = sansio.build_patch(
        ORIGIN, "Groups", "g1", sansio.member_add_ops(["u1"]), idempotent=True
    )
    assert request.replayable
    assert json.loads(request.body)["schemas"] == [sansio.SCHEMA_PATCH]


def test_etag_from_header_or_meta():
    """The version comes from the ETag header, else meta.version."""
    assert sansio.etag_of(_response(200, {}, {"ETag": 'W/"1"'})) == 'W/"1"'
    assert sansio.etag_of(_response(200, {}), {"meta": {"version": 'W/"2"'}}) == 'W/"2"'
    assert sansio.etag_of(_response(200, {}), {}) is None


def test_bulk_errors_are_typed():
    """Failed bulk operations become typed errors; successes are skipped."""
    data = {
        "Operations": [
            {"method": "PATCH", "status": "200"},
            {"method": "PATCH", "status": "404", "response": _scim_error(404)},
        ]
    }
    request = sansio.build_bulk(ORIGIN, [], idempotent=True)
    found = sansio.bulk_errors(Response(200, {}, b"", request), data)
    assert [type(e) for e in found] == [errors.NotFoundError]
    with pytest.raises(errors.DecodeError):
        sansio.bulk_errors(Response(200, {}, b"", request), {"nope": 1})


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {
                "patch": {"supported": True},
                "filter": {"supported": True, "maxResults": 200},
                "etag": {"supported": True},
                "bulk": {"supported": True, "maxOperations": 10},
            },
            wire.ServiceProvider(True, True, 200, True, True, 10),
        ),
        ({}, wire.ServiceProvider(False, False, None, False, False, None)),
        (
            {
                "patch": {"supported": "yes"},
                "filter": {"supported": True, "maxResults": -1},
            },
            wire.ServiceProvider(False, True, None, False, False, None),
        ),
    ],
)
def test_service_provider_config(document, expected):
    """Only an explicit ``supported: true`` counts as support."""
    assert wire.service_provider(document) == expected


def test_wire_user_and_group():
    """SCIM JSON maps onto the common models; unknown keys are ignored."""
    user = wire.to_user(
        wire.structure(
            {
                "id": "u1",
                "userName": "ann",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [
                    {"value": "x@example.com"},
                    {"value": "a@example.com", "primary": True},
                ],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {},
            },
            wire.WireUser,
        )
    )
    assert (user.id, user.email, user.first_name, user.last_name) == (
        "u1",
        "a@example.com",
        "Ann",
        "Lee",
    )
    group = wire.to_group(
        wire.structure({"id": "g1", "displayName": "Eng"}, wire.WireGroup)
    )
    assert (group.id, group.name, group.description) == ("g1", "Eng", None)
    with pytest.raises(errors.DecodeError):
        wire.structure({"displayName": "no id"}, wire.WireGroup)


def test_base_url_checks():
    """The base URL must be absolute http(s) without credentials."""
    assert (
        SCIM(base_url="https://x.example/scim/v2/", token="t").base_url
        == "https://x.example/scim/v2"
    )
    for bad in ("", "ftp://x", "/scim", "https://u:p@x.example", "https://x?y=1"):
        with pytest.raises(errors.ConfigurationError):
            SCIM(base_url=bad, token="t")


def test_endpoint_media_type_and_no_body_headers():
    """GETs carry Accept but no Content-Type; the token never shows in a repr."""
    request = sansio.build_get(ORIGIN, "Groups", "g1", excluded_attributes="members")
    assert request.headers["Accept"] == sansio.MEDIA_TYPE
    assert "Content-Type" not in request.headers
    assert request.url == (
        "https://idp.example.com/scim/v2/Groups/g1?excludedAttributes=members"
    )
    assert TOKEN not in repr(ORIGIN)


def test_request_is_frozen_value():
    """Builders return plain Request values (no I/O)."""
    assert isinstance(sansio.build_service_provider_config(ORIGIN), Request)
