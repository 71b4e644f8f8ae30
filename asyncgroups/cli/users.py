"""``asyncgroups users add-to-sites`` and ``users delete --csv``: the Periscope recipes.

``add-to-sites`` creates one user on several sites, each with its own API key (the
vendor's "add a user to all of your sites" script). ``delete --csv`` deletes every
user listed in a CSV file (the vendor's bulk delete script); the whole file is
checked first, so a bad row changes nothing.
"""

import argparse
import asyncio
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import asyncgroups as ag
from asyncgroups.cli.activity import Activity
from asyncgroups.cli.config import (
    add_backend_arguments,
    add_client_arguments,
    add_encoding_argument,
    build_backend,
    build_client,
    env_flag,
    env_name,
)
from asyncgroups.cli.files import SiteKey, read_emails, read_sites
from asyncgroups.cli.output import Output, plural
from asyncgroups.errors import (
    AsyncGroupsError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
)
from asyncgroups.validation import check_email

if TYPE_CHECKING:
    from asyncgroups.sites import PeriscopeSites

__all__ = ["register"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``users`` commands."""
    parser = subparsers.add_parser(
        "users", help="user recipes (add to sites, bulk delete)"
    )
    commands = parser.add_subparsers(
        dest="users_command", metavar="COMMAND", required=True
    )

    add = commands.add_parser(
        "add-to-sites",
        help="create one user on several Periscope sites",
        description="Create one user on every site listed in --sites (or "
        f"{env_name('sites')}=site:key,site:key).",
    )
    add.add_argument("--email", required=True)
    add.add_argument("--first-name", default="")
    add.add_argument("--last-name", default="")
    add.add_argument(
        "--group", dest="groups", action="append", default=[], help="repeatable"
    )
    add.add_argument("--invited-by", metavar="EMAIL", help="inviting user's e-mail")
    add.add_argument(
        "--sites",
        metavar="FILE",
        help="JSON [{site_name, api_key}] or CSV site_name,api_key",
    )
    add.add_argument(
        "--base-url",
        help=f"API base URL, e.g. an emulator's (env {env_name('base_url')})",
    )
    add.add_argument(
        "--test-mode",
        action="store_true",
        default=None,
        help=f"periscope test_mode (env {env_name('test_mode')})",
    )
    add_encoding_argument(add)
    add.add_argument("--json", action="store_true", help="print JSON on stdout")
    add_client_arguments(add)
    add.set_defaults(handler=add_to_sites)

    delete = commands.add_parser(
        "delete",
        help="delete the users listed in a CSV file",
        description="Delete every user whose e-mail is in the CSV file's "
        "email_address (or email, e-mail, mail) column. The file is checked first; "
        "a bad row changes nothing.",
    )
    delete.add_argument("--csv", required=True, metavar="FILE")
    delete.add_argument(
        "--sites",
        metavar="FILE",
        help="delete on every Periscope site listed here (JSON or CSV "
        f"site_name,api_key; or {env_name('sites')}) instead of one backend",
    )
    delete.add_argument("--json", action="store_true", help="print JSON on stdout")
    add_encoding_argument(delete)
    add_backend_arguments(delete)
    add_client_arguments(delete)
    delete.set_defaults(handler=delete_users)


def _sites(args: argparse.Namespace) -> list[SiteKey]:
    if args.sites:
        # small; read before any request
        return read_sites(args.sites, encoding=getattr(args, "encoding", None))
    raw = os.environ.get(env_name("sites"), "")
    sites: list[SiteKey] = []
    for number, item in enumerate(filter(None, (p.strip() for p in raw.split(","))), 1):
        site, sep, key = item.partition(":")
        if not sep or not site or not key:
            raise ConfigurationError(
                f"{env_name('sites')}: entry {number} is not site:api_key"
            )
        sites.append(SiteKey(site, ag.Secret(key)))
    if not sites:
        raise ConfigurationError(
            f"no sites: pass --sites FILE or set {env_name('sites')}"
        )
    return sites


def _open_sites(
    args: argparse.Namespace,
    sites: list[SiteKey],
    activity: Activity,
    environ: Mapping[str, str] = os.environ,
) -> "PeriscopeSites":
    # Imported on use: it loads the Periscope backend, which other commands never need.
    from asyncgroups.sites import PeriscopeSites

    hooks = activity.hooks()
    options: dict[str, Any] = {
        "client_factory": lambda backend: build_client(args, backend, hooks=hooks)
    }
    # The same rule as every backend setting: a flag, else ASYNCGROUPS_*.
    base_url = getattr(args, "base_url", None) or environ.get(env_name("base_url"))
    if base_url:
        options["base_url"] = base_url
    test_mode = getattr(args, "test_mode", None)
    if test_mode is None:
        test_mode = env_flag(environ.get(env_name("test_mode")))
    if test_mode:
        options["test_mode"] = True
    if getattr(args, "invited_by", None):
        options["admin_email"] = args.invited_by
    return PeriscopeSites({s.site: s.api_key for s in sites}, **options)


async def add_to_sites(args: argparse.Namespace, out: Output) -> int:
    """Create the user on every site; print one row per site.

    Returns:
        0 if every site has the user now, 1 if some site refused.

    Raises:
        InvalidInputError: a bad e-mail or sites file.
        ConfigurationError: no sites given.
    """
    check_email(args.email, "--email")
    if args.invited_by:
        check_email(args.invited_by, "--invited-by")
    sites = await asyncio.to_thread(_sites, args)
    async with _open_sites(args, sites, Activity(out)) as fleet:
        results = await fleet.add_user_to_sites(
            args.email,
            args.first_name or None,
            args.last_name or None,
            groups=list(args.groups),
            invited_by_email=args.invited_by,
        )
    rows: list[tuple[str, str, str]] = []
    for site, outcome in results.items():
        if isinstance(outcome, ConflictError):
            rows.append((site, "exists", "already a user there"))
        elif isinstance(outcome, AsyncGroupsError):
            rows.append((site, "failed", str(outcome)))
        else:
            rows.append((site, "added", ""))
    failed = sum(1 for _, status, _ in rows if status == "failed")
    if out.json_mode:
        out.json(
            {
                "email": args.email,
                "sites": [{"site": s, "status": st, "detail": d} for s, st, d in rows],
                "failed": failed,
            }
        )
    else:
        out.table(
            ["site", "status", "detail"],
            rows,
            title=f"{args.email} on {plural(len(rows), 'site')}",
        )
    return 1 if failed else 0


async def delete_users(args: argparse.Namespace, out: Output) -> int:
    """Delete every user listed in the CSV file; print a summary.

    Returns:
        0 if every listed user is gone, 1 if some deletion failed.

    Raises:
        InvalidInputError: the file has a problem (nothing is deleted).
    """
    encoding = args.encoding
    emails = await asyncio.to_thread(lambda: read_emails(args.csv, encoding=encoding))
    activity = Activity(out)
    results: dict[tuple[str, str], tuple[str, str]] = {}
    if args.sites or os.environ.get(env_name("sites")):
        sites = await asyncio.to_thread(_sites, args)
        async with _open_sites(args, sites, activity) as fleet:
            outcomes = await fleet.delete_users_csv(emails)
        for site, outcome in outcomes.items():
            for email in emails:
                if isinstance(outcome, AsyncGroupsError):
                    results[site, email] = ("failed", str(outcome))
                elif email in outcome.failed:
                    error = outcome.failed[email]
                    results[site, email] = (
                        ("absent", "no such user")
                        if isinstance(error, NotFoundError)
                        else ("failed", str(error))
                    )
                else:
                    results[site, email] = ("deleted", "")
    else:
        backend = build_backend(args)
        async with build_client(args, backend, hooks=activity.hooks()) as client:
            site = client.backend.name
            with activity.phase("finding users"):
                ids = await _user_ids(client, emails)
            semaphore = asyncio.Semaphore(int(args.concurrency))
            with out.progress("delete", total=len(emails)) as bar:

                async def one(email: str) -> None:
                    uid = ids.get(email.casefold())
                    if uid is None:
                        results[site, email] = ("absent", "no such user")
                    else:
                        async with semaphore:
                            results[site, email] = await _delete(client, uid)
                    bar.advance()

                await asyncio.gather(*(one(e) for e in emails))
    counts = dict.fromkeys(("deleted", "absent", "failed"), 0)
    for status, _ in results.values():
        counts[status] += 1
    ordered = sorted(results.items())
    if out.json_mode:
        out.json(
            {
                **counts,
                "users": [
                    {"site": site, "email": email, "status": status, "detail": detail}
                    for (site, email), (status, detail) in ordered
                ],
            }
        )
    else:
        problems = [
            (site, email, status, detail)
            for (site, email), (status, detail) in ordered
            if status != "deleted"
        ]
        if problems:
            out.table(
                ["site", "email", "status", "detail"], problems, title="not deleted"
            )
        out.line(
            f"deleted {counts['deleted']}, absent {counts['absent']}, "
            f"failed {counts['failed']} ({len(emails)} e-mails)"
        )
    return 1 if counts["failed"] else 0


async def _delete(client: ag.Client, uid: str) -> tuple[str, str]:
    try:
        await client.users.delete(uid)
    except NotFoundError:
        return "absent", "no such user"
    except AsyncGroupsError as exc:
        return "failed", str(exc)
    return "deleted", ""


async def _user_ids(client: ag.Client, emails: list[str]) -> dict[str, str]:
    """Map each e-mail (case-folded) to the user id the backend deletes by."""
    if ag.Capability.USERS_LIST not in client.capabilities:
        # Without a listing, e-mails are taken as the ids (Periscope's users are).
        return {e.casefold(): e for e in emails}
    wanted = {e.casefold() for e in emails}
    ids: dict[str, str] = {}
    async for user in client.users.list():
        if user.email and user.email.casefold() in wanted:
            ids[user.email.casefold()] = user.id
    return ids
