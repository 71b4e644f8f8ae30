"""RedisStore: one rate limit shared by processes and machines, kept in Redis.

The token bucket, the 429 gate (a shared pause-until) and the adaptive rate live in
Redis and change only inside Lua scripts, so every update is atomic. Times are
Redis's own (``TIME``): hosts need not agree on their clocks.

Redis is an optimisation of politeness, never a point of failure: every call has a
timeout, and while Redis is unreachable the limiter falls back to local limits at a
conservative share of the rate (``per_second * fallback_share``), logs one WARNING,
and tries Redis again every ``retry_interval`` seconds. A 429 still closes this
process's gate at once; the shared gate is published in the background. Needs the
``redis`` package (``pip install 'asyncgroups[redis]'``), imported only when a
store is opened.
"""

import asyncio
import importlib.util
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from asyncgroups import _redact
from asyncgroups.config import RateLimit
from asyncgroups.errors import ConfigurationError
from asyncgroups.transport.bucket import Gate, Reservation, gate_spread
from asyncgroups.transport.inflight import undone_if_cancelled
from asyncgroups.transport.limiter_store import MemoryState, shared_capacity
from asyncgroups.transport.redis_scripts import connect, num

__all__ = ["RedisState", "RedisStore"]

logger = logging.getLogger("asyncgroups.transport.redis")

#: Seconds between two recovery updates sent by one process.
_RECOVER_EVERY = 0.1


class RedisStore:
    """Limiter state in Redis, shared by every process with the same key prefix.

    Args:
        url: ``redis://[:password@]host:port/db`` (or ``rediss://``, ``unix://``).
        key_prefix: names the shared limit; by default derived from what is limited
            (the API's origin and a SHA-256 of the credentials: no secret).
        expected_processes: how many processes usually share the limit.
        fallback_share: the share of ``per_second`` one process uses while Redis is
            unreachable; defaults to ``1 / expected_processes``.
        timeout: seconds allowed for one Redis call (connecting included).
        retry_interval: seconds between attempts to reach Redis again.
        key_ttl: seconds an idle limit's keys are kept.

    Raises:
        ConfigurationError: a bad number, or the ``redis`` package is missing.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        key_prefix: str | None = None,
        expected_processes: int = 4,
        fallback_share: float | None = None,
        timeout: float = 1.0,
        retry_interval: float = 5.0,
        key_ttl: float = 3600.0,
    ) -> None:
        if isinstance(expected_processes, bool) or expected_processes < 1:
            raise ConfigurationError("expected_processes must be an integer >= 1")
        share = 1.0 / expected_processes if fallback_share is None else fallback_share
        if not 0 < share <= 1:
            raise ConfigurationError("fallback_share must be in (0, 1]")
        for name, value in (
            ("timeout", timeout),
            ("retry_interval", retry_interval),
            ("key_ttl", key_ttl),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ConfigurationError(f"{name} must be a positive finite number")
        if key_prefix is not None and not key_prefix.strip():
            raise ConfigurationError("key_prefix must not be empty")
        if importlib.util.find_spec("redis") is None:
            raise ConfigurationError(
                "RedisStore needs the redis package: pip install 'asyncgroups[redis]'"
            )
        self.url = url
        self.key_prefix = key_prefix
        self.expected_processes = expected_processes
        self.fallback_share = share
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.key_ttl = key_ttl

    def open(
        self,
        limit: RateLimit,
        *,
        identity: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> "RedisState":
        """The shared state of one limiter (connects at its first use)."""
        prefix = self.key_prefix or f"asyncgroups:ratelimit:{identity or 'default'}"
        return RedisState(self, limit, prefix, clock)

    def __repr__(self) -> str:
        return (
            f"RedisStore({_redact.url(self.url)!r}, key_prefix={self.key_prefix!r}, "
            f"fallback_share={self.fallback_share:g})"
        )


class RedisState:
    """One limiter's view of a shared limit; local limits while Redis is away.

    ``local`` is this process's own state at the fallback share: it also mirrors
    the gate, so waiters in this process do not each ask Redis. A token taken
    before a 429 pause is renewed after it, and closing the gate empties the shared
    bucket until it opens: senders resume paced, not all at once.

    Failover and return are conservative (``benchmarks/shared_limit_failover.py``):
    the local bucket starts empty, in debt for the shared tokens still due; a
    shared token is never refunded locally; a process coming back makes a missing
    (restarted) shared bucket empty and paused while others may spend local shares.
    """

    shared = True
    requeue_after_gate = True
    wants_success = True

    def __init__(
        self,
        store: RedisStore,
        limit: RateLimit,
        prefix: str,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.limit = limit
        self._clock = clock
        tag = "{" + prefix + "}"  # one hash slot: scripts touch several keys
        self.keys = {name: f"{tag}:{name}" for name in ("bucket", "gate", "adaptive")}
        self.base_rate = (
            float(limit.per_second) if limit.per_second is not None else math.inf
        )
        self.capacity = shared_capacity(limit, self.base_rate)
        self.local = MemoryState(
            limit, clock(), base_rate=self.base_rate * store.fallback_share
        )
        self._rate = self.base_rate
        self._cap_rate = math.inf
        self._cap_until = -math.inf
        self._redis: Any = None
        self._scripts: dict[str, Any] = {}
        self._down_until = -math.inf
        self._warned = False  # Redis is away: local limits apply
        self._back = False  # back after being away: a missing bucket starts paused
        self._shared_due = -math.inf  # when the last token Redis granted is due
        self._local_due = -math.inf  # when the last local token is due
        self._pending: set[asyncio.Task[None]] = set()
        self._last_recover = -math.inf
        self._closed = False

    @property
    def available(self) -> bool:
        """Whether Redis is believed reachable (a retry is due counts as reachable)."""
        return self._clock() >= self._down_until

    def _client(self) -> Any:
        if self._redis is None:
            self._redis, self._scripts = connect(self.store.url, self.store.timeout)
        return self._redis

    async def _run(
        self, name: str, keys: list[str], args: list[Any], *, force: bool = False
    ) -> Any:
        """Run one script; ``None`` if Redis is away (then local limits apply).

        ``force`` tries even while Redis is believed away (a 429 is worth it).
        """
        if self._closed or not (force or self.available):
            return None
        try:
            async with asyncio.timeout(self.store.timeout * 2):
                client = self._client()
                result = await self._scripts[name](keys=keys, args=args, client=client)
        except Exception as exc:
            self._down(exc)
            return None
        self._down_until = -math.inf
        if self._warned:
            self._warned = False
            self._back = True
            logger.info(
                "rate limit store %s reachable again: shared limits resumed",
                _redact.url(self.store.url),
            )
        return result

    def _down(self, exc: BaseException) -> None:
        self._down_until = self._clock() + self.store.retry_interval
        if not self._warned:
            self._warned = True
            self._start_local(self._clock())
            share = self.base_rate * self.store.fallback_share
            logger.warning(
                "rate limit store %s unreachable (%s): using local limits "
                "(%.3g requests/s) and retrying every %gs",
                _redact.url(self.store.url),
                type(exc).__name__,
                share,
                self.store.retry_interval,
            )
        else:
            logger.debug("rate limit store still unreachable (%s)", type(exc).__name__)

    def _start_local(self, now: float) -> None:
        """Fail over to an empty local bucket, in debt for the shared tokens due."""
        bucket = self.local.bucket
        bucket.refill(now)  # keeps a 429 hold (a stamp ahead of now)
        if math.isfinite(bucket.rate):
            bucket.tokens = -max(0.0, self._shared_due - now) * bucket.rate

    def _spawn(self, coro: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop: nothing to publish to
            coro.close()
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @property
    def rate(self) -> float:
        """The rate in force: the shared one, or the local share while Redis is away."""
        return self._rate if self.available else self.local.rate

    @property
    def local_gate(self) -> Gate:
        """This process's gate (mirroring the shared one)."""
        return self.local.gate_state

    def take_now(self, now: float) -> bool:
        """Never: the shared gate and bucket must be asked."""
        return False

    async def gate(self, now: float) -> tuple[float, float]:
        """The local gate first; when open, the shared one (mirrored locally)."""
        left, spread = await self.local.gate(now)
        if left > 0.0:
            return left, spread
        result = await self._run("gate", [self.keys["gate"]], [])
        if result is None:
            return left, spread
        shared, pause = float(result[0]), float(result[1])
        if shared > 0.0:
            self.local.close_gate(now, shared)
            return shared, gate_spread(pause)
        return shared, 0.0

    async def reserve(self, now: float) -> Reservation:
        """A token from the shared bucket (or the local one while Redis is away)."""
        if math.isinf(self.base_rate):
            return Reservation(0.0, now, math.inf)
        cap = self._cap_rate if now < self._cap_until else math.inf
        ttl = int(self.store.key_ttl * 1000)
        fresh = 0.0
        if self._warned or self._back:  # coming back: others may spend local shares
            fresh = self.store.retry_interval + max(0.0, self._local_due - now)
        call = self._run(
            "reserve",
            [self.keys["bucket"], self.keys["adaptive"]],
            [repr(self.base_rate), repr(self.capacity), num(cap), ttl, repr(fresh)],
        )
        result = await undone_if_cancelled(call, self._give_back, self._spawn)
        if result is None:
            reservation = await self.local.reserve(now)
            self._local_due = max(self._local_due, now + reservation.delay)
            return reservation
        self._back = False
        self._rate, delay = float(result[1]), float(result[0])
        self._shared_due = max(self._shared_due, now + delay)
        return Reservation(delay, now, self._rate, shared=True)

    async def _give_back(self, result: Any) -> None:  # taken for a cancelled wait
        if result is not None:
            await self.refund(Reservation(0.0, 0.0, self._rate, shared=True))

    async def extra_wait(self, reservation: Reservation, now: float) -> float:
        """Shared reservations are not stretched; the gate is checked again."""
        if reservation.rate == math.inf or self.available:
            return 0.0
        return await self.local.extra_wait(reservation, now)

    async def refund(self, reservation: Reservation) -> None:
        """Give an unused token back to the bucket it came from.

        A shared token goes back to Redis, or nowhere while Redis is away: never
        into the local bucket, which it was not taken from.
        """
        if math.isinf(reservation.rate):
            return
        if reservation.shared:
            ttl = int(self.store.key_ttl * 1000)
            await self._run("refund", [self.keys["bucket"]], [repr(self.capacity), ttl])
            return
        await self.local.refund(reservation)

    def sent(self, now: float) -> None:
        """Feed the local adaptive meter."""
        self.local.sent(now)

    def close_gate(self, now: float, pause: float) -> None:
        """Close this process's gate at once, and the shared one in the background."""
        self.local.close_gate(now, pause)
        self._spawn(
            self._run(
                "close_gate",
                [self.keys["gate"], self.keys["bucket"]],
                [repr(pause)],
                force=True,
            )
        )

    def slow_down(
        self, now: float, sent_at: float | None, deep: bool = False, burst: int = 0
    ) -> None:
        """Lower the local and, if adaptive, the shared rate."""
        self.local.slow_down(now, sent_at, deep, burst)
        if not self.limit.adaptive or math.isinf(self.base_rate):
            return
        adaptive = self.local.adaptive
        assert adaptive is not None  # noqa: S101 - adaptive limits have one
        age = now - sent_at if sent_at is not None else -1.0
        args = [
            repr(max(0.0, age) if sent_at is not None else -1.0),
            repr(adaptive.beta),
            repr(adaptive.min_rate),
            repr(self.base_rate),
            repr(adaptive.cooldown),
            repr(adaptive.scale),
            int(self.store.key_ttl * 1000),
        ]
        self._spawn(self._throttle(args))

    async def _throttle(self, args: list[Any]) -> None:
        result = await self._run("throttle", [self.keys["adaptive"]], args)
        if result is not None:
            self._rate = min(self._rate, float(result))

    def succeeded(self, now: float) -> None:
        """Recover the shared rate (at most every 100 ms from one process)."""
        self.local.succeeded(now)
        if (
            self.limit.adaptive
            and self._rate < self.base_rate
            and now - self._last_recover >= _RECOVER_EVERY
        ):
            self._last_recover = now
            adaptive = self.local.adaptive
            assert adaptive is not None  # noqa: S101 - adaptive limits have one
            ttl = int(self.store.key_ttl * 1000)
            rates = (self.base_rate, adaptive.min_rate, adaptive.scale)
            self._spawn(self._recover([*map(repr, rates), ttl]))

    def undo(self, now: float, decreases: int) -> None:
        """Take back this process's last decreases (the shared rate recovers)."""
        self.local.undo(now, decreases)

    async def _recover(self, args: list[Any]) -> None:
        result = await self._run("recover", [self.keys["adaptive"]], args)
        if result is not None:
            self._rate = float(result)

    def cap(self, rate: float, until: float, now: float) -> None:
        """Hold this process's sends at or below ``rate`` until ``until``."""
        self._cap_rate, self._cap_until = rate, until
        self.local.cap(rate, until, now)

    async def flush(self) -> None:
        """Wait for background publications (each bounded by the timeout)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        """Finish publishing, then close the connection pool; idempotent."""
        if self._closed:
            return
        await self.flush()
        self._closed = True
        client, self._redis = self._redis, None
        if client is not None:
            try:
                async with asyncio.timeout(self.store.timeout * 2):
                    await client.aclose()
            except Exception:
                logger.debug("closing the rate limit store connection failed")
