"""Batching edge cases: request-wide rejections, unexpected errors, set-up errors."""

import asyncio

import pytest

import asyncgroups as ag
from asyncgroups.batching import run_batches
from asyncgroups.testing import serve_emulator


async def test_missing_group_fails_fast_instead_of_bisecting():
    """A rejection about the group, not the keys, does not split every chunk."""
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(1000)
        backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
            result = await client.members.add("987654", keys)
        posts = [r for r in emu.requests if r.method == "POST"]
    assert set(result.failed) == set(keys)
    assert not result.succeeded
    # 10 chunks; bisecting each to single keys would take ~1,990 requests
    assert len(posts) <= 40


async def test_bad_keys_are_still_isolated_when_messages_name_them():
    async with serve_emulator("neuroio", seed=1) as emu:
        keys = emu.store.seed_users(200)
        gid = emu.store.seed_group("g")
        backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
            result = await client.members.add(gid, [*keys, "ghost-a", "ghost-b"])
        assert set(result.failed) == {"ghost-a", "ghost-b"}
        assert emu.store.members(gid) == frozenset(keys)


async def test_unexpected_error_cancels_sibling_chunks():
    """A bug in one chunk does not leave the others writing in the background."""
    sent: list[int] = []

    async def operation(chunk):
        if chunk[0] == "k0":
            await asyncio.sleep(0.01)
            raise TypeError("boom")
        await asyncio.sleep(0.2)
        sent.append(len(chunk))

    keys = [f"k{i}" for i in range(500)]
    with pytest.raises(TypeError, match="boom"):
        await run_batches(operation, keys, max_batch=100, concurrency=5)
    await asyncio.sleep(0.4)
    assert sent == []


async def test_setup_errors_are_raised_not_recorded_per_key():
    async def operation(chunk):
        raise ag.ConfigurationError("header 'x' must not contain CR")

    with pytest.raises(ag.ConfigurationError):
        await run_batches(operation, ["a", "b"], max_batch=1, concurrency=2)


async def test_add_many_refuses_a_group_given_twice():
    async with serve_emulator("neuroio", seed=1) as emu:
        backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
        async with ag.Client(backend) as client:
            twice: dict[str | int, list[str]] = {1: ["a"], "1": ["b"]}
            with pytest.raises(ag.InvalidInputError, match="twice"):
                await client.members.add_many(twice)
        assert emu.requests == []
