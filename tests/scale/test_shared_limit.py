"""One rate limit shared by four processes through Redis (a real redis-server).

The emulator runs in the test process; the workers are separate processes that
talk HTTP to it over loopback and share their limit through Redis.
"""

import asyncio
import bisect
import json
import time
from pathlib import Path
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups.sync.shard import shard_of
from asyncgroups.testing import Fault, serve_emulator
from asyncgroups.transport.limiter import Limiter

pytestmark = pytest.mark.timeout(90)


def worst_window_excess(times: list[float], rate: float, burst: int) -> float:
    """The largest count / (rate * t + burst) over windows of t >= 5 s."""
    worst = 0.0
    for i, start in enumerate(times):
        j = bisect.bisect_left(times, start + 5.0)
        for k in range(j, len(times)):
            span = times[k] - start
            worst = max(worst, (k - i + 1) / (rate * span + burst))
    return worst


async def test_four_processes_share_one_limit(
    redis_url: str, key_prefix: str, workers: Any
):
    rate, burst = 40.0, 5
    async with serve_emulator("neuroio", seed=1) as emu:
        gid = emu.store.seed_group("Eng")
        cmd = workers.command(
            "hammer", emu, redis_url, key_prefix,
            rate=rate, burst=burst, count=110, tasks=8, group=gid,
        )  # fmt: skip
        results = await workers.run([cmd] * 4, timeout=60)
        times = sorted(r.time for r in emu.requests)
    for code, result, err in results:
        assert code == 0, err
        assert result["done"] == 110
    assert len(times) == 440
    assert times[-1] - times[0] >= 5.0
    # at most R*t + burst in any window of t >= 5 s (5% for loopback jitter)
    assert worst_window_excess(times, rate, burst) <= 1.05
    # and the limit was used, not starved: the whole run kept near R
    assert len(times) / (times[-1] - times[0]) > 0.8 * rate


async def test_one_429_pauses_all_four_processes(
    redis_url: str, key_prefix: str, workers: Any
):
    fired: list[float] = []
    seen = [0]

    def once_after_40(request: Any) -> bool:
        seen[0] += 1
        if fired or seen[0] < 40:
            return False
        fired.append(time.monotonic())
        return True

    async with serve_emulator("neuroio", seed=1) as emu:
        gid = emu.store.seed_group("Eng")
        emu.faults.add(Fault.status(429, retry_after=1), times=1, when=once_after_40)
        cmd = workers.command(
            "hammer", emu, redis_url, key_prefix,
            rate=30, burst=5, count=40, tasks=4, group=gid,
        )  # fmt: skip
        results = await workers.run([cmd] * 4, timeout=60)
        times = sorted(r.time for r in emu.requests)
    for code, result, err in results:
        assert code == 0, err
        assert result["done"] == 40
    assert sum(r["throttled"] for _, r, _ in results) == 1
    (t0,) = fired
    quiet = [t - t0 for t in times if t0 + 0.05 < t < t0 + 1.0]
    assert quiet == [], f"requests {quiet} s after the 429; {[e for *_, e in results]}"
    assert any(t > t0 + 1.0 for t in times)  # and they resumed
    assert len(times) == 161  # 160 + the one re-sent after the 429


async def test_sync_converges_when_redis_stops_mid_run(
    tmp_path: Path, key_prefix: str, workers: Any
):
    groups = [f"team-{n:02d}" for n in range(24)]
    with workers.private_redis() as (url, redis_proc):
        async with serve_emulator("neuroio", seed=3) as emu:
            keys = emu.store.seed_users(300)
            desired: dict[str, list[str]] = {}
            for n, name in enumerate(groups):
                emu.store.seed_group(name, members=keys[n : n + 5])  # some to prune
                desired[name] = keys[n * 10 + 3 : n * 10 + 15]
            path = tmp_path / "desired.json"
            path.write_text(json.dumps(desired))
            cmds = [
                workers.command(
                    "sync",
                    emu,
                    url,
                    key_prefix,
                    # slow enough that Redis dies mid-run even on a loaded machine
                    rate=12,
                    burst=2,
                    desired=path,
                    shard=f"{i}/4",
                )
                for i in range(1, 5)
            ]
            async with workers.started(cmds) as procs:
                async with asyncio.timeout(30):
                    while len(emu.requests) < 25:
                        assert all(p.returncode is None for p in procs), [
                            (await p.communicate())[1].decode() for p in procs
                        ]
                        await asyncio.sleep(0.02)
                redis_proc.kill()
                redis_proc.wait(timeout=10)
                stopped_at, sent_before = time.monotonic(), len(emu.requests)
                async with asyncio.timeout(60):
                    outputs = await asyncio.gather(*(p.communicate() for p in procs))
            after = [r.time for r in emu.requests if r.time > stopped_at]
            ids = await _ids_by_name(emu)
            final = {name: emu.store.members(ids[name]) for name in groups}
    assert len(after) > 0
    assert sent_before >= 25
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert result["converged"] is True
    shards = [
        json.loads(out.decode().strip().splitlines()[-1])["groups"]
        for out, _ in outputs
    ]
    assert sorted(g for s in shards for g in s) == groups  # each group in one shard
    assert all(shard_of(g, 4) == i + 1 for i, s in enumerate(shards) for g in s)
    assert final == {name: frozenset(members) for name, members in desired.items()}
    warned = [err.decode().count("unreachable") for _, err in outputs]
    assert all(n >= 1 for n in warned), warned  # a WARNING in each process


async def _ids_by_name(emu: Any) -> dict[str, str]:
    import asyncgroups as ag

    backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
    async with ag.Client(backend) as client:
        return {g.name: g.id async for g in client.groups.list()}


async def test_cancelled_waiters_give_their_tokens_back_to_redis(
    redis_url: str, key_prefix: str
):
    store = ag.RedisStore(redis_url, key_prefix=key_prefix)
    limiter = Limiter(ag.RateLimit(per_second=10, burst=1, store=store))
    try:
        await limiter.acquire()  # the burst token
        limiter.release()
        waiters = [asyncio.create_task(limiter.acquire()) for _ in range(50)]
        await asyncio.sleep(0.2)  # every waiter has its shared token
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        await limiter.flush()  # the tokens of calls answered after their cancel
        started = time.monotonic()
        await limiter.acquire()  # without refunds: ~5 s of debt in Redis
        waited = time.monotonic() - started
        limiter.release()
    finally:
        await limiter.aclose()
    assert waited < 1.0
