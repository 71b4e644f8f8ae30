"""8. Graph: 10,000 members into one group, packed into $batch vs one PATCH a request.

The Graph emulator (own process) delays every answer by 20 ms. Ours: the Client adds
10,000 seeded users to an empty group (500 binds of 20, packed 20 to a
``POST /$batch``). Baseline, in the same run: bare aiohttp sends the same 500
``PATCH /groups/{id}`` binds one a request, 16 at once, with one bearer token (what a
client without batching sends). Figures: requests ours ÷ baseline, wall ours ÷
baseline; plus requests per expiry when 64 callers find the token expired (the
emulator's clock is in another process, so the client's clock is moved instead).

Run: ``python benchmarks/graph_batching.py [--quick] [--members N]``
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncgroups as ag
from benchmarks._common import raw_session, table, write_result
from benchmarks._emulator_process import EmulatorProcess, emulator_process

LATENCY = 0.020
CONCURRENCY = 16
BIND = 20


async def ours(emu: EmulatorProcess, gid: str, keys: list[str]) -> dict[str, Any]:
    backend = ag.connect("graph", base_url=emu.url, **emu.credentials)
    async with ag.Client(backend, concurrency=CONCURRENCY) as client:
        before = emu.stats()["requests"]
        started = time.perf_counter()
        result = await client.members.add(gid, keys)
        wall = time.perf_counter() - started
        assert result.ok, list(result.failed.items())[:3]
        return {"wall": wall, "requests": emu.stats()["requests"] - before}


async def baseline(emu: EmulatorProcess, gid: str, keys: list[str]) -> dict[str, Any]:
    creds = emu.credentials
    async with raw_session(100) as session:
        form = {
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
            "grant_type": "client_credentials",
        }
        token_url = f"{creds['authority']}/{creds['tenant_id']}/oauth2/v2.0/token"
        async with session.post(token_url, data=form) as r:
            token = (await r.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        chunks = [keys[i : i + BIND] for i in range(0, len(keys), BIND)]
        queue = list(reversed(chunks))
        before = emu.stats()["requests"]

        async def worker() -> None:
            while queue:
                chunk = queue.pop()
                body = {
                    "members@odata.bind": [
                        f"{emu.url}/directoryObjects/{k}" for k in chunk
                    ]
                }
                async with session.patch(
                    f"{emu.url}/groups/{gid}", json=body, headers=headers
                ) as r:
                    assert r.status == 204, await r.text()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - started
        return {"wall": wall, "requests": emu.stats()["requests"] - before}


async def token_renewal(emu: EmulatorProcess, gid: str) -> dict[str, Any]:
    now = [0.0]
    backend = ag.connect(
        "graph", base_url=emu.url, clock=lambda: now[0], **emu.credentials
    )
    async with ag.Client(backend, concurrency=64) as client:
        session: Any = client.session
        await asyncio.gather(*(client.groups.get(gid) for _ in range(64)))
        first = session.tokens.fetches
        now[0] = 10_000.0  # past the lifetime: every caller finds it stale
        await asyncio.gather(*(client.groups.get(gid) for _ in range(64)))
        return {
            "callers": 64,
            "token_requests_per_expiry": session.tokens.fetches - first,
        }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--members", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.members or (2_000 if args.quick else 10_000)
    with emulator_process(
        "graph", users=n, groups=2, latency=LATENCY, print_keys=True
    ) as emu:
        keys = emu.key_list
        mine = asyncio.run(ours(emu, emu.group_ids[0], keys))
        base = asyncio.run(baseline(emu, emu.group_ids[1], keys))
        tokens = asyncio.run(token_renewal(emu, emu.group_ids[0]))
    result = {
        "members": n,
        "latency": LATENCY,
        "ours": mine,
        "baseline": base,
        "requests_ratio": mine["requests"] / base["requests"],
        "wall_ratio": mine["wall"] / base["wall"],
        **tokens,
        "met": mine["requests"] <= n // BIND,
    }
    print(
        table(
            ["variant", "requests", "wall s"],
            [
                ["ours ($batch)", mine["requests"], f"{mine['wall']:.2f}"],
                ["one PATCH a request", base["requests"], f"{base['wall']:.2f}"],
            ],
        )
    )
    print(
        f"requests ours ÷ baseline {result['requests_ratio']:.3f}, "
        f"wall {result['wall_ratio']:.3f}; token requests per expiry for 64 "
        f"callers: {tokens['token_requests_per_expiry']}"
    )
    write_result("graph_batching", result)
    return result


if __name__ == "__main__":
    main()
