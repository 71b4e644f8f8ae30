"""Hostile or broken servers: huge bodies, stalls, paging that never ends."""

import asyncio
import gzip
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import asyncgroups as ag
from asyncgroups.backends.paging import cursor_pages, offset_page_walk, offset_pages
from asyncgroups.transport.aiohttp import AiohttpTransport
from asyncgroups.transport.base import Request

#: Every library error raised here holds no credential, chain and all.
pytestmark = pytest.mark.usefixtures("every_error_scrubbed")

BOMB = gzip.compress(bytes(200 * 1024 * 1024), compresslevel=1)
BOMB_24 = gzip.compress(bytes(24 * 1024 * 1024))
ZEROS = gzip.compress(bytes(4 * 1024 * 1024))


@pytest.fixture
async def hostile() -> AsyncIterator[TestServer]:
    async def huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        chunk = b"x" * 65536
        for _ in range(64):  # 4 MiB, streamed without Content-Length
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    def gzipped(body: bytes) -> web.Response:
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    async def bomb(request: web.Request) -> web.Response:
        # 200 KiB on the wire, 200 MiB once decompressed; Content-Length is the former
        return gzipped(BOMB)

    async def zeros(request: web.Request) -> web.Response:
        return gzipped(ZEROS)

    async def chunked_bomb(request: web.Request) -> web.StreamResponse:
        # the same kind of body, chunked: no length to refuse it by up front
        resp = web.StreamResponse(headers={"Content-Encoding": "gzip"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        third = len(BOMB_24) // 3 + 1
        for start in range(0, len(BOMB_24), third):
            await resp.write(BOMB_24[start : start + third])
        await resp.write_eof()
        return resp

    async def corrupt(request: web.Request) -> web.Response:
        return gzipped(ZEROS[:10] + b"not deflate data" * 64)

    async def small(request: web.Request) -> web.Response:
        return web.Response(body=b"s" * 4096)

    app = web.Application()
    app.router.add_get("/huge", huge)
    app.router.add_get("/small", small)
    app.router.add_get("/bomb", bomb)
    app.router.add_get("/chunked-bomb", chunked_bomb)
    app.router.add_get("/zeros", zeros)
    app.router.add_get("/corrupt", corrupt)
    app.router.add_get("/stall", stall)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def test_body_over_cap_is_decode_error(hostile):
    transport = AiohttpTransport(max_body=1024 * 1024)
    try:
        with pytest.raises(ag.DecodeError, match="cap"):
            await transport.send(Request("GET", str(hostile.make_url("/huge"))))
    finally:
        await transport.aclose()


async def test_a_compressed_body_is_capped_as_it_is_decompressed(hostile):
    transport = AiohttpTransport(max_body=1024 * 1024)
    tracemalloc.start()
    try:
        # stopped by our cap, or by aiohttp's own decompression limit (3.13)
        with pytest.raises(ag.DecodeError, match=r"cap|decompresses past"):
            await transport.send(Request("GET", str(hostile.make_url("/bomb"))))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await transport.aclose()
    # the 200 MiB were never held at once
    assert peak < 64 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
    roomy = AiohttpTransport(max_body=8 * 1024 * 1024)
    try:
        response = await roomy.send(Request("GET", str(hostile.make_url("/zeros"))))
        assert response.body == bytes(4 * 1024 * 1024)
    finally:
        await roomy.aclose()


async def test_a_chunked_compressed_body_is_refused_without_a_copy(hostile):
    transport = AiohttpTransport(max_body=1024 * 1024)
    url = str(hostile.make_url("/chunked-bomb"))
    tracemalloc.start()
    try:
        with pytest.raises(ag.DecodeError, match="cap"):
            await transport.send(Request("GET", url))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await transport.aclose()
    # at most what aiohttp itself inflated (24 MiB on 3.13, little on 3.14), never a
    # second copy of it
    assert peak < 40 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


async def test_a_corrupt_compressed_body_is_an_unusable_answer(hostile):
    transport = AiohttpTransport()
    try:
        # cut short and corrupt look alike: retried (if replayable) as a drop is
        with pytest.raises(ag.ConnectionDroppedError, match="could not be decompr"):
            await transport.send(Request("GET", str(hostile.make_url("/corrupt"))))
    finally:
        await transport.aclose()


async def test_a_small_body_over_a_small_cap_is_refused(hostile):
    transport = AiohttpTransport(max_body=1000)
    try:
        for _ in range(3):  # the connection stays usable after each refusal
            with pytest.raises(ag.DecodeError, match="is 4096 bytes, over the 1000"):
                await transport.send(Request("GET", str(hostile.make_url("/small"))))
        bigger = AiohttpTransport(max_body=4096)
        try:
            response = await bigger.send(
                Request("GET", str(hostile.make_url("/small")))
            )
            assert response.body == b"s" * 4096
        finally:
            await bigger.aclose()
    finally:
        await transport.aclose()


async def test_body_under_cap_is_read(hostile):
    transport = AiohttpTransport(max_body=8 * 1024 * 1024)
    try:
        response = await transport.send(Request("GET", str(hostile.make_url("/huge"))))
        assert len(response.body) == 4 * 1024 * 1024
    finally:
        await transport.aclose()


async def test_stalled_server_hits_read_timeout(hostile):
    transport = AiohttpTransport(timeout=60.0, read_timeout=0.2)
    try:
        with pytest.raises(ag.RequestTimeoutError):
            await transport.send(Request("GET", str(hostile.make_url("/stall"))))
    finally:
        await transport.aclose()


async def test_offset_paging_stops_when_the_same_page_repeats():
    calls = 0

    async def fetch(offset: int, limit: int) -> tuple[list[int], int]:
        nonlocal calls
        calls += 1
        return [1, 2, 3], 10**9

    with pytest.raises(ag.DecodeError, match="not advancing"):
        _ = [i async for i in offset_pages(fetch, limit=3, key=lambda i: i)]
    assert calls == 4


async def test_offset_paging_stops_when_count_keeps_growing():
    async def fetch(offset: int, limit: int) -> tuple[list[int], int]:
        return list(range(offset, offset + limit)), offset + 2 * limit

    with pytest.raises(ag.DecodeError, match="count grew"):
        _ = [i async for i in offset_pages(fetch, limit=10, key=lambda i: i)]


async def test_offset_paging_advances_by_what_was_returned():
    data = list(range(250))

    async def fetch(offset: int, limit: int) -> tuple[list[int], int]:
        return data[offset : offset + min(limit, 100)], len(data)

    assert [i async for i in offset_pages(fetch, limit=1000, key=lambda i: i)] == data


async def test_a_page_changed_by_its_reader_does_not_change_the_walk():
    """Each page is the caller's own list: clearing it loses nothing later."""
    data = [f"k{i}" for i in range(10)]

    async def fetch(offset: int, limit: int) -> tuple[list[str], int]:
        return data[offset : offset + limit], len(data)

    got: list[str] = []
    async for page in offset_page_walk(fetch, limit=3):
        got.extend(page)
        page.clear()
    assert got == data


async def test_cursor_paging_stops_on_a_repeated_cursor():
    async def fetch(cursor: str | None) -> tuple[list[int], str | None]:
        return [1], "same"

    with pytest.raises(ag.DecodeError, match="repeated"):
        _ = [i async for i in cursor_pages(fetch)]


async def test_offset_paging_skips_items_shifted_onto_the_next_page():
    """An insert at the front mid-walk shifts items by one: each is yielded once."""
    data = list(range(300))

    async def fetch(offset: int, limit: int) -> tuple[list[int], int]:
        page = data[offset : offset + limit]
        if offset == 100:
            data.insert(0, -1)  # the server's data changes under the walk
        return page, len(data)

    walked = [i async for i in offset_pages(fetch, limit=100, key=lambda i: i)]
    assert len(walked) == len(set(walked))
    assert set(range(300)) <= set(walked)


async def test_offset_paging_memory_stays_flat():
    """De-duplication remembers a few pages, not every key of a long listing."""
    import tracemalloc

    total = 60_000

    async def fetch(offset: int, limit: int) -> tuple[list[str], int]:
        return [f"pid-{i:08d}" for i in range(offset, min(offset + 100, total))], total

    tracemalloc.start()
    try:
        count = 0
        async for _ in offset_pages(fetch, limit=100, key=lambda i: i):
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == total
    assert peak < 1_000_000  # all 60,000 keys would take several MB
