"""``asyncgroups groups list``, and finding groups by id or name for other commands."""

import argparse
from collections.abc import Sequence

import asyncgroups as ag
from asyncgroups.cli.activity import Activity
from asyncgroups.cli.config import (
    add_backend_arguments,
    add_client_arguments,
    build_backend,
    build_client,
)
from asyncgroups.cli.output import Output, plural
from asyncgroups.errors import NotFoundError

__all__ = ["add_common_arguments", "register", "resolve_groups"]


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--json``, backend and client flags to a command that talks to an API."""
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")
    add_backend_arguments(parser)
    add_client_arguments(parser)


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``groups`` commands."""
    parser = subparsers.add_parser("groups", help="list groups")
    commands = parser.add_subparsers(
        dest="groups_command", metavar="COMMAND", required=True
    )
    listing = commands.add_parser("list", help="list groups")
    listing.add_argument("--query", help="only groups whose name matches")
    add_common_arguments(listing)
    listing.set_defaults(handler=list_groups)


async def list_groups(args: argparse.Namespace, out: Output) -> int:
    """Print every group (id, name, description)."""
    activity = Activity(out)
    backend = build_backend(args)
    groups: list[ag.Group] = []
    async with build_client(args, backend, hooks=activity.hooks()) as client:
        with out.progress("listing groups", unit="groups") as bar:
            async for group in client.groups.list(query=args.query):
                groups.append(group)
                bar.advance()
    groups.sort(key=lambda g: (g.name.casefold(), g.id))
    if out.json_mode:
        out.json(
            {
                "groups": [
                    {"id": g.id, "name": g.name, "description": g.description}
                    for g in groups
                ]
            }
        )
    else:
        out.table(
            ["id", "name", "description"],
            [(g.id, g.name, g.description) for g in groups],
            title=plural(len(groups), "group"),
        )
    return 0


async def resolve_groups(
    client: ag.Client, wanted: Sequence[str], out: Output | None = None
) -> list[ag.Group]:
    """The groups named by id or name in ``wanted`` (every group when empty).

    Args:
        client: the Client to list groups with.
        wanted: group ids or names.
        out: where to show the listing's progress, if anywhere.

    Raises:
        NotFoundError: one of them matches no group.
    """
    groups: list[ag.Group] = []
    if out is None:
        groups = [g async for g in client.groups.list()]
    else:
        with out.progress("listing groups", unit="groups") as bar:
            async for group in client.groups.list():
                groups.append(group)
                bar.advance()
    if not wanted:
        return sorted(groups, key=lambda g: (g.name.casefold(), g.id))
    by_id = {g.id: g for g in groups}
    by_name: dict[str, ag.Group] = {}
    for g in groups:
        by_name.setdefault(g.name, g)
    found: list[ag.Group] = []
    for item in wanted:
        match = by_id.get(item) or by_name.get(item)
        if match is None:
            raise NotFoundError(
                f"no group with id or name {item!r}",
                backend=client.backend.name,
            )
        found.append(match)
    return found
