"""3. Against the vendors' clients: 2,000 group reads at 20 ms latency.

Each emulator (own process) delays every answer by 20 ms. The unmodified vendor
clients run in their own virtualenvs as driver subprocesses
(``benchmarks/_drivers/``): ``neuroio==0.1.2`` sync ``Client`` one call after
another (as its docs show) and in a 16-thread pool, and its ``AsyncClient`` 16 at
once; ``snip-python==0.4.0`` one after another and in a 16-thread pool. asyncgroups
does the same reads 16 at once against the same emulator. Figures: every variant's
reads/s and our speedup over the best of them (target >= 10x). Sequential variants
do fewer reads, and every vendor variant stops taking new reads after 25 s (6 s
with --quick); rates are per second, so they still compare.

Run: ``python benchmarks/vendor_clients.py [--quick]``
"""

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncgroups as ag
from benchmarks._common import run_bounded, table, verdict, write_result
from benchmarks._emulator_process import EmulatorProcess, emulator_process
from benchmarks._venvs import vendor_python

LATENCY = 0.020
CONCURRENCY = 16
TARGET = 10.0
DRIVERS = Path(__file__).resolve().parent / "_drivers"
VENDORS = {
    "neuroio": ("neuroio", "0.1.2", "neuroio", "neuroio_reads.py"),
    "snip": ("snip-python", "0.4.0", "snip", "snip_reads.py"),
}
MODES = {
    "neuroio": [("sync", 1), ("threads", CONCURRENCY), ("async", CONCURRENCY)],
    "snip": [("sync", 1), ("threads", CONCURRENCY)],
}
LABELS = {
    "sync": "sequential",
    "threads": f"{CONCURRENCY}-thread pool",
    "async": f"AsyncClient, {CONCURRENCY} at once",
}


def reads_for(mode: str, full: int, quick: bool) -> int:
    if mode == "sync":
        return 150 if quick else 500
    return 500 if quick else full


def seconds_for(quick: bool) -> float:
    """Time cap of one vendor variant: it stops taking new reads after this."""
    return 6.0 if quick else 25.0


async def ours(emu: EmulatorProcess, n: int) -> dict[str, Any]:
    backend = ag.connect(emu.kind, base_url=emu.url, **emu.credentials)
    async with ag.Client(backend, concurrency=CONCURRENCY) as client:
        gids = emu.group_ids

        async def one(i: int) -> None:
            await client.groups.get(gids[i % len(gids)])

        await run_bounded(100, CONCURRENCY, one)  # warm-up
        seconds = await run_bounded(n, CONCURRENCY, one)
    return {"seconds": seconds, "reads": n, "failures": 0}


def vendor(
    python: Path,
    script: str,
    emu: EmulatorProcess,
    mode: str,
    width: int,
    n: int,
    max_seconds: float,
) -> dict[str, Any]:
    config = {
        "url": emu.url,
        "token": emu.credentials["token"],
        "gids": emu.group_ids,
        "reads": n,
        "mode": mode,
        "concurrency": width,
        "max_seconds": max_seconds,
    }
    done = subprocess.run(
        [str(python), str(DRIVERS / script), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-400:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reads", type=int, default=2000)
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for kind, (package, version, module, script) in VENDORS.items():
        python = vendor_python(package, version, module)
        with emulator_process(kind, groups=20, latency=LATENCY) as emu:
            mine = asyncio.run(ours(emu, args.reads))
            rows.append(
                {
                    "emulator": kind,
                    "client": f"asyncgroups {ag.__version__}",
                    "mode": f"{CONCURRENCY} at once",
                    **mine,
                }
            )
            for mode, width in MODES[kind]:
                n = reads_for(mode, args.reads, args.quick)
                if python is None:
                    run: dict[str, Any] = {"error": f"cannot install {package}"}
                else:
                    run = vendor(
                        python, script, emu, mode, width, n, seconds_for(args.quick)
                    )
                rows.append(
                    {
                        "emulator": kind,
                        "client": f"{package} {version}",
                        "mode": LABELS[mode],
                        **run,
                    }
                )
    for row in rows:
        if "seconds" in row:
            row["rps"] = row["reads"] / row["seconds"]
    ours_rows = {
        r["emulator"]: r for r in rows if r["client"].startswith("asyncgroups")
    }
    vendor_rows = [r for r in rows if not r["client"].startswith("asyncgroups")]
    for row in vendor_rows:
        if "rps" in row:
            row["our_speedup"] = ours_rows[row["emulator"]]["rps"] / row["rps"]
    measured = [r for r in vendor_rows if "rps" in r]
    best = max(measured, key=lambda r: r["rps"]) if measured else None
    speedup = (
        ours_rows[best["emulator"]]["rps"] / best["rps"] if best is not None else None
    )
    result = {
        "latency_s": LATENCY,
        "concurrency": CONCURRENCY,
        "rows": rows,
        "best_vendor": None if best is None else f"{best['client']} ({best['mode']})",
        "speedup_over_best": speedup,
        "target": TARGET,
        "met": speedup is not None and speedup >= TARGET,
        "quick": args.quick,
    }
    out = write_result("vendor_clients", result)
    print(__doc__.splitlines()[0])
    print(
        table(
            ["emulator", "client", "mode", "reads", "reads/s", "our speedup"],
            [
                [
                    r["emulator"],
                    r["client"],
                    r["mode"],
                    r.get("reads", "-"),
                    r.get("rps", r.get("error", "?")),
                    r.get("our_speedup", "-"),
                ]
                for r in rows
            ],
        )
    )
    if speedup is not None:
        print(
            f"speedup over the best vendor variant ({result['best_vendor']}): "
            f"{speedup:.1f}x (target >= {TARGET:.0f}x: "
            f"{verdict(speedup, TARGET, at_most=False)}) -> {out}"
        )
    return result


if __name__ == "__main__":
    main()
