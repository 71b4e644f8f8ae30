"""10. Near an unknown server limit: goodput ÷ limit and 429 share, client defaults.

A server allows ``limit`` requests/s (token bucket of ``burst``) and answers 429 above
it, with ``Retry-After`` in whole seconds (rounded up, as real APIs send), exact
(fractional) or absent; optionally 5 % of requests get a 429 at random whatever the
rate. Readers keep 16 or 64 requests in flight for 60 s. Each cell: successful
answers per second ÷ the limit (goodput) and the share of attempts answered 429.

The table runs on a virtual clock (``benchmarks/_throttle_sim.py``: the stack a
Client builds around an in-process server, 1 ms each way), so every cell is
repeatable and the whole grid takes a few minutes. The headline rows run again
over loopback against the NeuroIO emulator in its own process
(``Fault.rate_limit``), with a PNG of the rate over time
(``results/throttling.png``).

Run: ``python benchmarks/throttling.py [--quick] [--no-loopback] [--seconds N]``
"""

import argparse
import asyncio
import itertools
import sys
import time
from pathlib import Path
from typing import Any

import attrs

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncgroups as ag
from asyncgroups.transport.hooks import ResponseEvent
from benchmarks._common import RESULTS, neuroio_client, table, write_result
from benchmarks._emulator_process import EmulatorProcess, emulator_process
from benchmarks._throttle_sim import Outcome, Scenario, simulate

#: The issue's side-by-side table: 50/s, burst 10, 16 in flight.
CLIENT_ROWS: dict[str, ag.RateLimit | None] = {
    "defaults": None,
    "adaptive=True, per_second=200": ag.RateLimit(per_second=200, adaptive=True),
    "per_second=50 (the true limit)": ag.RateLimit(per_second=50),
    "per_second=45, burst=5": ag.RateLimit(per_second=45, burst=5),
}
ISSUE_COLUMNS: dict[str, dict[str, Any]] = {
    "Retry-After: 1 (integer)": {"retry_after": "integer"},
    "exact Retry-After": {"retry_after": "exact"},
    "+ 5 % random 429s (RA 1)": {"retry_after": "integer", "stray": 0.05},
}

#: Loopback rows: (label, RateLimit or None, share of random 429s).
HEADLINE: list[tuple[str, ag.RateLimit | None, float]] = [
    ("defaults", None, 0.0),
    ("defaults, 5 % random 429s", None, 0.05),
    ("per_second=50", ag.RateLimit(per_second=50), 0.0),
]
LOOPBACK_LIMIT = 50.0
LOOPBACK_BURST = 10


def grid(quick: bool) -> list[Scenario]:
    """Every cell of the extended table (client defaults)."""
    limits = (50.0,) if quick else (20.0, 50.0, 200.0)
    cells = []
    for limit, burst_kind, ra, stray, in_flight in itertools.product(
        limits,
        ("1", "10", "limit"),
        ("integer", "exact", "absent"),
        (0.0, 0.05),
        (16, 64),
    ):
        burst = {"1": 1, "10": 10, "limit": int(limit)}[burst_kind]
        cells.append(Scenario(limit, burst, ra, stray, in_flight))
    return cells


def run_grid(cells: list[Scenario], seconds: float) -> list[dict[str, Any]]:
    rows = []
    for cell in cells:
        rows.append(_row(simulate(attrs.evolve(cell, seconds=seconds))))
    return rows


def _row(outcome: Outcome) -> dict[str, Any]:
    s = outcome.scenario
    return {
        "limit": s.limit,
        "burst": s.burst,
        "retry_after": s.retry_after,
        "random_429": s.stray,
        "in_flight": s.in_flight,
        "client": s.client,
        "goodput": round(outcome.goodput, 4),
        "share_429": round(outcome.share_429, 4),
        "failed": outcome.failed,
    }


def run_issue_table(seconds: float) -> list[dict[str, Any]]:
    """The issue's table on the virtual clock, client settings side by side."""
    rows = []
    for label, limit in CLIENT_ROWS.items():
        for column, settings in ISSUE_COLUMNS.items():
            scenario = Scenario(
                seconds=seconds, client=label, rate_limit=limit, **settings
            )
            outcome = simulate(scenario)
            rows.append({"client": label, "column": column, **_row(outcome)})
    return rows


async def loopback(
    emu: EmulatorProcess, limit: ag.RateLimit | None, seconds: float
) -> dict[str, Any]:
    """Read groups for ``seconds`` with 16 in flight; answers and limiter rate."""
    answers: list[tuple[float, int]] = []
    rates: list[tuple[float, float]] = []
    started = time.monotonic()

    def on_response(event: ResponseEvent) -> None:
        answers.append((time.monotonic() - started, event.status))

    kwargs: dict[str, Any] = {"hooks": ag.Hooks(on_response=on_response)}
    if limit is not None:
        kwargs["rate_limit"] = limit
    async with neuroio_client(emu.url, emu.credentials["token"], **kwargs) as client:
        deadline = started + seconds
        failed = 0
        gids = emu.group_ids
        limiter: Any = client.transport
        while not hasattr(limiter, "limiter"):
            limiter = limiter._inner

        async def worker(k: int) -> None:
            nonlocal failed
            i = k
            while time.monotonic() < deadline:
                try:
                    await client.groups.get(gids[i % len(gids)])
                except ag.errors.AsyncGroupsError:
                    failed += 1
                i += 16

        async def sampler() -> None:
            while time.monotonic() < deadline:
                rates.append((time.monotonic() - started, limiter.limiter.rate))
                await asyncio.sleep(0.1)

        await asyncio.gather(sampler(), *(worker(k) for k in range(16)))
        wall = time.monotonic() - started
    ok = sum(1 for t, s in answers if s == 200 and t < seconds)
    throttled = sum(1 for t, s in answers if s == 429 and t < seconds)
    return {
        "seconds": wall,
        "goodput": round(ok / (LOOPBACK_LIMIT * seconds), 4),
        "share_429": round(throttled / max(1, ok + throttled), 4),
        "ok": ok,
        "throttled": throttled,
        "failed": failed,
        "answers": answers,
        "rates": rates,
    }


def plot(runs: dict[str, dict[str, Any]], seconds: float, out: Path) -> Path | None:
    """Successful answers/s and the limiter's rate over time, one panel a row."""
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e .[bench]); no PNG")
        return None
    fig, axes = plt.subplots(len(runs), 1, figsize=(9, 3 * len(runs)), sharex=True)
    for ax, (label, run) in zip(axes, runs.items(), strict=True):
        ok = [0] * int(seconds)
        throttled = [0] * int(seconds)
        for t, status in run["answers"]:
            if int(t) < len(ok):
                if status == 200:
                    ok[int(t)] += 1
                elif status == 429:
                    throttled[int(t)] += 1
        xs = [i + 0.5 for i in range(len(ok))]
        ax.plot(xs, ok, label="successful answers/s", color="tab:blue")
        ax.bar(xs, throttled, width=0.9, color="tab:orange", label="429s/s")
        ax.step(
            [t for t, _ in run["rates"]],
            [r if r != float("inf") else float("nan") for _, r in run["rates"]],
            where="post",
            color="tab:green",
            alpha=0.7,
            label="client limiter rate",
        )
        ax.axhline(LOOPBACK_LIMIT, color="tab:red", ls="--", label="server limit")
        ax.set_ylim(0, LOOPBACK_LIMIT * 2)
        ax.set_ylabel("per second")
        ax.set_title(
            f"{label}: goodput {run['goodput']:.2f} of the limit, "
            f"{run['share_429']:.1%} 429s"
        )
        ax.legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50/s only, 20 s")
    parser.add_argument("--no-loopback", action="store_true")
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args(argv)
    seconds = args.seconds or (20.0 if args.quick else 60.0)

    issue = run_issue_table(seconds)
    print(__doc__.splitlines()[0])
    print("\nThe issue's table (virtual clock; 50/s, burst 10, 16 in flight):")
    print(
        table(
            ["client", *ISSUE_COLUMNS],
            [
                [label]
                + [
                    f"{r['goodput']:.2f}, {r['share_429']:.1%} 429s"
                    for r in issue
                    if r["client"] == label
                ]
                for label in CLIENT_ROWS
            ],
        )
    )

    cells = run_grid(grid(args.quick), seconds)
    print("\nClient defaults, every server (virtual clock):")
    print(
        table(
            [
                "limit",
                "burst",
                "Retry-After",
                "random 429",
                "in flight",
                "goodput",
                "429s",
            ],
            [
                [
                    c["limit"],
                    c["burst"],
                    c["retry_after"],
                    c["random_429"],
                    c["in_flight"],
                    c["goodput"],
                    f"{c['share_429']:.1%}",
                ]
                for c in cells
            ],
        )
    )
    worst = min(cells + issue, key=lambda c: c["goodput"])
    print(f"\nworst cell: {worst}")

    headline: dict[str, dict[str, Any]] = {}
    png = None
    if not args.no_loopback:
        for label, limit, stray in HEADLINE:
            with emulator_process(
                "neuroio",
                groups=20,
                rate_limit=LOOPBACK_LIMIT,
                burst=LOOPBACK_BURST,
                retry_after="integer",
                p429=stray,
            ) as emu:
                headline[label] = asyncio.run(loopback(emu, limit, seconds))
        RESULTS.mkdir(parents=True, exist_ok=True)
        png = plot(headline, seconds, RESULTS / "throttling.png")
        print("\nLoopback (NeuroIO emulator, 50/s, burst 10, Retry-After 1):")
        print(
            table(
                ["client", "goodput", "429s", "failed calls"],
                [
                    [label, r["goodput"], f"{r['share_429']:.1%}", r["failed"]]
                    for label, r in headline.items()
                ],
            )
        )
    result = {
        "seconds": seconds,
        "quick": args.quick,
        "issue_table": issue,
        "grid": cells,
        "worst": worst,
        "loopback": {
            label: {k: v for k, v in r.items() if k not in ("answers", "rates")}
            for label, r in headline.items()
        },
        "png": None if png is None else str(png.relative_to(RESULTS.parent.parent)),
    }
    out = write_result("throttling", result)
    print(f"-> {out}" + (f", {png}" if png else ""))
    return result


if __name__ == "__main__":
    main()
