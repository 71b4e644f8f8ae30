"""Graph's sans-I/O layer: requests built, answers deciphered, batches packed."""

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.backends._kit import Body, Endpoint
from asyncgroups.backends.graph import changes, oauth, sansio, wire
from asyncgroups.backends.graph.auth import TokenProvider
from asyncgroups.backends.graph.batching import Batcher
from asyncgroups.backends.graph.changes import SubRequest, SubResponse
from asyncgroups.config import Secret
from asyncgroups.transport.base import Response

ROOT = Endpoint("https://graph.microsoft.com/v1.0")
GID = "0b5e6c1a-1f5e-4a8e-9d1e-2f3a4b5c6d7e"
UID = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _answer(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> Response:
    raw = b"" if body is None else json.dumps(body).encode()
    return Response(status, headers or {}, raw, sansio.build_get_group(ROOT, GID))


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {}}}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            404,
            _error("Request_ResourceNotFound", "Resource 'x' does not exist"),
            ag.NotFoundError,
        ),
        (
            400,
            _error("Request_BadRequest", "Invalid object identifier 'x'."),
            ag.NotFoundError,
        ),
        (400, _error("Request_BadRequest", "Invalid value"), ag.RejectedRequestError),
        (401, _error("InvalidAuthenticationToken", "expired"), ag.AuthenticationError),
        (
            403,
            _error("Authorization_RequestDenied", "Insufficient privileges"),
            ag.PermissionDeniedError,
        ),
        (
            409,
            _error("Request_MultipleObjectsWithSameKeyValue", "taken"),
            ag.ConflictError,
        ),
        (429, _error("TooManyRequests", "slow down"), ag.RateLimitedError),
        (503, None, ag.ServerError),
    ],
)
def test_error_statuses_become_typed_errors(
    status: int, body: Any, expected: type[Exception]
) -> None:
    """The status picks the class; Graph's code and message make the detail."""
    with pytest.raises(expected) as caught:
        sansio.decipher(_answer(status, body))
    if body is not None:
        assert body["error"]["code"] in str(caught.value)


def test_success_bodies_and_empty_answers() -> None:
    """JSON is returned; a 204 with Body.NONE is fine; an empty 200 is a DecodeError."""
    assert sansio.decipher(_answer(200, {"id": GID})) == {"id": GID}
    assert sansio.decipher(_answer(204), Body.NONE) is None
    with pytest.raises(ag.DecodeError):
        sansio.decipher(_answer(200))


def test_expired_token_is_recognised_only_by_its_code() -> None:
    """Only 401 InvalidAuthenticationToken asks for a renewal."""
    assert sansio.is_expired_token(
        _answer(401, _error("InvalidAuthenticationToken", ""))
    )
    assert not sansio.is_expired_token(_answer(401, {"detail": "no"}))
    assert not sansio.is_expired_token(
        _answer(403, _error("InvalidAuthenticationToken", ""))
    )


@pytest.mark.parametrize("bad", ["a/b", "x?y", "#", "50%", "a b", "..", ".", ""])
def test_ids_with_path_characters_are_refused(bad: str) -> None:
    """An id that would address another path never reaches a URL."""
    with pytest.raises(ag.InvalidInputError):
        sansio.check_id(bad, "group id")
    with pytest.raises(ag.InvalidInputError):
        sansio.build_get_group(ROOT, bad)


def test_next_link_must_stay_on_the_api_host() -> None:
    """A nextLink elsewhere would carry the bearer token away: DecodeError."""
    good = sansio.build_next(
        ROOT, "https://graph.microsoft.com/v1.0/groups?$skiptoken=X"
    )
    assert good.url.endswith("$skiptoken=X")
    with pytest.raises(ag.DecodeError, match="leaves the API host"):
        sansio.build_next(ROOT, "https://evil.example/v1.0/groups?$skiptoken=X")


def test_list_filters_quote_odata_literals() -> None:
    """A name filter doubles single quotes (OData string literal)."""
    request = sansio.build_list_groups(ROOT, "O'Brien", 999)
    assert "startswith%28displayName%2C%27O%27%27Brien%27%29" in request.url


def test_token_request_and_answer() -> None:
    """The form carries the client credentials; the answer gives token and lifetime."""
    request = oauth.build_token("https://login.example", "tenant", "app", "s3cret")
    assert request.url == "https://login.example/tenant/oauth2/v2.0/token"
    assert b"client_secret=s3cret" in request.body
    assert b"grant_type=client_credentials" in request.body
    assert "s3cret" not in repr(request)
    ok = Response(200, {}, b'{"access_token": "tok", "expires_in": 3599}', request)
    assert oauth.decipher_token(ok, ["s3cret"]) == ("tok", 3599.0)
    for body in (b'{"expires_in": 10}', b'{"access_token": "t", "expires_in": 0}'):
        with pytest.raises(ag.DecodeError):
            oauth.decipher_token(Response(200, {}, body, request), ["s3cret"])
    echoed = json.dumps({"error": "invalid_client", "error_description": "bad s3cret"})
    refused = Response(400, {}, echoed.encode(), request)
    with pytest.raises(ag.AuthenticationError) as caught:
        oauth.decipher_token(refused, ["s3cret"])
    assert "s3cret" not in str(caught.value)
    assert "invalid_client" in str(caught.value)


def test_bind_and_batch_limits() -> None:
    """A PATCH binds 1 to 20 members; a $batch carries 1 to 20 sub-requests."""
    sub = changes.build_bind_members(ROOT, GID, [UID] * 20)
    assert sub.body["members@odata.bind"][0] == (
        f"https://graph.microsoft.com/v1.0/directoryObjects/{UID}"
    )
    with pytest.raises(ag.InvalidInputError):
        changes.build_bind_members(ROOT, GID, [UID] * 21)
    batch = changes.build_batch(ROOT, [sub] * 20)
    entries = json.loads(batch.body)["requests"]
    assert [e["id"] for e in entries] == [str(n) for n in range(1, 21)]
    assert entries[0]["url"] == f"/groups/{GID}"
    assert batch.replayable
    with pytest.raises(ag.InvalidInputError):
        changes.build_batch(ROOT, [sub] * 21)


def test_batch_answers_are_matched_by_id() -> None:
    """Sub-responses come back in any order; a missing one is a DecodeError."""
    data = {
        "responses": [
            {"id": "2", "status": 204},
            {"id": "1", "status": 429, "headers": {"Retry-After": "3"}},
        ]
    }
    first, second = changes.parse_batch(data, 2)
    assert (first.status, first.headers["retry-after"]) == (429, "3")
    assert second.status == 204
    with pytest.raises(ag.DecodeError, match="lacks"):
        changes.parse_batch({"responses": [{"id": "1", "status": 204}]}, 2)
    with pytest.raises(ag.DecodeError):
        changes.parse_batch({"responses": [{"id": 1, "status": "204"}]}, 1)


def test_set_semantics_of_membership_answers() -> None:
    """Already a member, or not a member (404 about the member): success."""
    already = SubResponse(
        400,
        {},
        _error(
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'members'.",
        ),
    )
    assert changes.is_already_member(already)
    absent = SubResponse(
        404, {}, _error("Request_ResourceNotFound", f"Resource '{UID}' does not exist")
    )
    assert changes.is_not_member(absent, GID)
    group_gone = SubResponse(
        404, {}, _error("Request_ResourceNotFound", f"Resource '{GID}' does not exist")
    )
    assert not changes.is_not_member(group_gone, GID)
    assert not changes.is_not_member(SubResponse(404, {}, "<html>"), GID)


def test_wire_maps_graph_objects_onto_models() -> None:
    """camelCase names map onto the models; OData annotations stay out of extra."""
    group = wire.structure_group(
        {
            "id": GID,
            "displayName": "Eng",
            "description": None,
            "@odata.context": "x",
            "mailNickname": "eng",
        }
    )
    assert (group.id, group.name, group.description) == (GID, "Eng", None)
    assert dict(group.extra) == {"mailNickname": "eng"}
    user = wire.structure_user(
        {"id": UID, "mail": "a@example.com", "givenName": "A", "surname": "B"}
    )
    assert (user.email, user.first_name, user.last_name) == ("a@example.com", "A", "B")
    members, nxt = wire.structure_member_page(
        {
            "value": [{"id": UID, "@odata.type": "#microsoft.graph.user"}],
            "@odata.nextLink": "n",
        },
        GID,
    )
    assert [m.key for m in members] == [UID]
    assert nxt == "n"
    with pytest.raises(ag.DecodeError):
        wire.structure_group({"id": 5, "displayName": "Eng"})
    with pytest.raises(ag.DecodeError):
        wire.structure_group_page({"value": "nope"})


async def test_batcher_packs_concurrent_sub_requests_twenty_at_a_time() -> None:
    """45 concurrent sub-requests: $batch requests of 20, 20 and 5."""
    sent: list[int] = []

    async def one(sub: SubRequest) -> SubResponse:
        sent.append(1)
        return SubResponse(204)

    async def many(subs: Sequence[SubRequest]) -> list[SubResponse]:
        sent.append(len(subs))
        return [SubResponse(204) for _ in subs]

    batcher = Batcher(one, many)
    subs = [SubRequest("DELETE", f"/x/{n}") for n in range(45)]
    answers = await asyncio.gather(*(batcher.send(s) for s in subs))
    assert [a.status for a in answers] == [204] * 45
    assert sorted(sent) == [5, 20, 20]
    await batcher.aclose()


async def test_batcher_retries_only_the_throttled_sub_request() -> None:
    """A 429 inside a batch: that one is sent again, after its Retry-After."""
    sent: list[list[str]] = []
    waits: list[float] = []

    async def one(sub: SubRequest) -> SubResponse:
        sent.append([sub.url])
        return SubResponse(204)

    async def many(subs: Sequence[SubRequest]) -> list[SubResponse]:
        sent.append([s.url for s in subs])
        return [
            SubResponse(429, {"retry-after": "7"})
            if s.url == "/b"
            else SubResponse(204)
            for s in subs
        ]

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    batcher = Batcher(one, many, sleep=sleep)
    subs = [SubRequest("PATCH", u) for u in ("/a", "/b", "/c")]
    answers = await asyncio.gather(*(batcher.send(s) for s in subs))
    assert [a.status for a in answers] == [204, 204, 204]
    assert sent == [["/a", "/b", "/c"], ["/b"]]
    assert waits == [7.0]


async def test_batcher_gives_a_whole_request_failure_to_every_caller() -> None:
    """The $batch itself failing fails each sub-request it carried."""

    async def one(sub: SubRequest) -> SubResponse:
        raise AssertionError("not alone")

    async def many(subs: Sequence[SubRequest]) -> list[SubResponse]:
        raise ag.ServerError("down", status=503)

    batcher = Batcher(one, many)
    outcomes = await asyncio.gather(
        *(batcher.send(SubRequest("DELETE", f"/{n}")) for n in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(o, ag.ServerError) for o in outcomes)


async def test_token_provider_fetches_once_for_many_callers() -> None:
    """Concurrent callers share one fetch; a refresh after a refusal is one fetch."""
    fetched: list[int] = []

    async def fetch() -> tuple[str, float]:
        fetched.append(1)
        await asyncio.sleep(0)
        return f"token-{len(fetched)}", 3600.0

    provider = TokenProvider(fetch, clock=lambda: 0.0)
    tokens = await asyncio.gather(*(provider.token() for _ in range(64)))
    assert {t.reveal() for t in tokens} == {"token-1"}
    stale = tokens[0]
    renewed = await asyncio.gather(*(provider.refresh(stale) for _ in range(64)))
    assert {t.reveal() for t in renewed} == {"token-2"}
    assert len(fetched) == 2
    assert "token" not in repr(provider).replace("TokenProvider token=", "")
    assert isinstance(renewed[0], Secret)
