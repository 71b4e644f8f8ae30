"""``asyncgroups config show``: the settings a command would use, and where from.

It resolves the settings as every command does (flag, ``ASYNCGROUPS_*`` variable,
profile, default; `asyncgroups.cli.settings`) and prints each with its origin.
Credentials are masked: a credential shows as ``***`` and says where it was read
from, so a missing variable or token file is found before any request. The config
file is only read.
"""

import argparse
import asyncio

from asyncgroups.cli.config import add_backend_arguments, add_client_arguments
from asyncgroups.cli.output import Output
from asyncgroups.cli.settings import resolve

__all__ = ["register", "show_config"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``config`` commands."""
    parser = subparsers.add_parser(
        "config", help="show the settings (config file profiles, environment, flags)"
    )
    commands = parser.add_subparsers(
        dest="config_command", metavar="COMMAND", required=True
    )
    show = commands.add_parser(
        "show",
        help="print the resolved settings, credentials masked, and where each came from",
        description="Resolve the settings as a command would (flag > ASYNCGROUPS_* "
        "variable > profile > default) and print each with its origin. Credentials "
        "are shown as ***.",
    )
    show.add_argument("--json", action="store_true", help="print JSON on stdout")
    add_backend_arguments(show)
    add_client_arguments(show)
    show.set_defaults(handler=show_config, use_profile=False)


async def show_config(args: argparse.Namespace, out: Output) -> int:
    """Print the resolved settings with their origins.

    Raises:
        ProfileError: the config file or profile is wrong, or a credential it names
            cannot be read.
        ConfigurationError: an unknown backend, or a variable that is not a number.
    """
    resolution = await asyncio.to_thread(resolve, args)
    for warning in resolution.warnings:
        out.warning(warning)
    profile = resolution.profile
    if out.json_mode:
        out.json(
            {
                "config": {
                    "path": str(resolution.config),
                    "found": resolution.config_found,
                },
                "profile": (
                    {"name": profile.name, "from": profile.asked_by}
                    if profile is not None
                    else None
                ),
                "profiles": list(resolution.profiles),
                "settings": {
                    name: {"value": s.plain(), "from": s.origin}
                    for name, s in resolution.settings.items()
                },
            }
        )
        return 0
    found = "" if resolution.config_found else " (none there)"
    out.line(f"config file: {resolution.config}{found}")
    if profile is not None:
        out.line(f"profile: {profile.name} (chosen by {profile.asked_by})")
    else:
        out.line("profile: none")
    if resolution.profiles:
        out.line(f"profiles: {', '.join(resolution.profiles)}")
    out.table(
        ["setting", "value", "from"],
        [(name, s.shown(), s.origin) for name, s in resolution.settings.items()],
        title="settings",
    )
    return 0
