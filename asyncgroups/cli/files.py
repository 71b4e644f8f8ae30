"""Input files the commands read: e-mail lists and site lists, checked line by line.

Every problem names its file and line and the whole file is checked before anything
is sent, so a bad row stops a command before it changes anything. Site lists hold API
keys: they are wrapped in [`Secret`][asyncgroups.config.Secret] as they are read and no
message here ever quotes a key.
"""

from collections.abc import Iterable, Mapping

from attrs import frozen

from asyncgroups.config import Secret
from asyncgroups.errors import InvalidInputError
from asyncgroups.tabular import (
    EMAIL_COLUMNS,
    column_names,
    csv_records,
    csv_rows,
    email_problem,
    find_column,
    is_email,
    problems_error,
    read_json,
    read_text,
)

__all__ = ["SiteKey", "check_member_emails", "read_emails", "read_sites"]


@frozen
class SiteKey:
    """One Periscope site and its API key."""

    site: str
    api_key: Secret


def _fail(path: str, problems: list[str]) -> InvalidInputError:
    return problems_error(path, problems, after="; nothing was changed")


def read_emails(path: str, *, encoding: str | None = None) -> list[str]:
    """The e-mail addresses in a CSV file's e-mail column (``email_address``, ``email``...).

    Raises:
        InvalidInputError: the file is unreadable, lacks the column, or has a bad or
            duplicated address or an empty row; every problem names its line.
    """
    text = read_text(path, encoding=encoding)
    first = next(csv_rows(path, text), (1, []))
    header = column_names(first[1])
    column = find_column(header, EMAIL_COLUMNS)
    if column is None:
        raise InvalidInputError(
            f"{path}: line 1: no {' or '.join(EMAIL_COLUMNS)} column "
            f"(found: {', '.join(header) or 'nothing'})"
        )
    problems: list[str] = []
    seen: dict[str, int] = {}
    emails: list[str] = []
    for line, row in csv_records(path, text):
        value = row.get(column, "")
        if not value:
            problems.append(f"line {line}: empty {column}")
            continue
        problem = email_problem(value, column)
        if problem is not None:
            problems.append(f"line {line}: {value!r}: {problem}")
            continue
        folded = value.casefold()
        if folded in seen:
            problems.append(f"line {line}: duplicate of line {seen[folded]}: {value!r}")
            continue
        seen[folded] = line
        emails.append(value)
    if problems:
        raise _fail(path, problems)
    return emails


def read_sites(path: str, *, encoding: str | None = None) -> list[SiteKey]:
    """Sites and API keys from a JSON or CSV file.

    JSON: a list of ``{"site_name": ..., "api_key": ...}`` (the vendor's
    ``mySites``); CSV: ``site_name,api_key`` columns.

    Raises:
        InvalidInputError: the file is unreadable or malformed (no key is quoted).
    """
    if path.lower().endswith(".json"):
        data = read_json(path, encoding=encoding)
        if not isinstance(data, list):
            raise InvalidInputError(f"{path}: expected a list of sites")
        entries = [
            (i + 1, {str(k).lower(): str(v) for k, v in item.items()})
            if isinstance(item, dict)
            else (i + 1, {})
            for i, item in enumerate(data)
        ]
        where = "entry"
    else:
        entries = list(csv_records(path, read_text(path, encoding=encoding)))
        where = "line"
    problems: list[str] = []
    sites: list[SiteKey] = []
    seen: set[str] = set()
    for number, row in entries:
        site = row.get("site_name") or row.get("site") or ""
        key = row.get("api_key") or ""
        if not site or not key:
            problems.append(f"{where} {number}: needs site_name and api_key")
        elif site in seen:
            problems.append(f"{where} {number}: site {site!r} listed twice")
        else:
            seen.add(site)
            sites.append(SiteKey(site, Secret(key)))
    if problems:
        raise _fail(path, problems)
    if not sites:
        raise InvalidInputError(f"{path}: no sites")
    return sites


def check_member_emails(
    path: str, desired: Mapping[str, Iterable[str]], *, encoding: str | None = None
) -> None:
    """Check that every member key is an e-mail (for backends keyed by e-mail).

    A CSV file's problems name their lines; a JSON file's name the group.

    Raises:
        InvalidInputError: some member is not an e-mail address.
    """
    problems: list[str] = []
    if path.lower().endswith(".json"):
        problems.extend(
            f"group {group!r}: {key!r} is not an e-mail address"
            for group, keys in desired.items()
            for key in sorted(keys)
            if not is_email(key)
        )
    else:
        for line, row in csv_records(path, read_text(path, encoding=encoding)):
            member = row.get("member", "")
            if member and not is_email(member):
                problems.append(f"line {line}: {member!r} is not an e-mail address")
    if problems:
        raise _fail(path, problems)
