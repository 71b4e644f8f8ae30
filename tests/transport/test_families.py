"""Pacing per endpoint family from rate-limit headers, on a virtual clock.

A toy server keeps one fixed window per family (as Okta does) and announces it in
``X-Rate-Limit-*`` headers (reset in seconds); the limiter is told nothing else.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

import asyncgroups as ag
from asyncgroups.transport.base import Request, Response
from asyncgroups.transport.families import FamilyBudgets
from asyncgroups.transport.limiter import Limiter

Run = Callable[[Callable[[], Awaitable[Any]]], Any]


@attrs.define
class WindowServer:
    """Fixed windows per family on the loop's clock; counts what it answers."""

    limits: dict[str, int]
    window: float
    used: dict[tuple[str, int], int] = attrs.field(factory=dict)
    answered: list[tuple[str, float, int]] = attrs.field(factory=list)

    def answer(self, request: Request) -> Response:
        family = request.family or "-"
        now = asyncio.get_running_loop().time()
        index = int(now // self.window)
        used = self.used.get((family, index), 0)
        limit = self.limits[family]
        status = 200 if used < limit else 429
        if status == 200:
            used += 1
            self.used[(family, index)] = used
        self.answered.append((family, now, status))
        reset = (index + 1) * self.window - now
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(limit - used),
            "x-rate-limit-reset": f"{reset:.3f}",
        }
        return Response(status, headers, b"{}", request)


def _request(family: str | None) -> Request:
    return Request("PUT", "https://org.example/api/v1/x", family=family)


async def _send_all(
    limiter: Limiter, server: WindowServer, families: list[str | None], rtt: float
) -> None:
    async def one(family: str | None) -> None:
        while True:
            async with limiter.slot(_request(family)) as slot:
                await asyncio.sleep(rtt)
                response = server.answer(_request(family))
                slot.answered(response)
            if response.status != 429:
                return

    await asyncio.gather(*(one(f) for f in families))


def test_a_family_spends_each_window_to_its_end_without_a_429(virtual: Run) -> None:
    async def main() -> tuple[WindowServer, float]:
        loop = asyncio.get_running_loop()
        server = WindowServer({"members": 20}, window=10.0)
        limiter = Limiter(ag.RateLimit(max_concurrency=8), clock=loop.time)
        start = loop.time()
        await _send_all(limiter, server, ["members"] * 100, rtt=0.05)
        return server, loop.time() - start

    server, wall = virtual(main)
    statuses = [s for _, _, s in server.answered]
    assert statuses.count(429) == 0
    assert statuses.count(200) == 100
    # five windows of 20: the last one opens after four resets
    assert 40.0 <= wall <= 41.0
    windows = {int(t // 10.0) for _, t, _ in server.answered}
    assert windows == {0, 1, 2, 3, 4}


def test_an_exhausted_family_does_not_hold_another(virtual: Run) -> None:
    async def main() -> WindowServer:
        loop = asyncio.get_running_loop()
        server = WindowServer({"members": 5, "groups": 100}, window=60.0)
        limiter = Limiter(ag.RateLimit(max_concurrency=4), clock=loop.time)
        await _send_all(limiter, server, ["members"] * 5, rtt=0.01)  # learn, spend
        members = asyncio.create_task(_send_all(limiter, server, ["members"], 0.01))
        await asyncio.sleep(1.0)
        await _send_all(limiter, server, ["groups"] * 30, rtt=0.01)
        groups_done = loop.time()
        await members
        server.answered.append(("groups-done", groups_done, 0))
        return server

    server = virtual(main)
    (done,) = [t for f, t, _ in server.answered if f == "groups-done"]
    assert done < 5.0  # the groups family went on while members waited for its reset
    members = [(t, s) for f, t, s in server.answered if f == "members"]
    assert all(s == 200 for _, s in members)
    assert members[-1][0] >= 60.0  # the 6th member request waited for the reset


def test_answers_only_lower_the_count_and_stale_windows_are_ignored(
    virtual: Run,
) -> None:
    async def main() -> FamilyBudgets:
        loop = asyncio.get_running_loop()
        budgets = FamilyBudgets(loop.time, asyncio.sleep)
        head = {"x-rate-limit-limit": "10", "x-rate-limit-reset": "30"}
        assert budgets.observe("f", 200, head | {"x-rate-limit-remaining": "9"})
        for _ in range(5):
            assert budgets.take_now("f")
        # an answer sent before our five came back: it does not raise the count
        budgets.observe("f", 200, head | {"x-rate-limit-remaining": "8"})
        assert budgets.windows["f"].left == 4
        # another client spent the window: the count falls
        budgets.observe("f", 200, head | {"x-rate-limit-remaining": "1"})
        assert budgets.windows["f"].left == 1
        # a 429 of this window empties it
        budgets.observe("f", 429, head | {"x-rate-limit-remaining": "0"})
        assert not budgets.take_now("f")
        await asyncio.sleep(31.0)
        # the window ended: the next one holds the limit again
        assert budgets.take_now("f")
        assert budgets.windows["f"].left == 9
        # a late answer from the old window changes nothing
        old = {"x-rate-limit-limit": "10", "x-rate-limit-reset": "0"}
        budgets.observe("f", 429, old | {"x-rate-limit-remaining": "0"})
        assert budgets.windows["f"].left == 9
        assert not budgets.observe("f", 200, {})  # no headers: not its budget
        return budgets

    budgets = virtual(main)
    assert len(budgets) == 1


def test_a_request_without_a_family_keeps_the_clients_one_budget(
    virtual: Run,
) -> None:
    async def main() -> Limiter:
        loop = asyncio.get_running_loop()
        limiter = Limiter(ag.RateLimit(), clock=loop.time)
        headers = {
            "x-rate-limit-limit": "10",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": "5",
        }
        async with limiter.slot(_request(None)) as slot:
            slot.answered(Response(200, headers, b"", _request(None)))
        return limiter

    limiter = virtual(main)
    assert len(limiter.families) == 0
    assert limiter.gate.until > 0  # the whole Client waits, as before


@attrs.define
class LateServer(WindowServer):
    """Announces each reset rounded down to whole seconds, as an epoch-second
    ``X-Rate-Limit-Reset`` does: most answers say the window is over (reset 0)
    though it is not, and the client's idea of the window ends early."""

    def answer(self, request: Request) -> Response:
        response = super().answer(request)
        headers = dict(response.headers)
        headers["x-rate-limit-reset"] = str(int(float(headers["x-rate-limit-reset"])))
        return Response(response.status, headers, response.body, request)


def test_answers_that_tell_nothing_never_leave_a_family_waiting(virtual: Run) -> None:
    async def main() -> tuple[LateServer, float]:
        loop = asyncio.get_running_loop()
        server = LateServer({"members": 30}, window=1.0)
        limiter = Limiter(ag.RateLimit(max_concurrency=8), clock=loop.time)
        start = loop.time()
        await asyncio.wait_for(
            _send_all(limiter, server, ["members"] * 60, rtt=0.05), timeout=600
        )
        return server, loop.time() - start

    server, wall = virtual(main)
    done = [s for _, _, s in server.answered if s == 200]
    assert len(done) == 60
    # Never faster than the server's windows allow, and no stall: a few windows.
    assert 1.0 <= wall < 20.0


def test_a_slow_first_answer_lets_one_request_ask_not_every_waiter(
    virtual: Run,
) -> None:
    """While a family's budget is unknown and its first answer is slow (a loaded
    machine), the waiters go one a second to ask, never all together into a
    window they would overrun."""

    async def main() -> WindowServer:
        loop = asyncio.get_running_loop()
        server = WindowServer({"members": 30}, window=60.0)
        limiter = Limiter(ag.RateLimit(max_concurrency=64), clock=loop.time)
        await asyncio.wait_for(
            _send_all(limiter, server, ["members"] * 60, rtt=1.5), timeout=600
        )
        return server

    server = virtual(main)
    statuses = [s for _, _, s in server.answered]
    assert statuses.count(200) == 60
    # the first request and one that went to ask before its answer came
    assert statuses.count(429) <= 1, statuses.count(429)


def test_slow_answers_from_a_rolled_window_are_waited_for(virtual: Run) -> None:
    """Answers slower than the news timeout (a loaded machine) are news still to
    come: while requests of the family are out, nobody goes to ask."""

    async def main() -> WindowServer:
        loop = asyncio.get_running_loop()
        server = WindowServer({"members": 10}, window=10.0)
        limiter = Limiter(ag.RateLimit(max_concurrency=64), clock=loop.time)
        await asyncio.wait_for(
            _send_all(limiter, server, ["members"] * 35, rtt=1.5), timeout=600
        )
        return server

    server = virtual(main)
    statuses = [s for _, _, s in server.answered]
    assert statuses.count(200) == 35
    assert statuses.count(429) == 0
