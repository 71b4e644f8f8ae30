"""``asyncgroups plan`` and ``asyncgroups sync``: desired membership -> plan -> apply.

The desired state comes from ``--from``: a CSV file (``group,member``), a JSON file
(``{"group": ["key", ...]}``), or ``BACKEND:GROUP`` (another backend's groups; ``*``
for all, credentials from ``--source-*`` flags or ``ASYNCGROUPS_SOURCE_*``). A saved
plan (``plan --save FILE``) can be applied later with ``sync --plan FILE``.
``--shard I/N`` keeps the groups of one shard, so N processes share one sync.
"""

import argparse
import asyncio
import contextlib
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import asyncgroups as ag
from asyncgroups.cli.activity import Activity
from asyncgroups.cli.config import (
    add_backend_arguments,
    add_encoding_argument,
    build_backend,
    build_client,
)
from asyncgroups.cli.files import check_member_emails
from asyncgroups.cli.groups import add_common_arguments
from asyncgroups.cli.output import Output, ProgressBar
from asyncgroups.cli.tally import ApplyTally
from asyncgroups.errors import ConfigurationError, InvalidInputError
from asyncgroups.sync.journal import JournalStore, RedisJournal, SQLiteJournal
from asyncgroups.sync.plan import SyncPlan
from asyncgroups.sync.report import ProgressEvent, SyncReport
from asyncgroups.sync.shard import parse_shard, shard_desired
from asyncgroups.tabular import read_text

__all__ = ["progress_callback", "register", "show_report"]


def _add_plan_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--from",
        dest="source",
        metavar="FILE|BACKEND:GROUP",
        required=required,
        help="desired state: CSV group,member / JSON file / BACKEND:GROUP ('*': all)",
    )
    parser.add_argument(
        "--prune", action="store_true", help="also remove members not desired"
    )
    parser.add_argument(
        "--create-groups", action="store_true", help="create missing groups"
    )
    parser.add_argument(
        "--by",
        choices=("name", "id"),
        default="name",
        help="groups named by (default: name)",
    )
    parser.add_argument(
        "--key-map",
        choices=("keys", "email"),
        default="keys",
        help="with BACKEND:GROUP: take member keys as they are, or use e-mails",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="only the groups of shard I of N (1 <= I <= N, split by a stable hash "
        "of the group): N processes run one sync together; --prune touches only "
        "this shard's groups",
    )
    parser.add_argument(
        "--email-keys",
        action="store_true",
        help="check that every member is an e-mail address (always on for periscope)",
    )
    add_encoding_argument(parser)
    add_common_arguments(parser)
    add_backend_arguments(parser, prefix="source-")


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``plan`` and ``sync`` commands."""
    plan = subparsers.add_parser(
        "plan", help="show what a sync would change (reads only)"
    )
    _add_plan_arguments(plan, required=True)
    plan.add_argument(
        "--save", metavar="FILE", help="write the plan as JSON, for sync --plan"
    )
    plan.add_argument(
        "--summary", action="store_true", help="print the totals line only"
    )
    plan.set_defaults(handler=run_plan)

    sync = subparsers.add_parser(
        "sync", help="make the backend's memberships match the desired state"
    )
    _add_plan_arguments(sync, required=False)
    sync.add_argument(
        "--plan",
        dest="plan_file",
        metavar="FILE",
        help="apply a plan saved by plan --save",
    )
    sync.add_argument(
        "--dry-run", action="store_true", help="plan and report, send no write"
    )
    sync.add_argument(
        "--max-removals",
        type=int,
        metavar="N",
        help="refuse the sync if it would remove more than N members from a group "
        "(default: 10%% of its members, at least 10)",
    )
    sync.add_argument(
        "--journal",
        metavar="FILE|URL",
        help="record every write's intent and outcome (a SQLite file, or "
        "redis://HOST[:PORT][/DB]#NAME) so an interrupted sync can --resume",
    )
    sync.add_argument(
        "--resume",
        metavar="FILE|URL",
        help="resume the interrupted sync a --journal recorded (its plan is kept "
        "there): re-reads only the groups with writes left open",
    )
    sync.set_defaults(handler=run_sync)


async def load_desired(
    args: argparse.Namespace, activity: Activity | None = None
) -> dict[str, frozenset[str]]:
    """The desired state named by ``--from``.

    Raises:
        InvalidInputError: the file is unreadable or malformed (problems name their
            lines), or a source group does not exist.
        ConfigurationError: the source backend is not configured.
    """
    from asyncgroups.sync import sources

    source: str = args.source
    suffix = pathlib.PurePath(source).suffix.lower()
    if suffix == ".json" or suffix == ".csv" or ":" not in source:
        read = (
            sources.desired_from_json if suffix == ".json" else sources.desired_from_csv
        )
        encoding = getattr(args, "encoding", None)
        return await asyncio.to_thread(lambda: read(source, encoding=encoding))
    backend_name, _, group = source.partition(":")
    if not backend_name or not group:
        raise InvalidInputError(
            f"--from {source!r}: expected a .csv or .json file, or BACKEND:GROUP"
        )
    if not getattr(args, "source_backend", None):
        args.source_backend = backend_name
    backend = build_backend(args, prefix="source-")
    hooks = activity.hooks() if activity is not None else None
    async with build_client(args, backend, hooks=hooks) as source_client:
        with activity.phase(f"reading {backend_name}") if activity else _nothing():
            return await sources.desired_from_client(
                source_client,
                None if group == "*" else [group],
                key_map="email" if args.key_map == "email" else None,
            )


#: Backends whose member keys are e-mail addresses (checked before any request).
EMAIL_KEYED = frozenset({"periscope"})


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


async def _plan(
    args: argparse.Namespace, client: ag.Client, activity: Activity
) -> SyncPlan:
    shard = parse_shard(args.shard) if getattr(args, "shard", None) else None
    desired = await load_desired(args, activity)
    if shard is not None:
        desired = shard_desired(desired, shard)
    is_file = pathlib.PurePath(args.source).suffix.lower() in (".csv", ".json")
    if is_file and (args.email_keys or client.backend.name in EMAIL_KEYED):
        encoding = getattr(args, "encoding", None)
        await asyncio.to_thread(
            lambda: check_member_emails(args.source, desired, encoding=encoding)
        )
    with activity.phase(f"planning {client.backend.name}"):
        return await client.plan_sync(
            desired, prune=args.prune, create_groups=args.create_groups, by=args.by
        )


async def run_plan(args: argparse.Namespace, out: Output) -> int:
    """Plan a sync and print the diff (or JSON); optionally save it."""
    activity = Activity(out)
    backend = build_backend(args)
    async with build_client(args, backend, hooks=activity.hooks()) as client:
        plan = await _plan(args, client, activity)
    if args.save:
        try:
            await asyncio.to_thread(
                pathlib.Path(args.save).write_text,
                plan.to_json(indent=2),
                encoding="utf-8",
            )
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write {args.save}: {exc.strerror}"
            ) from None
    if out.json_mode:
        out.json(json.loads(plan.to_json()))
    else:
        text = str(plan)
        out.line(text.splitlines()[-1] if args.summary else text)
        if args.save:
            out.info(f"plan saved to {args.save}")
    return 0


def progress_callback(bar: ProgressBar) -> Any:
    """An ``on_progress`` callback that moves ``bar``."""

    def on_progress(event: ProgressEvent) -> None:
        bar.update(event.done, event.total)

    return on_progress


async def run_sync(args: argparse.Namespace, out: Output) -> int:
    """Plan (or load a plan) and apply it; print the report.

    Returns:
        0 if every change asked for applied (or a dry run), 1 if some failed, were
        skipped or drifted.

    Raises:
        SyncAbortedError: the sync refused to run (max_removals, incomplete listing).
        asyncio.CancelledError: interrupted; the partial report was printed.
    """
    journal = _journal(args.resume or args.journal)
    if args.resume and args.journal:
        raise ConfigurationError("--resume already names the journal")
    if sum(map(bool, (args.source, args.plan_file, args.resume))) != 1:
        raise ConfigurationError("sync needs exactly one of --from, --plan or --resume")
    if journal is not None and args.dry_run:
        raise ConfigurationError("--dry-run sends nothing: it takes no journal")
    if args.plan_file and args.shard:
        raise ConfigurationError("--shard goes with --from, not --plan")
    if args.max_removals is not None and args.max_removals < 0:
        raise ConfigurationError("--max-removals must be >= 0")
    activity = Activity(out)
    backend = build_backend(args)
    async with build_client(args, backend, hooks=activity.hooks()) as client:
        if args.plan_file:
            plan = await asyncio.to_thread(_read_plan, args.plan_file, args.encoding)
        elif args.resume and journal is not None:
            plan = await asyncio.to_thread(_journaled_plan, journal, args.resume)
        else:
            plan = await _plan(args, client, activity)
        if not out.json_mode:
            out.info(str(plan).splitlines()[-1])
        name = client.backend.name
        with out.progress_bars() as bars:
            # Requests show the re-read before any write, then the writes.
            requests = bars.add(f"requests {name}", unit="requests")
            bar = bars.add(f"sync {name}", plan.operations)
            tally = ApplyTally(plan.operations, progress_callback(bar))
            try:
                with activity.counting(requests):
                    report = await client.apply(
                        plan,
                        max_removals=args.max_removals,
                        on_progress=tally,
                        dry_run=args.dry_run,
                        journal=journal,
                    )
            except asyncio.CancelledError:
                _show_interrupted(out, tally)
                raise
    show_report(out, report)
    if args.dry_run:
        return 0
    return 0 if report.converged else 1


def _journal(where: str | None) -> JournalStore | None:
    """The journal store ``--journal``/``--resume`` names."""
    if not where:
        return None
    if where.startswith(("redis://", "rediss://", "unix://")):
        url, _, name = where.partition("#")
        if not name:
            raise ConfigurationError(
                "a Redis journal needs a name after '#': redis://HOST/DB#NAME"
            )
        return RedisJournal(url, name)
    return SQLiteJournal(where)


def _journaled_plan(journal: JournalStore, where: str) -> SyncPlan:
    if isinstance(journal, SQLiteJournal) and not pathlib.Path(where).is_file():
        raise ConfigurationError(f"--resume {where}: no such journal")
    text = journal.read_plan()
    if text is None:
        raise ConfigurationError(f"--resume {where}: the journal holds no plan")
    return SyncPlan.from_json(text, source=where)


def _read_plan(path: str, encoding: str | None) -> SyncPlan:
    return SyncPlan.from_json(read_text(path, encoding=encoding), source=path)


def _show_interrupted(out: Output, tally: ApplyTally) -> None:
    """The partial report of an interrupted apply (before exit 130)."""
    if out.json_mode:
        out.fail(
            KeyboardInterrupt(tally.summary()), 130, extra={"partial": tally.to_dict()}
        )
        return
    out.line(tally.summary())


def report_rows(report: SyncReport) -> list[tuple[Any, ...]]:
    """One table row per group of ``report``."""
    return [
        (
            g.key,
            "yes" if g.created else "",
            len(g.added),
            len(g.removed),
            len(g.failed),
            len(g.skipped),
            "yes" if g.drift else "",
        )
        for g in report.groups
    ]


REPORT_COLUMNS = ("group", "created", "added", "removed", "failed", "skipped", "drift")


def show_report(out: Output, report: SyncReport) -> None:
    """Print a sync report: a table and a summary line, or JSON."""
    if out.json_mode:
        out.json(json.loads(report.to_json()))
        return
    out.table(REPORT_COLUMNS, report_rows(report), title=f"sync {report.backend}")
    text = str(report)
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if " operations in " in line), len(lines)
    )
    for line in lines[start:]:
        out.line(line)
