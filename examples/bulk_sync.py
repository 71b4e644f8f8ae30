"""Make many groups' memberships equal a desired state read from a CSV or JSON file.

Usage::

    pip install -e '.[examples]'   # in a clone of the repository: the examples extra
    export ASYNCGROUPS_BACKEND=neuroio ASYNCGROUPS_TOKEN=...   # ASYNCGROUPS_BASE_URL=...
    python examples/bulk_sync.py desired.csv                   # plan only: print the diff
    python examples/bulk_sync.py desired.csv --apply --prune --max-removals 50

``desired.csv`` has a ``group,member`` header and one membership a row; a ``.json``
file maps group names to lists of member keys. Without ``--apply`` nothing is
written. ``--prune`` also removes members the file does not list, guarded by
``--max-removals`` (a count per group, or a fraction such as ``0.1``).

Exit status: 0 when the backend now matches the file, 1 when some changes failed,
2 when the sync refused to run (bad file, incomplete listing, too many removals).
"""

import argparse
import asyncio
import inspect
import os
import sys
from collections.abc import Mapping, Sequence

import asyncgroups as ag
from asyncgroups.sync import ProgressEvent, desired_from_csv, desired_from_json

#: Backend arguments that may come from ``ASYNCGROUPS_<NAME>`` variables.
SETTINGS = ("base_url", "token", "site", "api_key", "admin_email")


def backend_from_env(environ: Mapping[str, str]) -> ag.GroupBackend:
    """Build the backend named by ``ASYNCGROUPS_BACKEND`` from ``ASYNCGROUPS_*``."""
    name = environ.get("ASYNCGROUPS_BACKEND", "neuroio")
    accepted = inspect.signature(ag.backends.load(name)).parameters
    kwargs = {
        setting: environ[f"ASYNCGROUPS_{setting.upper()}"]
        for setting in SETTINGS
        if setting in accepted and f"ASYNCGROUPS_{setting.upper()}" in environ
    }
    return ag.connect(name, **kwargs)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("desired", help="a group,member CSV file or a JSON file")
    parser.add_argument("--apply", action="store_true", help="write the changes")
    parser.add_argument("--prune", action="store_true", help="remove unlisted members")
    parser.add_argument(
        "--create-groups", action="store_true", help="create missing groups"
    )
    parser.add_argument(
        "--max-removals",
        type=float,
        default=None,
        help="most removals per group: a count, or a fraction of its members",
    )
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    return parser.parse_args(argv)


def show_progress(event: ProgressEvent) -> None:
    """Print one line per finished unit of work."""
    print(
        f"  {event.phase:<6} {event.done}/{event.total}"
        f" ({event.failed} failed) {', '.join(event.groups)}",
        file=sys.stderr,
    )


async def run(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> int:
    """Plan, print, and (with ``--apply``) apply; return the exit status."""
    args = parse_args(argv)
    try:
        if args.desired.endswith(".json"):
            desired = desired_from_json(args.desired)
        else:
            desired = desired_from_csv(args.desired)
        backend = backend_from_env(os.environ if environ is None else environ)
    except (ag.InvalidInputError, ag.ConfigurationError, OSError) as exc:
        print(f"bulk_sync: {exc}", file=sys.stderr)
        return 2
    max_removals = args.max_removals
    if max_removals is not None and max_removals >= 1:
        max_removals = int(max_removals)
    async with ag.Client(
        backend,
        rate_limit=ag.RateLimit(per_second=args.rate, adaptive=True),
        retry=ag.RetryPolicy(max_attempts=8, deadline=600.0),
    ) as client:
        try:
            plan = await client.plan_sync(
                desired, prune=args.prune, create_groups=args.create_groups
            )
            print(plan)
            if not args.apply or plan.empty:
                return 0
            report = await client.apply(
                plan, max_removals=max_removals, on_progress=show_progress
            )
        except (ag.SyncAbortedError, ag.InvalidInputError) as exc:
            print(f"bulk_sync: refused: {exc}", file=sys.stderr)
            return 2
        except ag.AsyncGroupsError as exc:
            print(f"bulk_sync: {exc}", file=sys.stderr)
            return 1
    print(report)
    return 0 if report.converged else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(run()))
