"""The ``asyncgroups`` command: argument parsing, dispatch and exit codes.

Exit codes: 0 when everything asked for was applied; 1 when some of it failed (a
partial sync, a request that failed after retries); 2 for a usage or configuration
error, bad input, or a sync that refused to run. Errors are printed with ``str(exc)``,
which the library keeps free of credentials.
"""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence

from asyncgroups.cli.output import MissingExtraError, Output, require_rich
from asyncgroups.errors import (
    AsyncGroupsError,
    ConfigurationError,
    InvalidInputError,
    PartialSyncError,
    SyncAbortedError,
)

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "amain", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace, Output], Awaitable[int]]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    from asyncgroups.cli import demo, emulator, groups, members, sync, users

    parser = argparse.ArgumentParser(
        prog="asyncgroups",
        description="Manage groups and memberships over neuroio, snip, periscope and "
        "other backends; sync a desired membership state; run local emulators.",
        epilog="Backend settings come from flags or ASYNCGROUPS_* environment "
        "variables (ASYNCGROUPS_BACKEND, ASYNCGROUPS_TOKEN, ASYNCGROUPS_BASE_URL, "
        "ASYNCGROUPS_SITE, ASYNCGROUPS_API_KEY). Exit codes: 0 applied, "
        "1 partly failed, 2 usage, configuration or refused sync.",
    )
    parser.add_argument("--version", action="store_true", help="print the version")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo.register(subparsers)
    sync.register(subparsers)
    groups.register(subparsers)
    members.register(subparsers)
    users.register(subparsers)
    emulator.register(subparsers)
    return parser


async def amain(argv: Sequence[str] | None = None) -> int:
    """Run one command in the running event loop; return its exit code.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        0 applied, 1 partly failed, 2 usage or configuration error / refused sync.
    """
    try:
        require_rich()
    except MissingExtraError as exc:
        print(f"asyncgroups: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.version:
        from importlib.metadata import version

        print(f"asyncgroups {version('asyncgroups')}")
        return EXIT_OK
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    out = Output(json_mode=bool(getattr(args, "json", False)))
    try:
        return await handler(args, out)
    except PartialSyncError as exc:
        report = getattr(exc, "report", None)
        if report is not None and out.json_mode:
            out.json(_report_json(report))
        elif report is not None:
            out.line(str(report))
        out.error(_first_line(exc))
        return EXIT_FAILED
    except (SyncAbortedError, ConfigurationError, InvalidInputError) as exc:
        out.error(str(exc))
        return EXIT_USAGE
    except AsyncGroupsError as exc:
        out.error(str(exc))
        return EXIT_FAILED


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _report_json(report: object) -> object:
    import json

    to_json = getattr(report, "to_json", None)
    return json.loads(to_json()) if callable(to_json) else str(report)


def main(argv: Sequence[str] | None = None) -> int:
    """The console entry point: run :func:`amain` in a new event loop.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code (0 applied, 1 partly failed, 2 usage or configuration error).
    """
    try:
        return asyncio.run(amain(argv))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
