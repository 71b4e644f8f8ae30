"""The ``asyncgroups`` command: argument parsing, dispatch and exit codes.

Exit codes (distinct, so scripts can tell them apart):

- 0: everything asked for was applied (or there was nothing to do);
- 1: some changes failed, were skipped, or their outcome is unknown; or a request
  failed after its retries;
- 2: a usage or configuration error, or bad input (nothing was sent);
- 3: a safety rail refused the sync (``--max-removals``, drift since planning, an
  incomplete listing); nothing was written;
- 130: interrupted (Ctrl-C); what was applied so far is reported first.

Errors are printed with ``str(exc)``, which the library keeps free of credentials;
with ``--json`` they are one JSON object on stdout (see
`error_document`).
"""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence

from asyncgroups.cli.output import Output
from asyncgroups.errors import (
    AsyncGroupsError,
    ConfigurationError,
    InvalidInputError,
    PartialSyncError,
    SyncAbortedError,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "amain",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace, Output], Awaitable[int]]

_EPILOG = (
    "Backend settings come from flags or ASYNCGROUPS_* environment variables "
    "(ASYNCGROUPS_BACKEND, ASYNCGROUPS_TOKEN, ASYNCGROUPS_BASE_URL, ASYNCGROUPS_SITE, "
    "ASYNCGROUPS_API_KEY), then from a profile of the config file (--profile NAME; "
    "see 'asyncgroups config show'). Exit codes: 0 everything applied; 1 some changes failed, "
    "were skipped or have an unknown outcome; 2 usage, configuration or bad input; "
    "3 refused by a safety rail; 130 interrupted."
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    from asyncgroups.cli import configcmd, demo, emulator, groups, members, sync, users
    from asyncgroups.cli.config import add_profile_arguments

    parser = argparse.ArgumentParser(
        prog="asyncgroups",
        description="Manage groups and memberships over neuroio, snip, periscope and "
        "other backends; sync a desired membership state; run local emulators.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="store_true", help="print the version")
    add_profile_arguments(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo.register(subparsers)
    sync.register(subparsers)
    groups.register(subparsers)
    members.register(subparsers)
    users.register(subparsers)
    emulator.register(subparsers)
    configcmd.register(subparsers)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("asyncgroups")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def _keep_library_logs_off_the_terminal() -> None:
    """Stop the library's WARNING records from landing mid-table on stderr.

    With no logging configured, Python writes WARNING records to stderr as they come
    (``logging.lastResort``): in the middle of a table or a progress bar. The command
    shows retries and 429 pauses itself (`Activity`), so a ``NullHandler`` on the
    ``asyncgroups`` logger keeps those records off the terminal; a program that
    configured logging (a handler on the root logger) still receives them.
    """
    package = logging.getLogger("asyncgroups")
    if not any(isinstance(h, logging.NullHandler) for h in package.handlers):
        package.addHandler(logging.NullHandler())


async def amain(argv: Sequence[str] | None = None) -> int:
    """Run one command in the running event loop; return its exit code.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        0 applied, 1 failed or unknown, 2 usage or bad input, 3 refused by a safety
        rail (see the module docstring).

    Raises:
        asyncio.CancelledError: the command was interrupted; what it had done so
            far is printed first.
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments == ["--version"]:  # no parser, so no extra is imported
        print(f"asyncgroups {_version()}")
        return EXIT_OK
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.version:
        print(f"asyncgroups {_version()}")
        return EXIT_OK
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _keep_library_logs_off_the_terminal()
    # Without the ``cli`` extra (rich) the output is plain lines, on a terminal too.
    out = Output(json_mode=bool(getattr(args, "json", False)))
    try:
        if getattr(args, "use_profile", False):
            await _prepare_settings(args, out)
        return await handler(args, out)
    except asyncio.CancelledError:
        out.fail(KeyboardInterrupt("interrupted"), EXIT_INTERRUPTED)
        raise
    except PartialSyncError as exc:
        report = getattr(exc, "report", None)
        extra = {"report": _report_json(report)} if report is not None else None
        if report is not None and not out.json_mode:
            out.line(str(report))
        out.fail(exc, EXIT_FAILED, extra=extra)
        return EXIT_FAILED
    except SyncAbortedError as exc:
        out.fail(exc, EXIT_REFUSED)
        return EXIT_REFUSED
    except (ConfigurationError, InvalidInputError) as exc:
        out.fail(exc, EXIT_USAGE)
        return EXIT_USAGE
    except AsyncGroupsError as exc:
        out.fail(exc, EXIT_FAILED)
        return EXIT_FAILED


async def _prepare_settings(args: argparse.Namespace, out: Output) -> None:
    """Fill in what the flags left unset from the environment, a profile, defaults."""
    from asyncgroups.cli.settings import prepare

    resolution = await asyncio.to_thread(prepare, args)
    for warning in resolution.warnings:
        out.warning(warning)


def _report_json(report: object) -> object:
    import json

    to_json = getattr(report, "to_json", None)
    return json.loads(to_json()) if callable(to_json) else str(report)


def main(argv: Sequence[str] | None = None) -> int:
    """The console entry point: run `amain` in a new event loop.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code (see the module docstring).
    """
    try:
        code = asyncio.run(amain(argv))
    except KeyboardInterrupt:
        # amain printed what was done (the partial report) before re-raising.
        code = EXIT_INTERRUPTED
    except BrokenPipeError:  # a write outside Output; the reader left
        code = EXIT_OK
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _to_devnull(sys.stdout.fileno())
    return code


def _to_devnull(fd: int) -> None:
    """Point ``fd`` at /dev/null, so the interpreter's last flush stays quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
