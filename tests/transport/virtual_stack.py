"""The stack a Client builds, over an in-process server on the virtual clock."""

import asyncio
import random

import asyncgroups as ag
from asyncgroups.transport.base import AsyncTransport
from asyncgroups.transport.observed import Observer
from asyncgroups.transport.stack import build_stack


def paced_stack(api: AsyncTransport, rate_limit: ag.RateLimit | None) -> AsyncTransport:
    """`build_stack` over ``api``: no retries, the running loop's clock, a seeded rng."""
    return build_stack(
        api,
        observer=Observer(),
        retry=None,
        rate_limit=rate_limit,
        clock=asyncio.get_running_loop().time,
        rng=random.Random(2),
    )
