"""A call cancelled in flight runs to its end, and its result is undone."""

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from asyncgroups.transport.inflight import undone_if_cancelled


async def _run_cancelled(fails: bool) -> tuple[list[str], list[str]]:
    answered = asyncio.Event()
    steps: list[str] = []
    undone: list[str] = []
    background: set[asyncio.Task[None]] = set()

    async def call() -> str:
        await answered.wait()  # the store took the token; the answer is on its way
        steps.append("answered")
        if fails:
            raise ConnectionError("lost")
        return "token"

    async def undo(result: str) -> None:
        undone.append(result)

    def spawn(coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        background.add(task)
        task.add_done_callback(background.discard)

    waiter = asyncio.create_task(undone_if_cancelled(call(), undo, spawn))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter  # the cancellation reaches the caller at once
    assert steps == []
    assert undone == []
    answered.set()
    await asyncio.gather(*background)
    return steps, undone


async def test_a_call_cancelled_in_flight_is_undone_when_it_answers():
    assert await _run_cancelled(fails=False) == (["answered"], ["token"])


async def test_a_call_cancelled_in_flight_that_fails_has_nothing_to_undo():
    assert await _run_cancelled(fails=True) == (["answered"], [])


async def test_an_uncancelled_call_returns_its_result_and_undoes_nothing():
    undone: list[str] = []

    async def call() -> str:
        return "token"

    async def undo(result: str) -> None:
        undone.append(result)

    assert await undone_if_cancelled(call(), undo, lambda coro: coro.close()) == "token"
    assert undone == []
