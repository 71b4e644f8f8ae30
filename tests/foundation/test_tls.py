"""TLS: verification on by default, a private CA accepted, verification off is loud."""

import logging
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trustme

import asyncgroups as ag
from asyncgroups.testing import Emulator, serve_emulator

from .conftest import TOKEN, ToyBackend


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def https_toy(ca: trustme.CA) -> AsyncIterator[Emulator[Any]]:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    async with serve_emulator("toy", ssl_context=server_ctx) as emu:
        emu.store.seed_group("g")
        yield emu


async def test_self_signed_is_refused_by_default(https_toy):
    assert https_toy.url.startswith("https://")
    backend = ToyBackend(token=TOKEN, base_url=https_toy.url)
    async with ag.Client(backend, retry=ag.RetryPolicy.off()) as client:
        with pytest.raises(ag.ConnectError, match="certificate verification failed"):
            await client.groups.get("1")
    assert https_toy.requests == []


async def test_private_ca_is_accepted(https_toy, ca):
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    backend = ToyBackend(token=TOKEN, base_url=https_toy.url)
    async with ag.Client(
        backend, ssl_context=ctx, retry=ag.RetryPolicy.off()
    ) as client:
        assert (await client.groups.get("1")).id == "1"


async def test_verification_off_is_explicit_and_logged(https_toy, caplog):
    caplog.set_level(logging.WARNING, logger="asyncgroups")
    backend = ToyBackend(token=TOKEN, base_url=https_toy.url)
    async with ag.Client(backend, verify=False, retry=ag.RetryPolicy.off()) as client:
        assert (await client.groups.get("1")).id == "1"
    assert any("verification is OFF" in r.getMessage() for r in caplog.records)
