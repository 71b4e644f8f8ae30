"""Every fault kind, scripted on a route, as a plain aiohttp client sees it."""

import asyncio
import json
import time

import aiohttp
import pytest

from asyncgroups.testing import Fault, serve_emulator

from .conftest import TOKEN

AUTH = {"Authorization": f"Token {TOKEN}"}


async def get(session, url):
    async with session.get(url, headers=AUTH) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def test_status_with_retry_after_on_route(toy):
    toy.store.seed_group("g")
    toy.faults.add(Fault.status(429, retry_after=3), times=1, route="GET /groups/*")
    async with aiohttp.ClientSession() as s:
        status, headers, _ = await get(s, toy.url + "/groups/1")
        assert (status, headers["Retry-After"]) == (429, "3")
        assert (await get(s, toy.url + "/groups/1"))[0] == 200
    assert toy.faults.counts["429"] == 1


async def test_route_and_method_must_match(toy):
    toy.store.seed_group("g")
    toy.faults.add(Fault.status(503), route="POST /groups/*")
    toy.faults.add(Fault.status(503), route="GET /other/*")
    async with aiohttp.ClientSession() as s:
        assert (await get(s, toy.url + "/groups/1"))[0] == 200


async def test_html_body(toy):
    toy.faults.add(Fault.status(503, html=True), times=1)
    async with aiohttp.ClientSession() as s:
        status, headers, body = await get(s, toy.url + "/groups/1")
    assert status == 503
    assert headers["Content-Type"].startswith("text/html")
    assert body.startswith(b"<!DOCTYPE html>")


async def test_malformed_json(toy):
    toy.faults.add(Fault.malformed(), times=1)
    async with aiohttp.ClientSession() as s:
        status, _, body = await get(s, toy.url + "/groups/1")
    assert status == 200
    with pytest.raises(ValueError, match="Expecting"):
        json.loads(body)


async def test_latency(toy):
    toy.store.seed_group("g")
    toy.faults.add(Fault.latency(0.2), times=1)
    async with aiohttp.ClientSession() as s:
        started = time.monotonic()
        assert (await get(s, toy.url + "/groups/1"))[0] == 200
        assert time.monotonic() - started >= 0.2
    assert toy.faults.counts["latency"] == 1


async def test_drop_before_apply_leaves_no_effect(toy):
    (key,) = toy.store.seed_users(1)
    gid = toy.store.seed_group("g")
    toy.faults.add(Fault.drop(), times=1, route="POST /groups/*/members")
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await s.post(
                toy.url + f"/groups/{gid}/members", json={"keys": [key]}, headers=AUTH
            )
    assert toy.store.members(gid) == frozenset()
    assert toy.faults.counts["drop_before"] == 1


async def test_drop_after_apply_leaves_the_effect(toy):
    (key,) = toy.store.seed_users(1)
    gid = toy.store.seed_group("g")
    toy.faults.add(
        Fault.drop(after_apply=True), times=1, route="POST /groups/*/members"
    )
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await s.post(
                toy.url + f"/groups/{gid}/members", json={"keys": [key]}, headers=AUTH
            )
    assert toy.store.members(gid) == frozenset({key})
    assert toy.faults.counts["drop_after"] == 1


async def test_server_side_rate_limit():
    now = [1000.0]  # the server's clock stands still unless the test moves it
    async with serve_emulator("toy", clock=lambda: now[0]) as toy:
        toy.store.seed_group("g")
        toy.faults.add(Fault.rate_limit(per_second=5, burst=3, retry_after=1))
        async with aiohttp.ClientSession() as s:
            statuses = [(await get(s, toy.url + "/groups/1"))[0] for _ in range(6)]
            now[0] += 0.3  # 1.5 tokens refilled: room for one request
            after = [(await get(s, toy.url + "/groups/1"))[0] for _ in range(2)]
        assert statuses == [200, 200, 200, 429, 429, 429]
        assert after == [200, 429]
        assert toy.faults.counts["rate_limit"] == 4


async def test_after_lets_first_matches_through(toy):
    toy.store.seed_group("g")
    toy.faults.add(Fault.status(503), after=1, times=1, route="GET /groups/*")
    async with aiohttp.ClientSession() as s:
        statuses = [(await get(s, toy.url + "/groups/1"))[0] for _ in range(3)]
    assert statuses == [200, 503, 200]


async def test_when_predicate(toy):
    toy.store.seed_group("g")
    toy.faults.add(Fault.status(418), when=lambda r: r.query.get("x") == "1")
    async with aiohttp.ClientSession() as s:
        assert (await get(s, toy.url + "/groups/1?x=1"))[0] == 418
        assert (await get(s, toy.url + "/groups/1?x=2"))[0] == 200


async def test_random_faults_are_seeded(toy):
    toy.store.seed_group("g")

    async def run() -> list[int]:
        toy.faults.clear()
        toy.faults.random(seed=7, p429=0.3, p503=0.2, retry_after=0.05)
        async with aiohttp.ClientSession() as s:
            return [(await get(s, toy.url + "/groups/1"))[0] for _ in range(40)]

    first, second = await run(), await run()
    assert first == second
    assert {429, 503, 200} <= set(first)


async def test_requests_are_recorded_in_order(toy):
    async with aiohttp.ClientSession() as s:
        await asyncio.gather(get(s, toy.url + "/groups/1?a=b"))
        await s.post(toy.url + "/groups/1/members", json={"keys": []}, headers=AUTH)
    assert [(r.method, r.path) for r in toy.requests] == [
        ("GET", "/groups/1"),
        ("POST", "/groups/1/members"),
    ]
    assert toy.requests[0].query == {"a": "b"}
    assert toy.requests[1].json() == {"keys": []}


async def test_a_server_side_rate_limit_answers_whole_seconds_unless_asked():
    now = [1000.0]
    async with serve_emulator("toy", clock=lambda: now[0]) as toy:
        toy.store.seed_group("g")
        whole = toy.faults.add(Fault.rate_limit(per_second=50, burst=1))
        async with aiohttp.ClientSession() as s:
            first = await get(s, toy.url + "/groups/1")
            _, headers, _ = await get(s, toy.url + "/groups/1")  # 20 ms to wait
            toy.faults.rules.remove(whole)
            toy.faults.add(
                Fault.rate_limit(per_second=50, burst=1, exact_retry_after=True)
            )
            await get(s, toy.url + "/groups/1")
            _, exact, _ = await get(s, toy.url + "/groups/1")
            now[0] += 2.5  # a slow bucket: 2.5 s to the next token, rounded up
            toy.faults.clear()
            toy.faults.add(Fault.rate_limit(per_second=0.4, burst=1))
            await get(s, toy.url + "/groups/1")
            _, slow, _ = await get(s, toy.url + "/groups/1")
        assert first[0] == 200
        assert headers["Retry-After"] == "1"  # never "0.020": RFC 9110 delay-seconds
        assert exact["Retry-After"] == "0.020"
        assert slow["Retry-After"] == "3"


async def test_random_429s_ask_one_whole_second_by_default(toy):
    toy.store.seed_group("g")
    toy.faults.random(seed=1, p429=1.0)
    async with aiohttp.ClientSession() as s:
        status, headers, _ = await get(s, toy.url + "/groups/1")
    assert (status, headers["Retry-After"]) == (429, "1")
