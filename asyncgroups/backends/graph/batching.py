"""Packing a session's membership changes into ``POST /$batch`` requests.

Graph answers up to 20 sub-requests in one ``$batch``, each with its own status
and its own ``Retry-After``. `Batcher` collects the sub-requests that one
session's concurrent calls submit in the same moment (the Client runs many chunks
at once) and sends them together: up to 20 per request, a lone one as an ordinary
request. Each caller gets its own sub-response, so a failure stays with the
sub-request it answers. A sub-request answered 429/503/504 inside a batch is sent
again alone (or with whatever else is waiting then), after its own ``Retry-After``;
nothing else is re-sent. A lone request is retried by the transport as usual.

It holds no policy beyond that: the session decides what a sub-response means.
"""

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from asyncgroups.backends.graph.changes import MAX_BATCH, SubRequest, SubResponse
from asyncgroups.transport.headers import parse_retry_after

__all__ = ["RETRY_STATUSES", "Batcher"]

#: Sub-response statuses that mean "not applied, try again later".
RETRY_STATUSES = frozenset({429, 503, 504})
#: Event-loop turns a batch waits for more sub-requests before it is sent.
_COLLECT_TURNS = 16

_Pending = tuple[SubRequest, "asyncio.Future[tuple[SubResponse, bool]]"]


class Batcher:
    """Coalesces concurrent sub-requests into ``$batch`` requests.

    Args:
        send_one: sends one sub-request as an ordinary request.
        send_many: sends 2 to 20 sub-requests as one ``$batch``; returns their
            sub-responses in order.
        size: sub-requests one ``$batch`` carries (at most 20).
        attempts: times a sub-request answered 429/503/504 in a batch is sent.
        max_wait: the longest ``Retry-After`` waited for; longer fails at once.
        sleep: the wait between attempts (injectable for tests).
        rng: jitter for waits without ``Retry-After``.
    """

    def __init__(
        self,
        send_one: Callable[[SubRequest], Awaitable[SubResponse]],
        send_many: Callable[[Sequence[SubRequest]], Awaitable[list[SubResponse]]],
        *,
        size: int = MAX_BATCH,
        attempts: int = 6,
        max_wait: float = 60.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._send_one = send_one
        self._send_many = send_many
        self._size = max(1, min(size, MAX_BATCH))
        self._attempts = max(1, attempts)
        self._max_wait = max_wait
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311
        self._pending: list[_Pending] = []
        self._collector: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: Requests sent: ``$batch`` requests and lone sub-requests.
        self.batches = 0
        self.alone = 0

    async def send(self, sub: SubRequest) -> SubResponse:
        """Send ``sub`` (packed with others where it can be); its sub-response.

        Raises:
            AsyncGroupsError: the request carrying it failed as a whole.
        """
        for attempt in range(1, self._attempts + 1):
            answer, alone = await self._enqueue(sub)
            if alone or answer.status not in RETRY_STATUSES:
                return answer
            if attempt == self._attempts:
                return answer
            wait = parse_retry_after(answer.headers.get("retry-after"))
            if wait is None:
                wait = self._rng.uniform(0.0, min(5.0, 0.05 * 2**attempt))
            if wait > self._max_wait:
                return answer
            await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _enqueue(self, sub: SubRequest) -> "asyncio.Future[tuple[SubResponse, bool]]":
        future: asyncio.Future[tuple[SubResponse, bool]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending.append((sub, future))
        if len(self._pending) >= self._size:
            chunk = self._pending[: self._size]
            del self._pending[: self._size]
            _ = self._spawn(self._run(chunk))
        elif self._collector is None:
            self._collector = self._spawn(self._collect())
        return future

    def _spawn(self, work: Awaitable[None]) -> "asyncio.Task[None]":
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _collect(self) -> None:
        """Let every caller that is ready add its sub-requests, then send the rest."""
        try:
            quiet = 0
            for _ in range(_COLLECT_TURNS):
                before = len(self._pending)
                await asyncio.sleep(0)
                if not self._pending:
                    return
                quiet = quiet + 1 if len(self._pending) == before else 0
                if quiet >= 2:
                    break
        finally:
            self._collector = None
        chunk, self._pending = self._pending, []
        if chunk:
            await self._run(chunk)

    async def _run(self, chunk: list[_Pending]) -> None:
        subs = [sub for sub, _ in chunk]
        alone = len(subs) == 1
        try:
            if alone:
                self.alone += 1
                answers = [await self._send_one(subs[0])]
            else:
                self.batches += 1
                answers = await self._send_many(subs)
        except Exception as exc:  # the request as a whole: every caller gets it
            for _, future in chunk:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:
            for _, future in chunk:
                future.cancel()
            raise
        for (_, future), answer in zip(chunk, answers, strict=True):
            if not future.done():
                future.set_result((answer, alone))

    async def aclose(self) -> None:
        """Cancel what is still collecting or in flight (idempotent)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        for _, future in self._pending:
            future.cancel()
        self._pending.clear()
