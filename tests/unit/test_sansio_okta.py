"""Okta's sans-I/O layer: requests built, Link headers read, answers deciphered."""

import json
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

import asyncgroups as ag
from asyncgroups.backends._kit import Body, Endpoint
from asyncgroups.backends.okta import sansio, wire
from asyncgroups.transport.base import Response

ORG = Endpoint("https://acme.okta.com", headers={"Authorization": "SSWS 00tok"})
GID = "00g1a2b3c4d5e6f7g8h9"
UID = "00u1a2b3c4d5e6f7g8h9"


def _answer(status: int, body: Any = None, headers: Any = None) -> Response:
    raw = b"" if body is None else json.dumps(body).encode()
    return Response(status, headers or {}, raw, sansio.build_get_group(ORG, GID))


def _error(code: str, summary: str, *causes: str) -> dict[str, Any]:
    return {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oae1",
        "errorCauses": [{"errorSummary": c} for c in causes],
    }


@pytest.mark.parametrize(
    ("status", "body", "expected", "text"),
    [
        (
            404,
            _error("E0000007", "Not found: Resource not found: x (UserGroup)"),
            ag.NotFoundError,
            "E0000007",
        ),
        (
            401,
            _error("E0000011", "Invalid token provided"),
            ag.AuthenticationError,
            "Invalid token",
        ),
        (
            400,
            _error("E0000001", "Api validation failed: name", "name: taken"),
            ag.RejectedRequestError,
            "name: taken",
        ),
        (
            429,
            _error("E0000047", "API call exceeded rate limit"),
            ag.RateLimitedError,
            "E0000047",
        ),
        (503, None, ag.ServerError, "503"),
    ],
)
def test_errors_are_typed_with_okta_codes(
    status: int, body: Any, expected: type[Exception], text: str
) -> None:
    with pytest.raises(expected, match=text) as info:
        sansio.decipher(_answer(status, body))
    assert "00tok" not in str(info.value)


def test_a_400_carries_its_causes() -> None:
    with pytest.raises(ag.RejectedRequestError) as info:
        sansio.decipher(_answer(400, _error("E0000001", "bad", "profile.name: blank")))
    assert dict(info.value.errors) == {"E0000001": ("profile.name: blank",)}


def test_next_link_in_one_header_or_several() -> None:
    nxt = "https://acme.okta.com/api/v1/groups?after=00gX&limit=5"
    joined = f'<https://acme.okta.com/api/v1/groups?limit=5>; rel="self", <{nxt}>; rel="next"'
    assert sansio.next_link(_answer(200, [], {"Link": joined})) == nxt
    several = CIMultiDict(
        [
            ("Link", '<https://acme.okta.com/x>; rel="self"'),
            ("Link", f"<{nxt}>; rel=next"),
        ]
    )
    assert sansio.next_link(_answer(200, [], CIMultiDictProxy(several))) == nxt
    assert (
        sansio.next_link(_answer(200, [], {"Link": '<https://a/x>; rel="self"'}))
        is None
    )
    assert sansio.next_link(_answer(200, [])) is None


def test_requests_name_their_endpoint_family() -> None:
    put = sansio.build_membership(ORG, "PUT", GID, UID)
    assert put.url == f"https://acme.okta.com/api/v1/groups/{GID}/users/{UID}"
    assert put.family == sansio.MEMBERS == sansio.build_list_members(ORG, GID, 5).family
    assert put.idempotent
    assert put.body == b""
    assert sansio.build_list_groups(ORG, "En", 5).family == sansio.GROUPS
    assert sansio.build_get_group(ORG, GID).family == sansio.GROUP
    assert sansio.build_get_user(ORG, "a@b.c").url.endswith("/api/v1/users/a@b.c")
    follow = ORG.follow(
        f"https://acme.okta.com/api/v1/groups?after={GID}",
        backend="okta",
        family=sansio.GROUPS,
    )
    assert follow.family == sansio.GROUPS
    with pytest.raises(ag.DecodeError, match="leaves the API host"):
        ORG.follow("https://evil.example/api/v1/groups", backend="okta")


@pytest.mark.parametrize("bad", ["", "a/b", "a?b", "..", "a b", "x#y"])
def test_ids_that_cannot_be_okta_ids_are_refused(bad: str) -> None:
    with pytest.raises(ag.InvalidInputError):
        sansio.build_membership(ORG, "PUT", GID, bad)


def test_groups_keep_their_type_and_strict_shapes_fail() -> None:
    group = wire.structure_group(
        {
            "id": GID,
            "type": "APP_GROUP",
            "profile": {"name": "Zoom", "description": None},
            "_links": {},
        }
    )
    assert (group.name, group.extra["type"]) == ("Zoom", "APP_GROUP")
    assert "_links" not in group.extra
    with pytest.raises(ag.DecodeError):
        wire.structure_group({"id": 7, "profile": {"name": "x"}})
    with pytest.raises(ag.DecodeError):
        wire.structure_groups({"not": "a list"})
    with pytest.raises(ag.DecodeError):
        sansio.decipher(_answer(200), Body.JSON)
