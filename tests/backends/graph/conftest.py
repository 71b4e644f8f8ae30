"""Fixtures for Graph-only tests: one emulator and a client bound to it."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.testing import Emulator, serve_emulator

FAST = ag.RetryPolicy(
    max_attempts=12, base_delay=0.005, max_delay=0.1, deadline=60.0, budget=None
)


@pytest.fixture
async def graph() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("graph", seed=1) as emu:
        yield emu


@pytest.fixture
async def gclient(graph: Emulator[Any]) -> AsyncIterator[ag.Client]:
    backend = ag.connect("graph", base_url=graph.url, **graph.credentials)
    async with ag.Client(backend, retry=FAST) as client:
        yield client
