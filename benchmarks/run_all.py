"""Run every benchmark, one after another, each in its own process.

``python benchmarks/run_all.py`` (under 10 minutes) or ``--quick`` (under 2).
Each benchmark prints its table and writes ``benchmarks/results/NAME.json``;
this script then writes ``benchmarks/results/summary.json`` and prints a summary.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: (script, extra args in full mode, extra args in quick mode)
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("overhead", [], ["--quick"]),
    ("transport_overhead", [], ["--rounds", "3"]),
    ("physical_bound", [], ["--quick"]),
    ("vendor_clients", [], ["--quick"]),
    ("bulk_sync", [], ["--quick"]),
    ("adaptive", [], ["--quick"]),
    ("memory", [], ["--quick"]),
    ("concurrency", [], ["--quick"]),
    ("graph_batching", [], ["--quick"]),
    ("okta_pacing", [], ["--quick"]),
    # The grid runs on a virtual clock; the three loopback rows take 3 minutes.
    ("throttling", [], ["--quick", "--no-loopback"]),
    # Needs redis-server (ASYNCGROUPS_TEST_REDIS_URL, or one it starts); ~65 s, so
    # it runs in the full suite only.
    ("shared_limit", [], []),
    # 100k memberships in --quick; the full run adds 1M (a few minutes).
    ("sync_scale", [], ["--quick"]),
    # Needs redis-server on the PATH (it kills and restarts its own); ~20 s a round.
    ("shared_limit_failover", [], []),
]

#: Benchmarks left out of ``--quick`` to keep it under two minutes.
FULL_ONLY = frozenset({"shared_limit", "shared_limit_failover"})


def summary_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows: list[list[str]] = []

    def add(name: str, figure: str, value: float | None, target: str, met: Any) -> None:
        shown = "-" if value is None else f"{value:.3f}"
        ok = "-" if met is None else ("met" if met else "MISSED")
        rows.append([name, figure, shown, target, ok])

    r = results.get("overhead")
    if r:
        add(
            "1 overhead",
            "Client ÷ raw aiohttp (client CPU)",
            r["cpu_ratio"],
            "<= 1.10",
            r["met"],
        )
        add("1 overhead", "Client ÷ raw aiohttp (wall)", r["wall_ratio"], "-", None)
    r = results.get("transport_overhead")
    if r:
        add(
            "1b transport",
            "one path ÷ raw aiohttp (client CPU)",
            r.get("cpu_ratio"),
            "<= 1.10",
            r.get("cpu_ratio", 9) <= 1.10,
        )
        add("1b transport", "one path ÷ raw aiohttp (wall)", r.get("ratio"), "-", None)
    r = results.get("physical_bound")
    if r:
        add("2 physical bound", "rate ÷ 800/s", r["ours_ratio"], ">= 0.85", r["met"])
    r = results.get("vendor_clients")
    if r:
        add(
            "3 vendor clients",
            f"speedup over best ({r['best_vendor']})",
            r["speedup_over_best"],
            ">= 10",
            r["met"],
        )
    r = results.get("throttling")
    if r:
        for label, row in r.get("loopback", {}).items():
            add("10 throttling", f"goodput ÷ limit, {label}", row["goodput"], "-", None)
        add(
            "10 throttling",
            "worst cell of the grid (goodput ÷ limit)",
            r["worst"]["goodput"],
            ">= 0.5",
            r["worst"]["goodput"] >= 0.5,
        )
    r = results.get("bulk_sync")
    if r:
        add("4 bulk sync", "wall ÷ bound", r["wall_ratio"], "<= 1.05", r["met"])
        add(
            "4 bulk sync",
            "requests ÷ writes",
            r["requests_ratio"],
            "1.00 + listing",
            None,
        )
    r = results.get("adaptive")
    if r:
        add(
            "5 adaptive",
            "rate ÷ 50/s",
            r["rate_ratio"],
            ">= 0.9",
            r["rate_ratio"] >= 0.9,
        )
        add(
            "5 adaptive",
            "share of 429s",
            r["share_429"],
            "<= 0.02",
            r["share_429"] <= 0.02,
        )
    r = results.get("memory")
    if r:
        add("6 memory", "peak RSS growth, MB", r["rss_growth_mb"], "< 30", r["met"])
    r = results.get("concurrency")
    if r:
        for level in r["levels"]:
            add(
                "7 concurrency",
                f"{level['concurrency']} at once: ours ÷ raw (rate)",
                level["ours_vs_raw"],
                "-",
                None,
            )
    r = results.get("okta_pacing")
    if r:
        add(
            "9 okta pacing",
            "sync wall ÷ the members budget's bound",
            r["wall_ratio"],
            "<= 1.10",
            r["wall_ratio"] <= 1.10,
        )
        add(
            "9 okta pacing",
            "share of requests answered 429",
            r["share_429"],
            "<= 0.01",
            r["share_429"] <= 0.01,
        )
    r = results.get("sync_scale")
    if r:
        for check, figure in r["checks"].items():
            value, target = figure["value"], figure["target"]
            add("11 sync scale", check, value, f"<= {target}", value <= target)
    r = results.get("graph_batching")
    if r:
        add(
            "8 graph $batch",
            "requests ÷ one PATCH a request",
            r["requests_ratio"],
            "<= 500 requests",
            r["met"],
        )
        add("8 graph $batch", "wall ÷ one PATCH a request", r["wall_ratio"], "-", None)
        add(
            "8 graph token",
            "token requests per expiry, 64 callers",
            r["token_requests_per_expiry"],
            "1",
            r["token_requests_per_expiry"] == 1,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    args = parser.parse_args()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    failed: list[str] = []
    for name, full, quick in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        if args.quick and name in FULL_ONLY and not args.only:
            continue
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                str(HERE / f"{name}.py"),
                *(quick if args.quick else full),
            ],
            cwd=ROOT,
            env=env,
            timeout=600,
            check=False,
        )
        print(f"({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
        path = HERE / "results" / f"{name}.json"
        if done.returncode != 0 or not path.exists():
            failed.append(name)
            continue
        results[name] = json.loads(path.read_text())
    total = time.perf_counter() - started
    rows = summary_rows(results)
    from benchmarks._common import machine, table, write_result

    write_result(
        "summary",
        {"quick": args.quick, "seconds": total, "rows": rows, "failed": failed},
    )
    print("\n=== summary ===")
    print(table(["benchmark", "figure", "value", "target", ""], rows))
    print(
        f"all benchmarks: {total:.0f} s on {machine()['cpu']} ({machine()['nproc']} cores)"
    )
    if failed:
        print(f"FAILED to run: {', '.join(failed)}")
        raise SystemExit(1)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(ROOT))
    main()
