"""Hostile servers: days-long Retry-After, echoed credentials, paging that never ends."""

import asyncio
import email.utils
import json
import logging
import time
from typing import Any

import pytest
from aiohttp import web

import asyncgroups as ag

BACKENDS = [
    pytest.param(n, id=n)
    for n in ("snip", "neuroio", "periscope", "scim", "graph", "okta")
]
QUICK = ag.RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)

#: Credentials long and distinctive enough that any echo of them is unmistakable.
TOKEN = "tok-SECRETVALUE-0123456789abcdef"
API_KEY = "key-SECRETVALUE-fedcba9876543210"
SITE = "acme"
SECRETS = (TOKEN, API_KEY)
#: Requests after which the endless-paging servers give up.
CAP = 100

_GROUP = {
    "snip": "1",
    "neuroio": "1",
    "periscope": "Eng",
    "scim": "g1",
    "graph": "0b5e6c1a-1f5e-4a8e-9d1e-2f3a4b5c6d7e",
    "okta": "00g1a2b3c4d5e6f7g8h9",
}
_TOKEN_PATH = "/oauth2/v2.0/token"
_SCIM_CONFIG = {
    "patch": {"supported": True},
    "filter": {"supported": True},
    "bulk": {"supported": False},
    "etag": {"supported": False},
}


def _client(name: str, url: str, **kwargs: Any) -> ag.Client:
    if name == "periscope":
        backend = ag.connect(name, site=SITE, api_key=API_KEY, base_url=url)
    elif name == "graph":
        # The client secret is TOKEN; the bearer token the server issues is API_KEY.
        backend = ag.connect(
            name,
            tenant_id="t",
            client_id="c",
            client_secret=TOKEN,
            base_url=url,
            authority=url,
        )
    elif name == "okta":
        backend = ag.connect(name, api_token=TOKEN, base_url=url)
    else:
        backend = ag.connect(name, token=TOKEN, base_url=url)
    return ag.Client(backend, **kwargs)


def _scim_config(request: web.Request) -> web.Response | None:
    """Answers a backend needs before its first call: SCIM's config, Graph's token."""
    if request.path.endswith("/ServiceProviderConfig"):
        return web.json_response(_SCIM_CONFIG)
    if request.path.endswith(_TOKEN_PATH):
        return web.json_response({"access_token": API_KEY, "expires_in": 3600})
    return None


# -- Retry-After of days ------------------------------------------------------------


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("form", ["seconds", "http-date"])
async def test_retry_after_of_days_fails_at_once(
    hostile: Any, name: str, form: str
) -> None:
    """A 429 asking for days fails at once with RateLimitedError(retry_after=...)."""
    days = 3 * 86400
    value = (
        str(days)
        if form == "seconds"
        else email.utils.formatdate(time.time() + days, usegmt=True)
    )

    async def behaviour(request: web.Request) -> web.StreamResponse:
        return _scim_config(request) or web.json_response(
            {"detail": "slow down"}, status=429, headers={"Retry-After": value}
        )

    hostile.behaviour = behaviour
    started = time.monotonic()
    async with _client(name, hostile.url) as client:  # the default retry policy
        with pytest.raises(ag.RateLimitedError) as caught:
            async with asyncio.timeout(5):  # a missing guard would sleep for days
                await client.groups.get(_GROUP[name])
        # The Client stays paused for the days asked, but a later call fails fast
        # (nothing sent) instead of blocking until then.
        sent = len(hostile.hits)
        with pytest.raises(ag.RateLimitedError) as later:
            async with asyncio.timeout(5):
                await client.groups.get(_GROUP[name])
        assert len(hostile.hits) == sent
        assert later.value.retry_after is not None
        assert later.value.retry_after > days - 60
    assert time.monotonic() - started < 5.0
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > days - 60
    assert caught.value.status == 429
    throttled = [
        r
        for r in hostile.hits
        if not r.path.endswith(("ServiceProviderConfig", _TOKEN_PATH))
    ]
    assert len(throttled) == 1


# -- servers echoing request headers into error bodies ---------------------------------


def _echo(status: int, html: bool) -> Any:
    async def behaviour(request: web.Request) -> web.StreamResponse:
        token_call = request.path.endswith(_TOKEN_PATH)
        if (status >= 400 or token_call) and (config := _scim_config(request)):
            return config
        echoed = dict(request.headers)
        text = json.dumps(echoed)
        if html:
            return web.Response(
                status=status,
                content_type="text/html",
                text=f"<html><title>{text}</title><body>{text}</body></html>",
            )
        if 300 <= status < 400:
            auth = " ".join(echoed.values())
            return web.Response(
                status=status,
                headers={"Location": f"https://evil.example/{auth}?token={TOKEN}"},
            )
        body = {
            "message": text,
            "error": text,
            "detail": text,
            "scimType": text,
            "details": echoed,
            "fields": [{"name": k, "message": v} for k, v in echoed.items()],
            "error_codes": [1],
        }
        extra = {"Retry-After": "0"} if status == 429 else {}
        return web.json_response(body, status=status, headers=extra)

    return behaviour


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize(
    ("status", "html"),
    [
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (409, False),
        (422, False),
        (429, False),
        (500, True),
        (502, False),
        (503, True),
        (501, False),
        (302, False),
    ],
)
async def test_echoed_credentials_never_reach_messages_or_logs(
    hostile: Any,
    scanner: Any,
    caplog: pytest.LogCaptureFixture,
    name: str,
    status: int,
    html: bool,
) -> None:
    """Echoed auth headers never show in an error (any part of it) or the log."""
    caplog.set_level(logging.DEBUG)
    hostile.behaviour = _echo(status, html)
    async with _client(name, hostile.url, retry=QUICK) as client:
        with pytest.raises(ag.AsyncGroupsError) as caught:
            await client.groups.get(_GROUP[name])
        scanner.add(client, client.backend, client.transport)
    # the server did see the credential (else the test proves nothing)
    seen = " ".join(v for r in hostile.hits for v in r.headers.values())
    assert any(s in seen for s in SECRETS)
    scanner.exception(caught.value)
    scanner.records(caplog.records)
    scanner.add(caplog.text)
    assert scanner.leaks(SECRETS) == []


# -- pagination that never ends -------------------------------------------------------


def _limit_offset(request: web.Request) -> tuple[int, int]:
    return int(request.query.get("limit", "100")), int(request.query.get("offset", "0"))


async def _same_page_forever(request: web.Request) -> web.StreamResponse:
    if request.path.endswith("/pids/"):
        results: list[dict[str, Any]] = [{"pid": "p1"}, {"pid": "p2"}]
    else:
        results = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    return web.json_response({"count": 10**9, "results": results})


async def _count_keeps_growing(request: web.Request) -> web.StreamResponse:
    limit, offset = _limit_offset(request)
    if request.path.endswith("/pids/"):
        results: list[dict[str, Any]] = [
            {"pid": f"p{i}"} for i in range(offset, offset + limit)
        ]
    else:
        results = [{"id": i, "name": f"g{i}"} for i in range(offset, offset + limit)]
    return web.json_response({"count": offset + 2 * limit, "results": results})


@pytest.mark.parametrize("listing", ["groups", "members"])
@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param(_same_page_forever, id="same-page"),
        pytest.param(_count_keeps_growing, id="count-grows"),
    ],
)
async def test_neuroio_endless_paging_stops_with_decode_error(
    hostile: Any, listing: str, behaviour: Any
) -> None:
    """NeuroIO listings stop with DecodeError when the server's paging never ends."""

    async def answer(request: web.Request) -> web.StreamResponse:
        if request.path == "/v1/groups/persons/1/":
            return web.json_response({"id": 1, "name": "a"})
        if len(hostile.hits) > CAP:  # end the listing so a missing guard fails fast
            return web.json_response({"count": 0, "results": []})
        response: web.StreamResponse = await behaviour(request)
        return response

    hostile.behaviour = answer
    async with _client("neuroio", hostile.url, retry=QUICK) as client:
        items = (
            client.groups.list() if listing == "groups" else client.members.list("1")
        )
        with pytest.raises(ag.DecodeError, match="pagination"):
            _ = [item async for item in items]
    assert len(hostile.hits) < CAP


@pytest.mark.parametrize("listing", ["users", "members"])
@pytest.mark.parametrize("cursor", ["fresh", "repeated"])
async def test_periscope_endless_paging_stops_with_decode_error(
    hostile: Any, listing: str, cursor: str
) -> None:
    """Periscope listings stop when the same page keeps coming, new cursor or not."""
    users = [
        {"email": "a@example.com", "groups": ["Eng"]},
        {"email": "b@example.com", "groups": ["Eng"]},
    ]

    async def answer(request: web.Request) -> web.StreamResponse:
        if request.path == "/api/v1/groups/Eng":
            return web.json_response({"group": {"name": "Eng"}})
        if len(hostile.hits) > CAP:  # end the listing so a missing guard fails fast
            return web.json_response({"users": []})
        nxt = str(len(hostile.hits)) if cursor == "fresh" else "same"
        return web.json_response({"users": users, "next_page_start": nxt})

    hostile.behaviour = answer
    async with _client("periscope", hostile.url, retry=QUICK) as client:
        items = (
            client.users.list() if listing == "users" else client.members.list("Eng")
        )
        with pytest.raises(ag.DecodeError, match="pagination"):
            _ = [item async for item in items]
    assert len(hostile.hits) < CAP


@pytest.mark.parametrize("link", ["fresh", "repeated", "elsewhere"])
async def test_graph_next_links_that_never_end_or_leave_stop(
    hostile: Any, link: str
) -> None:
    """Graph listings stop on a repeated or endless nextLink, and never leave the host."""
    page = {"value": [{"id": _GROUP["graph"], "displayName": "a"}]}

    async def answer(request: web.Request) -> web.StreamResponse:
        if (token := _scim_config(request)) is not None:
            return token
        if len(hostile.hits) > CAP:  # end the listing so a missing guard fails fast
            return web.json_response({"value": []})
        nxt = {
            "fresh": f"{hostile.url}/groups?$skiptoken={len(hostile.hits)}",
            "repeated": f"{hostile.url}/groups?$skiptoken=same",
            "elsewhere": "https://evil.example/groups?$skiptoken=1",
        }[link]
        return web.json_response(page | {"@odata.nextLink": nxt})

    hostile.behaviour = answer
    async with _client("graph", hostile.url, retry=QUICK) as client:
        with pytest.raises(ag.DecodeError, match=r"pagination|leaves the API host"):
            _ = [g async for g in client.groups.list()]
    assert len(hostile.hits) < CAP
    assert all(r.host == hostile.url.split("://")[1] for r in hostile.hits)


@pytest.mark.parametrize("link", ["fresh", "repeated", "elsewhere"])
async def test_okta_link_headers_that_never_end_or_leave_stop(
    hostile: Any, link: str
) -> None:
    """Okta listings stop on a repeated or endless Link, and never leave the host."""
    page = [{"id": _GROUP["okta"], "type": "OKTA_GROUP", "profile": {"name": "a"}}]

    async def answer(request: web.Request) -> web.StreamResponse:
        if len(hostile.hits) > CAP:  # end the listing so a missing guard fails fast
            return web.json_response([])
        nxt = {
            "fresh": f"{hostile.url}/api/v1/groups?after={len(hostile.hits)}",
            "repeated": f"{hostile.url}/api/v1/groups?after=same",
            "elsewhere": "https://evil.example/api/v1/groups?after=1",
        }[link]
        return web.json_response(page, headers={"Link": f'<{nxt}>; rel="next"'})

    hostile.behaviour = answer
    async with _client("okta", hostile.url, retry=QUICK) as client:
        with pytest.raises(ag.DecodeError, match=r"pagination|leaves the API host"):
            _ = [g async for g in client.groups.list()]
    assert len(hostile.hits) < CAP
    assert all(r.host == hostile.url.split("://")[1] for r in hostile.hits)


# -- echoes inside exception objects ---------------------------------------------


def _echo_in_success(kind: str) -> Any:
    async def behaviour(request: web.Request) -> web.StreamResponse:
        if config := _scim_config(request):
            return config
        text = json.dumps(dict(request.headers))
        if kind == "malformed":  # JSON cut short: the decoder's error holds the body
            return web.Response(text=text[:-1], content_type="application/json")
        # well-formed, wrong shape: every field a value the converter refuses
        return web.json_response(
            {
                "id": text,
                "name": [text],
                "displayName": {"x": text},
                "description": [text],
                "title": [text],
                "members": text,
                "value": text,
                "data": text,
                "groups": text,
                "error": text,
            }
        )

    return behaviour


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("kind", ["malformed", "wrong-shape"])
async def test_a_success_body_echoing_credentials_leaves_none_in_the_error(
    hostile: Any, scanner: Any, name: str, kind: str
) -> None:
    """The decode error's cause, context and details hold no echoed credential."""
    hostile.behaviour = _echo_in_success(kind)
    async with _client(name, hostile.url, retry=QUICK) as client:
        with pytest.raises(ag.AsyncGroupsError) as caught:
            await client.groups.get(_GROUP[name])
    seen = " ".join(v for r in hostile.hits for v in r.headers.values())
    assert any(s in seen for s in SECRETS)
    scanner.exception(caught.value)
    assert scanner.leaks(SECRETS) == []


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n{}",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n{}",
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 2x0 Bearer " + TOKEN.encode() + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Echo " + TOKEN.encode() + b"\r\n\r\n",
    ],
)
async def test_a_malformed_answer_leaves_no_request_header_in_the_error(
    scanner: Any, answer: bytes
) -> None:
    """aiohttp's error carries the request's headers; the typed error must not."""
    heard: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heard.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with _client(
            "neuroio", f"http://127.0.0.1:{port}", retry=ag.RetryPolicy.off()
        ) as client:
            with pytest.raises(ag.TransportError) as caught:
                await client.groups.get("1")
    finally:
        server.close()
        await server.wait_closed()
    assert TOKEN.encode() in b"".join(heard)
    scanner.exception(caught.value)
    assert scanner.leaks(SECRETS) == []
