"""A server with a rate limit the client does not know, on a virtual clock.

Used by ``benchmarks/throttling.py`` for its table. The client is the stack a
Client builds (``build_stack``: retrying and rate-limiting layers, the Client's
default retry policy) around an in-process server: a token bucket on the same
virtual clock, a 429 above it with ``Retry-After`` whole seconds (rounded up, as
real APIs send), exact (fractional) or absent, and optionally 429s at random
whatever the rate. The event loop's clock only moves when every task waits on a
timer, so 60 s of traffic take a fraction of a second and runs are repeatable.
"""

import asyncio
import math
import random
import selectors
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs

import asyncgroups as ag
from asyncgroups.errors import AsyncGroupsError
from asyncgroups.testing import TokenBucket
from asyncgroups.transport.base import Request, Response
from asyncgroups.transport.observed import Observer
from asyncgroups.transport.stack import build_stack

T = TypeVar("T")

#: One-way travel time of a request or an answer (loopback-like), seconds.
HOP = 0.001


@attrs.frozen
class Scenario:
    """One cell of the table: the server, its answers and the client."""

    limit: float = 50.0
    burst: int = 10
    retry_after: str = "integer"  # "integer", "exact" or "absent"
    stray: float = 0.0  # share of requests answered 429 at random
    in_flight: int = 16
    client: str = "defaults"  # a label for rate_limit
    seconds: float = 60.0
    seed: int = 1
    rate_limit: ag.RateLimit | None = attrs.field(default=None, eq=False)


class Server:
    """Answers like a rate-limited API: 200 within its bucket, else 429."""

    def __init__(self, scenario: Scenario, clock: Callable[[], float]) -> None:
        self.scenario = scenario
        self.clock = clock
        self.bucket = TokenBucket(scenario.limit, scenario.burst, clock=clock)
        self.random = random.Random(scenario.seed)
        self.answers: list[tuple[float, int]] = []  # (time, status)

    async def send(self, request: Request) -> Response:
        await asyncio.sleep(HOP)
        now = self.clock()
        if self.scenario.stray and self.random.random() < self.scenario.stray:
            status, wait = 429, 1.0
        else:
            wait = self.bucket.take()
            status = 429 if wait else 200
        self.answers.append((now, status))
        await asyncio.sleep(HOP)
        if status == 200:
            return Response(200, {}, b"{}", request)
        headers = {}
        style = self.scenario.retry_after
        if style == "integer":
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        elif style == "exact":
            headers["Retry-After"] = f"{wait:.3f}"
        return Response(429, headers, b"", request)

    async def aclose(self) -> None:
        return None


@attrs.define
class Outcome:
    """What one scenario measured."""

    scenario: Scenario
    ok: int
    throttled: int
    failed: int
    answers: list[tuple[float, int]]
    rates: list[tuple[float, float]]  # (time, the client limiter's rate)

    @property
    def goodput(self) -> float:
        """Successful answers per second ÷ the server's limit."""
        s = self.scenario
        return self.ok / (s.limit * s.seconds)

    @property
    def share_429(self) -> float:
        """Share of attempts answered 429."""
        return self.throttled / max(1, self.ok + self.throttled)


async def _run(scenario: Scenario) -> Outcome:
    loop = asyncio.get_running_loop()
    server = Server(scenario, loop.time)
    stack = build_stack(
        server,
        observer=Observer(),
        retry=None,
        rate_limit=scenario.rate_limit,
        clock=loop.time,
        rng=random.Random(scenario.seed + 1),
    )
    limited: Any = stack._inner
    request = Request("GET", "https://api.example.com/groups/1")
    failed = 0
    end = scenario.seconds
    rates: list[tuple[float, float]] = []

    async def worker() -> None:
        nonlocal failed
        while loop.time() < end:
            try:
                await stack.send(request)
            except AsyncGroupsError:
                failed += 1

    async def sampler() -> None:
        while loop.time() < end:
            rates.append((loop.time(), float(limited.limiter.rate)))
            await asyncio.sleep(0.1)

    await asyncio.gather(sampler(), *(worker() for _ in range(scenario.in_flight)))
    answers = [(t, s) for t, s in server.answers if t < end]
    ok = sum(1 for _, s in answers if s == 200)
    return Outcome(scenario, ok, len(answers) - ok, failed, answers, rates)


def simulate(scenario: Scenario) -> Outcome:
    """Run one scenario on a fresh virtual-time loop."""
    return run_virtual(lambda: _run(scenario))


class _VirtualSelector:
    """Wraps the loop's selector: waiting advances virtual time instead of blocking."""

    def __init__(self, real: selectors.BaseSelector, loop: "VirtualLoop") -> None:
        self._real = real
        self._loop = loop

    def select(self, timeout: float | None = None) -> Any:
        if timeout is None:
            msg = "virtual-time loop would block forever (deadlock)"
            raise RuntimeError(msg)
        if timeout > 0:
            self._loop.now += timeout
        return self._real.select(0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock only moves when every task is waiting on a timer."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self._selector = _VirtualSelector(self._selector, self)  # type: ignore[has-type,arg-type]

    def time(self) -> float:
        return self.now


def run_virtual(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` on a fresh virtual-time loop."""
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()
