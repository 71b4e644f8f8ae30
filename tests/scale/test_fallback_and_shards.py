"""Without Redis: the local fallback, and sharding a desired state (no server needed)."""

import asyncio
import logging
import socket
import time

import pytest

import asyncgroups as ag
from asyncgroups.cli.main import amain
from asyncgroups.sync.shard import parse_shard, shard_desired, shard_of
from asyncgroups.testing import serve_emulator
from asyncgroups.transport import MockTransport, RateLimitedTransport, Response
from asyncgroups.transport.limiter import Limiter
from asyncgroups.transport.limiter_store import request_identity


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_redis_falls_back_to_a_local_share(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = ag.RedisStore(
        f"redis://:pw-secret-9f@127.0.0.1:{closed_port()}/0",
        expected_processes=4,
        timeout=0.2,
        retry_interval=0.3,
    )
    assert "pw-secret-9f" not in repr(store)
    limit = ag.RateLimit(per_second=40, burst=2, store=store)
    caplog.set_level(logging.DEBUG, logger="asyncgroups")
    async with serve_emulator("neuroio", seed=1) as emu:
        gid = emu.store.seed_group("Eng")
        backend = ag.connect(emu.name, base_url=emu.url, **emu.credentials)
        async with ag.Client(backend, rate_limit=limit) as client:
            started = time.monotonic()
            async with asyncio.timeout(20):
                for _ in range(12):
                    await client.groups.get(gid)
            elapsed = time.monotonic() - started
    # 40/s shared by 4 expected processes: 10/s here, after a burst of 2
    assert elapsed >= 0.9
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "local limits" in warnings[0].getMessage()
    assert "pw-secret-9f" not in caplog.text
    # the emulator answered every request, each sent once
    assert [r.path for r in emu.requests].count(f"/v1/groups/persons/{gid}/") == 12


def test_redis_store_rejects_bad_settings() -> None:
    with pytest.raises(ag.ConfigurationError):
        ag.RedisStore(fallback_share=0)
    with pytest.raises(ag.ConfigurationError):
        ag.RedisStore(expected_processes=0)
    with pytest.raises(ag.ConfigurationError):
        ag.RedisStore(timeout=float("inf"))
    with pytest.raises(ag.ConfigurationError):
        Limiter(ag.RateLimit(per_second=1, store=object()))  # type: ignore[arg-type]
    inner = MockTransport(lambda request: Response(200, {}, b"", request))
    with pytest.raises(ag.ConfigurationError):
        RateLimitedTransport(inner, ag.RateLimit(per_second=1, store=object()))  # type: ignore[arg-type]


def test_identity_hashes_credentials_and_never_shows_them() -> None:
    a = request_identity("https://api.example.com/v1/x", {"Authorization": "Token A"})
    b = request_identity(
        "https://api.example.com/v2/y?q=1", {"authorization": "Token A"}
    )
    c = request_identity("https://api.example.com/v1/x", {"Authorization": "Token B"})
    d = request_identity("https://other.example.com/v1/x", {"Authorization": "Token A"})
    assert a == b
    assert len({a, c, d}) == 3
    assert "Token" not in a


def test_shards_split_groups_deterministically_and_completely() -> None:
    desired = {f"group-{n}": frozenset({f"k{n}"}) for n in range(200)}
    parts = [shard_desired(desired, (i, 4)) for i in range(1, 5)]
    assert sum(len(p) for p in parts) == 200
    assert {g for p in parts for g in p} == set(desired)
    assert all(len(p) > 20 for p in parts)  # a fair split
    assert parts[0] == shard_desired(desired, "1/4")
    # a stable hash: the same shard on every machine and Python version
    assert (
        shard_of("Engineering", 4)
        == 1
        + int.from_bytes(
            __import__("hashlib").sha256(b"Engineering").digest()[:8], "big"
        )
        % 4
    )
    assert shard_desired(desired, "1/1") == desired


@pytest.mark.parametrize("bad", ["0/4", "5/4", "1/0", "x/4", "14", "", "1/4/2"])
def test_bad_shards_are_refused(bad: str) -> None:
    with pytest.raises(ag.InvalidInputError):
        parse_shard(bad)


async def test_cli_sync_with_shards_prunes_only_its_own_groups(tmp_path) -> None:
    async with serve_emulator("neuroio", seed=2) as emu:
        keys = emu.store.seed_users(40)
        names = [f"g{n}" for n in range(12)]
        ids = {name: emu.store.seed_group(name, members=keys[:3]) for name in names}
        path = tmp_path / "desired.json"
        path.write_text(
            "{" + ",".join(f'"{n}": ["{keys[5]}"]' for n in names) + "}",
            encoding="utf-8",
        )
        common = ["--backend", "neuroio", "--base-url", emu.url]
        env_token = emu.credentials["token"]
        argv = ["sync", "--from", str(path), "--prune", "--shard", "2/3"]
        argv += ["--max-removals", "100", *common, "--token", env_token]
        assert await amain(argv) == 0
        mine = set(shard_desired(dict.fromkeys(names), "2/3"))
        assert mine
        assert not mine.issuperset(names)
        for name in names:
            expected = {keys[5]} if name in mine else set(keys[:3])
            assert emu.store.members(ids[name]) == expected, name
