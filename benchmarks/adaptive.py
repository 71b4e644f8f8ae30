"""5. Adaptive limiting: an unknown 50 requests/s server limit, a client set to 200/s.

The NeuroIO emulator (own process) allows 50 requests/s (token bucket, burst 10) and
delays every answer by 20 ms. The Client is configured at
``RateLimit(per_second=200, adaptive=True)`` and reads groups with 16 workers for
60 s (20 s with --quick). Figures: achieved successful reads/s ÷ the server's limit
(target >= 0.9) and the share of attempts answered 429 (target <= 2%). A PNG of the
rate, the 429s and the limiter's rate over time goes to
``benchmarks/results/adaptive.png`` (needs matplotlib: ``pip install -e .[bench]``).

Run: ``python benchmarks/adaptive.py [--quick] [--seconds N]``
"""

import argparse
import asyncio
import math
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncgroups as ag
from asyncgroups.transport.hooks import ResponseEvent
from benchmarks._common import RESULTS, neuroio_client, table, verdict, write_result
from benchmarks._emulator_process import EmulatorProcess, emulator_process

SERVER_RATE = 50.0
SERVER_BURST = 10
CLIENT_RATE = 200.0
LATENCY = 0.020
WORKERS = 16
TARGET_RATE = 0.9
TARGET_429 = 0.02


def _limiter_rate(client: ag.Client) -> float | None:
    """The rate the client's limiter allows now (reads the transport stack)."""
    layer: Any = client.transport
    for _ in range(5):
        limiter = getattr(layer, "limiter", None)
        if limiter is not None:
            rate = float(limiter.rate)
            return rate if math.isfinite(rate) else None
        layer = getattr(layer, "_inner", None)
        if layer is None:
            return None
    return None


async def measure(emu: EmulatorProcess, seconds: float) -> dict[str, Any]:
    answers: list[tuple[float, int]] = []
    samples: list[tuple[float, float | None]] = []
    started = time.monotonic()

    def on_response(event: ResponseEvent) -> None:
        answers.append((time.monotonic() - started, event.status))

    async with neuroio_client(
        emu.url,
        emu.credentials["token"],
        rate_limit=ag.RateLimit(per_second=CLIENT_RATE, adaptive=True),
        hooks=ag.Hooks(on_response=on_response),
    ) as client:
        gids = emu.group_ids
        deadline = started + seconds
        reads = 0
        errors = 0

        async def worker(k: int) -> None:
            nonlocal reads, errors
            i = k
            while time.monotonic() < deadline:
                try:
                    await client.groups.get(gids[i % len(gids)])
                    reads += 1
                except ag.errors.AsyncGroupsError:
                    errors += 1
                i += WORKERS

        async def sampler() -> None:
            while time.monotonic() < deadline:
                samples.append((time.monotonic() - started, _limiter_rate(client)))
                await asyncio.sleep(0.1)

        await asyncio.gather(sampler(), *(worker(k) for k in range(WORKERS)))
        wall = time.monotonic() - started
        stats = client.stats
    ok = sum(1 for _, s in answers if s == 200)
    throttled = sum(1 for _, s in answers if s == 429)
    return {
        "seconds": wall,
        "reads": reads,
        "errors": errors,
        "attempts": len(answers),
        "ok": ok,
        "throttled": throttled,
        "client_stats_requests": stats.requests,
        "client_stats_throttled": stats.throttled,
        "answers": answers,
        "limiter_samples": samples,
    }


def series(answers: list[tuple[float, int]], seconds: float) -> list[dict[str, float]]:
    """Answers per whole second (a trailing partial second is left out)."""
    bins = [{"t": float(i), "ok": 0.0, "throttled": 0.0} for i in range(int(seconds))]
    for t, status in answers:
        if int(t) >= len(bins):
            continue
        b = bins[int(t)]
        if status == 200:
            b["ok"] += 1
        elif status == 429:
            b["throttled"] += 1
    return bins


def plot(
    bins: list[dict[str, float]],
    samples: list[tuple[float, float | None]],
    out: Path,
) -> Path | None:
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e .[bench]); no PNG")
        return None
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    ts = [b["t"] + 0.5 for b in bins]
    top.plot(ts, [b["ok"] for b in bins], label="successful reads/s", color="tab:blue")
    top.step(
        [t for t, _ in samples],
        [r if r is not None else float("nan") for _, r in samples],
        where="post",
        label="client limiter rate",
        color="tab:green",
        alpha=0.7,
    )
    top.axhline(SERVER_RATE, color="tab:red", ls="--", label="server limit (50/s)")
    top.set_ylabel("requests/s")
    top.set_ylim(0, max(CLIENT_RATE * 0.5, SERVER_RATE * 2))
    top.legend(loc="upper right")
    top.set_title(
        f"adaptive limiting: client set to {CLIENT_RATE:.0f}/s, server allows "
        f"{SERVER_RATE:.0f}/s (burst {SERVER_BURST}), 20 ms latency"
    )
    bottom.bar(ts, [b["throttled"] for b in bins], width=0.9, color="tab:orange")
    bottom.set_ylabel("429s per second")
    bottom.set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args(argv)
    seconds = args.seconds or (20.0 if args.quick else 60.0)
    with emulator_process(
        "neuroio",
        groups=20,
        latency=LATENCY,
        rate_limit=SERVER_RATE,
        burst=SERVER_BURST,
    ) as emu:
        run = asyncio.run(measure(emu, seconds))
        server = emu.stats()
    bins = series(run.pop("answers"), run["seconds"])
    samples = run.pop("limiter_samples")
    rate = run["ok"] / run["seconds"]
    share = run["throttled"] / max(1, run["attempts"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = plot(bins, samples, RESULTS / "adaptive.png")
    result = {
        "server_rate": SERVER_RATE,
        "server_burst": SERVER_BURST,
        "client_rate": CLIENT_RATE,
        "latency_s": LATENCY,
        "workers": WORKERS,
        **run,
        "server_requests": server["requests"],
        "server_429s": server["faults"].get("429", 0),
        "achieved_rps": rate,
        "rate_ratio": rate / SERVER_RATE,
        "share_429": share,
        "target_rate_ratio": TARGET_RATE,
        "target_share_429": TARGET_429,
        "met": rate / SERVER_RATE >= TARGET_RATE and share <= TARGET_429,
        "per_second": bins,
        "limiter_rate_samples": samples,
        "png": None if png is None else str(png.relative_to(RESULTS.parent.parent)),
        "quick": args.quick,
    }
    out = write_result("adaptive", result)
    print(__doc__.splitlines()[0])
    print(
        table(
            ["figure", "value", "target"],
            [
                ["seconds", run["seconds"], "-"],
                ["attempts", run["attempts"], "-"],
                ["successful reads/s", rate, "-"],
                ["÷ server limit (50/s)", result["rate_ratio"], f">= {TARGET_RATE}"],
                ["429s", run["throttled"], "-"],
                ["share of 429s", share, f"<= {TARGET_429}"],
                ["failed reads", run["errors"], "0"],
            ],
        )
    )
    print(
        f"rate {verdict(result['rate_ratio'], TARGET_RATE, at_most=False)}, "
        f"429 share {verdict(share, TARGET_429, at_most=True)} -> {out}"
        + (f", {png}" if png else "")
    )
    return result


if __name__ == "__main__":
    main()
