"""Fixtures for NeuroIO-only tests: one emulator and a client bound to it."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.testing import Emulator, serve_emulator

FAST = ag.RetryPolicy(
    max_attempts=12, base_delay=0.005, max_delay=0.1, deadline=60.0, budget=None
)


@pytest.fixture
async def neuroio() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("neuroio", seed=1) as emu:
        yield emu


@pytest.fixture
async def nclient(neuroio: Emulator[Any]) -> AsyncIterator[ag.Client]:
    backend = ag.backends.NeuroIO(
        base_url=neuroio.url, token=neuroio.credentials["token"]
    )
    async with ag.Client(backend, retry=FAST) as client:
        yield client
