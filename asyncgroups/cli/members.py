"""``asyncgroups members list`` and ``members export`` (CSV or JSON).

The export writes the same shapes ``sync --from`` reads: CSV rows ``group,member``
(group names, member keys) or a JSON object mapping each group name to its keys, so
one backend's state can be exported, edited and synced back or elsewhere.
"""

import argparse
import asyncio
import csv
import io
import json
import pathlib

from asyncgroups.cli.activity import Activity
from asyncgroups.cli.config import build_backend, build_client
from asyncgroups.cli.groups import add_common_arguments, resolve_groups
from asyncgroups.cli.output import Output, plural
from asyncgroups.errors import ConfigurationError
from asyncgroups.models import Member
from asyncgroups.tabular import csv_cell

__all__ = ["register"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``members`` commands."""
    parser = subparsers.add_parser("members", help="list or export group members")
    commands = parser.add_subparsers(
        dest="members_command", metavar="COMMAND", required=True
    )
    listing = commands.add_parser("list", help="list one group's members")
    listing.add_argument("group", metavar="GROUP", help="group id or name")
    add_common_arguments(listing)
    listing.set_defaults(handler=list_members)

    export = commands.add_parser(
        "export",
        help="export memberships as CSV (group,member) or JSON",
        description=(
            "Export memberships as CSV (group,member) or JSON. A CSV cell that "
            "would begin with =, +, -, @, a tab or a carriage return is written "
            "with a leading ' so a spreadsheet shows it as text instead of running "
            "it as a formula; 'sync --from' and 'plan --from' read it back unchanged."
        ),
    )
    export.add_argument(
        "groups", metavar="GROUP", nargs="*", help="group ids or names (default: all)"
    )
    export.add_argument(
        "--format",
        choices=("csv", "json"),
        help="default: from --output's suffix, else csv",
    )
    export.add_argument(
        "-o", "--output", metavar="FILE", help="write here instead of stdout"
    )
    add_common_arguments(export)
    export.set_defaults(handler=export_members)


async def list_members(args: argparse.Namespace, out: Output) -> int:
    """Print one group's members (key, e-mail, role)."""
    activity = Activity(out)
    backend = build_backend(args)
    members: list[Member] = []
    async with build_client(args, backend, hooks=activity.hooks()) as client:
        (group,) = await resolve_groups(client, [args.group], out)
        with out.progress(f"listing {group.name}", unit="members") as bar:
            async for member in client.members.list(group.id):
                members.append(member)
                bar.advance()
    members.sort(key=lambda m: m.key)
    if out.json_mode:
        out.json(
            {
                "group": {"id": group.id, "name": group.name},
                "members": [
                    {"key": m.key, "email": m.email, "role": m.role} for m in members
                ],
            }
        )
    else:
        out.table(
            ["key", "email", "role"],
            [(m.key, m.email, m.role) for m in members],
            title=f"{group.name}: {plural(len(members), 'member')}",
        )
    return 0


async def export_members(args: argparse.Namespace, out: Output) -> int:
    """Write every selected group's member keys as CSV or JSON.

    Raises:
        ConfigurationError: the output file cannot be written.
    """
    fmt = args.format or (
        "json" if args.output and args.output.lower().endswith(".json") else "csv"
    )
    state: dict[str, list[str]] = {}
    activity = Activity(out)
    backend = build_backend(args)
    async with build_client(args, backend, hooks=activity.hooks()) as client:
        groups = await resolve_groups(client, args.groups, out)
        with out.progress("export", total=len(groups), unit="groups") as bar:
            for group in groups:
                keys = sorted({m.key async for m in client.members.list(group.id)})
                state.setdefault(group.name, []).extend(keys)
                bar.advance()
    text = _render(state, fmt)
    if args.output:
        try:
            await asyncio.to_thread(
                pathlib.Path(args.output).write_text, text, encoding="utf-8"
            )
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write {args.output}: {exc.strerror}"
            ) from None
        total = sum(len(v) for v in state.values())
        if out.json_mode:
            out.json(
                {"output": args.output, "groups": len(state), "memberships": total}
            )
        else:
            out.line(
                f"wrote {plural(total, 'membership')} of {plural(len(state), 'group')} "
                f"to {args.output}"
            )
    else:
        out.write(text)
    return 0


def _render(state: dict[str, list[str]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(state, indent=2, sort_keys=True) + "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["group", "member"])
    for name in sorted(state):
        for key in state[name]:
            writer.writerow([csv_cell(name), csv_cell(key)])
    return buffer.getvalue()
