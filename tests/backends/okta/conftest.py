"""Fixtures for Okta-only tests: one emulator and a client bound to it."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.testing import Emulator, serve_emulator

FAST = ag.RetryPolicy(
    max_attempts=12, base_delay=0.005, max_delay=0.1, deadline=60.0, budget=None
)


@pytest.fixture
async def okta() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("okta", seed=1, page_size=5) as emu:
        yield emu


@pytest.fixture
async def oclient(okta: Emulator[Any]) -> AsyncIterator[ag.Client]:
    backend = ag.connect("okta", base_url=okta.url, page_size=5, **okta.credentials)
    async with ag.Client(backend, retry=FAST) as client:
        yield client
