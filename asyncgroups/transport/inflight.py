"""Calls to a remote store that must not be lost to a cancellation.

A task cancelled while its call is in flight does not learn what the call did:
a token taken from a shared bucket (`RedisState.reserve`) would be spent by
nobody, and every other process would wait for it. `undone_if_cancelled` lets
the call finish and hands its result to an undo step instead.
"""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["undone_if_cancelled"]

T = TypeVar("T")


async def undone_if_cancelled(
    call: Awaitable[T],
    undo: Callable[[T], Awaitable[None]],
    spawn: Callable[[Coroutine[Any, Any, None]], None],
) -> T:
    """Await ``call``; if cancelled meanwhile, ``undo`` its result once it comes.

    The call itself is shielded, so it runs to its end; the cancellation still
    reaches the caller at once. The undo step runs in the background, through
    ``spawn`` (which should keep it until done, for a flush to wait on). A call
    that fails has nothing to undo.
    """
    future = asyncio.ensure_future(call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        spawn(_undo_when_done(future, undo))
        raise


async def _undo_when_done(
    future: "asyncio.Future[T]", undo: Callable[[T], Awaitable[None]]
) -> None:
    try:
        result = await future
    except Exception:
        return
    await undo(result)
