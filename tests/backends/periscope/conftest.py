"""Fixtures for Periscope-only tests: an emulator with the vendor's sites, a client."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.testing import Emulator, serve_emulator

FAST = ag.RetryPolicy(
    max_attempts=4, base_delay=0.005, max_delay=0.05, deadline=30.0, budget=None
)

#: The site names and keys the vendor's examples use, verbatim.
VENDOR_SITES = {
    "site-name": "api-key",
    "mySiteName1": "myAPIKey1",
    "mySiteName2": "myAPIKey2",
    "mySiteName3": "myAPIKey3",
}


@pytest.fixture
async def periscope() -> AsyncIterator[Emulator[Any]]:
    async with serve_emulator("periscope", seed=1) as emu:
        for site, key in VENDOR_SITES.items():
            emu.store.add_site(site, key)
        yield emu


@pytest.fixture
async def pclient(periscope: Emulator[Any]) -> AsyncIterator[ag.Client]:
    backend = ag.connect("periscope", base_url=periscope.url, **periscope.credentials)
    async with ag.Client(backend, retry=FAST) as client:
        yield client
