"""Fault injection for the emulators: scripted per route or random with a seed.

[`Faults`][asyncgroups.testing.Faults] is an aiohttp middleware. Rules are checked in
the order they were added; latency adds up and lets the request go on, every other fault
answers (or drops the connection) in place of the emulator. Counters by fault kind are
kept in `Faults.counts`.
"""

import asyncio
import contextlib
import fnmatch
import json
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from attrs import define, evolve, field, frozen

__all__ = ["Fault", "FaultRule", "Faults", "TokenBucket"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTML_503 = (
    "<!DOCTYPE html><html><head><title>{code} Service Unavailable</title></head>"
    "<body><h1>{code}</h1><p>The upstream server is temporarily unable to service "
    "your request.</p><hr><address>nginx</address></body></html>"
)


@frozen
class Fault:
    """One kind of misbehaviour. Build with the class methods."""

    kind: str
    code: int = 0
    retry_after: float | str | None = None
    html: bool = False
    body: bytes | None = None
    headers: Mapping[str, str] = field(factory=dict)
    after_apply: bool = False
    seconds: float = 0.0
    per_second: float = 0.0
    burst: int = 1
    exact_retry_after: bool = False

    @classmethod
    def status(
        cls,
        code: int,
        *,
        retry_after: float | str | None = None,
        html: bool = False,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> "Fault":
        """Answer ``code`` instead of the emulator (with Retry-After, an HTML page...)."""
        return cls(
            "status",
            code=code,
            retry_after=retry_after,
            html=html,
            body=body,
            headers=dict(headers or {}),
        )

    @classmethod
    def drop(cls, *, after_apply: bool = False) -> "Fault":
        """Close the connection with no answer, before or after applying the request."""
        return cls("drop", after_apply=after_apply)

    @classmethod
    def latency(cls, seconds: float) -> "Fault":
        """Wait ``seconds`` before handling the request."""
        return cls("latency", seconds=seconds)

    @classmethod
    def malformed(cls, status: int = 200) -> "Fault":
        """Answer ``status`` with a body that is not valid JSON."""
        return cls("malformed", code=status)

    @classmethod
    def truncated(cls) -> "Fault":
        """Apply the request, then send a body shorter than its Content-Length."""
        return cls("truncated", after_apply=True)

    @classmethod
    def rate_limit(
        cls,
        per_second: float,
        *,
        burst: int | None = None,
        retry_after: float | str | None = None,
        exact_retry_after: bool = False,
    ) -> "Fault":
        """A server-side token bucket: over the rate, answer 429 with Retry-After.

        Args:
            per_second: the bucket's rate.
            burst: its size (default: the rate, at least 1).
            retry_after: a fixed ``Retry-After`` (seconds or the header's text);
                by default the wait until a token is free, rounded up to whole
                seconds (at least 1), as RFC 9110 asks and real APIs send.
            exact_retry_after: send that wait unrounded (fractional seconds).
        """
        return cls(
            "rate_limit",
            per_second=per_second,
            burst=burst or max(1, int(per_second)),
            retry_after=retry_after,
            exact_retry_after=exact_retry_after,
        )


@define
class TokenBucket:
    """A token bucket on an injectable clock (the server side of a rate limit)."""

    rate: float
    capacity: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = -1.0
    stamp: float = -1.0

    def take(self) -> float:
        """Take a token; return 0 on success, else the seconds until one is free."""
        now = self.clock()
        if self.stamp < 0:
            self.tokens, self.stamp = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@define
class FaultRule:
    """A fault with the conditions under which it fires."""

    fault: Fault
    times: int | None = None
    route: str | None = None
    after: int = 0
    when: Callable[[web.Request], bool] | None = None
    matched: int = 0
    fired: int = 0
    bucket: TokenBucket | None = None

    def matches(self, request: web.Request) -> bool:
        """Whether the request's method and path match this rule."""
        if self.route is not None:
            method, _, pattern = self.route.partition(" ")
            if not pattern:
                method, pattern = "*", method
            if method not in ("*", request.method):
                return False
            if not fnmatch.fnmatchcase(request.path, pattern):
                return False
        return self.when is None or bool(self.when(request))


class Faults:
    """The fault injector of one emulator (an aiohttp middleware).

    Args:
        clock: the clock server-side rate limits run on (injectable for tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.rules: list[FaultRule] = []
        self.counts: Counter[str] = Counter()
        self._clock = clock
        self._random: random.Random | None = None
        self._p: dict[str, float] = {}
        self._random_retry_after: float | str | None = None

    def add(
        self,
        fault: Fault,
        *,
        times: int | None = None,
        route: str | None = None,
        after: int = 0,
        when: Callable[[web.Request], bool] | None = None,
    ) -> FaultRule:
        """Script a fault.

        Args:
            fault: what to do.
            times: how many times it fires; ``None`` is every time.
            route: ``"METHOD /path/glob*"`` or ``"/path/glob*"``; ``None`` is any.
            after: let this many matching requests through first.
            when: any predicate on the ``aiohttp.web.Request``.
        """
        bucket = None
        if fault.kind == "rate_limit":
            bucket = TokenBucket(fault.per_second, fault.burst, clock=self._clock)
        rule = FaultRule(
            fault, times=times, route=route, after=after, when=when, bucket=bucket
        )
        self.rules.append(rule)
        return rule

    def random(
        self,
        *,
        seed: int,
        p429: float = 0.0,
        p503: float = 0.0,
        pdrop: float = 0.0,
        pdrop_before: float = 0.0,
        retry_after: float | str | None = 1,
    ) -> None:
        """Seeded random faults on every request.

        Kinds: 429 (with ``Retry-After``: 1 s by default, whole seconds as real
        APIs send; a test may ask for a fraction), HTML 503, connections dropped
        after applying (``pdrop``) or before (``pdrop_before``).
        """
        self._random = random.Random(seed)
        self._p = {"429": p429, "503": p503, "drop": pdrop, "drop_before": pdrop_before}
        self._random_retry_after = retry_after

    def clear(self) -> None:
        """Remove every scripted and random fault (counters are kept)."""
        self.rules.clear()
        self._random = None
        self._p = {}

    def _pick(self, request: web.Request) -> tuple[float, Fault | None]:
        delay = 0.0
        for rule in self.rules:
            if rule.times is not None and rule.fired >= rule.times:
                continue
            if not rule.matches(request):
                continue
            rule.matched += 1
            if rule.matched <= rule.after:
                continue
            fault = rule.fault
            if fault.kind == "rate_limit":
                wait = rule.bucket.take() if rule.bucket is not None else 0.0
                if wait <= 0:
                    continue
                rule.fired += 1
                ra = fault.retry_after
                if ra is None:  # whole seconds, as RFC 9110 asks and real APIs send
                    ra = wait if fault.exact_retry_after else max(1, math.ceil(wait))
                return delay, evolve(
                    Fault.status(429, retry_after=ra), kind="rate_limit"
                )
            rule.fired += 1
            if fault.kind == "latency":
                delay += fault.seconds
                self.counts["latency"] += 1
                continue
            return delay, fault
        if self._random is not None:
            roll = self._random.random()
            edge = 0.0
            for kind, p in self._p.items():
                edge += p
                if roll < edge:
                    if kind == "429":
                        return delay, Fault.status(
                            429, retry_after=self._random_retry_after
                        )
                    if kind == "503":
                        return delay, Fault.status(503, html=True)
                    return delay, Fault.drop(after_apply=kind == "drop")
        return delay, None

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Apply the first matching fault, or pass the request on."""
        delay, fault = self._pick(request)
        if delay:
            await asyncio.sleep(delay)
        if fault is None:
            return await handler(request)
        if fault.kind in ("status", "rate_limit"):
            self.counts[str(fault.code)] += 1
            if fault.kind == "rate_limit":
                self.counts["rate_limit"] += 1
            return _status_response(fault)
        if fault.kind == "malformed":
            self.counts["malformed"] += 1
            return web.Response(
                status=fault.code,
                body=b'{"results": [1, 2,',
                content_type="application/json",
            )
        if fault.kind == "drop":
            self.counts["drop_after" if fault.after_apply else "drop_before"] += 1
            self.counts["drop"] += 1
            if fault.after_apply:
                await _apply(handler, request)
            _close(request)
            raise DroppedError
        if fault.kind == "truncated":
            self.counts["truncated"] += 1
            await _apply(handler, request)
            resp = web.StreamResponse(
                status=200,
                headers={"Content-Type": "application/json", "Content-Length": "1000"},
            )
            await resp.prepare(request)
            await resp.write(b'{"partial": ')
            _close(request)
            raise DroppedError
        msg = f"unknown fault kind {fault.kind!r}"
        raise AssertionError(msg)


class DroppedError(Exception):
    """Signals that the connection was closed on purpose."""


async def _apply(handler: Handler, request: web.Request) -> None:
    with contextlib.suppress(web.HTTPException):
        await handler(request)


def _close(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


def _status_response(fault: Fault) -> web.Response:
    headers = dict(fault.headers)
    if fault.retry_after is not None:
        ra = fault.retry_after
        headers["Retry-After"] = ra if isinstance(ra, str) else _seconds(ra)
    if fault.body is not None:
        return web.Response(status=fault.code, body=fault.body, headers=headers)
    if fault.html:
        page = _HTML_503.format(code=fault.code)
        return web.Response(
            status=fault.code, text=page, content_type="text/html", headers=headers
        )
    payload: dict[str, Any] = {"detail": f"injected fault: status {fault.code}"}
    return web.Response(
        status=fault.code,
        text=json.dumps(payload),
        content_type="application/json",
        headers=headers,
    )


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
