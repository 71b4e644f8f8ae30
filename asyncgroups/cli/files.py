"""Input files the commands read: e-mail lists and site lists, checked line by line.

Every problem names its file and line and the whole file is checked before anything
is sent, so a bad row stops a command before it changes anything. Site lists hold API
keys: they are wrapped in :class:`~asyncgroups.Secret` as they are read and no message
here ever quotes a key.
"""

import csv
import io
import json
import pathlib
from collections.abc import Iterable, Iterator, Mapping, Sequence

from attrs import frozen

from asyncgroups.config import Secret
from asyncgroups.errors import InvalidInputError
from asyncgroups.validation import check_email

__all__ = ["SiteKey", "check_member_emails", "read_emails", "read_sites"]

#: Column names accepted for e-mail addresses, in order of preference.
EMAIL_COLUMNS = ("email_address", "email")
_MAX_PROBLEMS = 20


@frozen
class SiteKey:
    """One Periscope site and its API key."""

    site: str
    api_key: Secret


def _load(path: str) -> str:
    try:
        with pathlib.Path(path).open(encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path}: not UTF-8 text") from None


def _rows(path: str, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of CSV text with a header, with their line numbers (header is line 1)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            yield (
                reader.line_num,
                {
                    (k or "").strip().lower(): (v or "").strip()
                    for k, v in row.items()
                    if isinstance(v, str)
                },
            )
    except csv.Error as exc:
        raise InvalidInputError(f"{path}: line {reader.line_num}: {exc}") from None


def _header(path: str, text: str) -> list[str]:
    try:
        first = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:
        raise InvalidInputError(f"{path}: line 1: {exc}") from None
    return [c.strip().lower() for c in first]


def _fail(path: str, problems: Sequence[str]) -> InvalidInputError:
    shown = list(problems[:_MAX_PROBLEMS])
    if len(problems) > _MAX_PROBLEMS:
        shown.append(f"... and {len(problems) - _MAX_PROBLEMS} more")
    return InvalidInputError(
        f"{path}: {len(problems)} problem(s); nothing was changed\n  "
        + "\n  ".join(shown)
    )


def read_emails(path: str) -> list[str]:
    """The e-mail addresses in a CSV file with an ``email_address`` or ``email`` column.

    Raises:
        InvalidInputError: the file is unreadable, lacks the column, or has a bad or
            duplicated address or an empty row; every problem names its line.
    """
    text = _load(path)
    header = _header(path, text)
    column = next((c for c in EMAIL_COLUMNS if c in header), None)
    if column is None:
        raise InvalidInputError(
            f"{path}: line 1: no {' or '.join(EMAIL_COLUMNS)} column "
            f"(found: {', '.join(header) or 'nothing'})"
        )
    problems: list[str] = []
    seen: dict[str, int] = {}
    emails: list[str] = []
    for line, row in _rows(path, text):
        value = row.get(column, "")
        if not value:
            problems.append(f"line {line}: empty {column}")
            continue
        try:
            check_email(value, column)
        except InvalidInputError as exc:
            problems.append(f"line {line}: {value!r}: {exc}")
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


def read_sites(path: str) -> list[SiteKey]:
    """Sites and API keys from a JSON or CSV file.

    JSON: a list of ``{"site_name": ..., "api_key": ...}`` (the vendor's
    ``mySites``); CSV: ``site_name,api_key`` columns.

    Raises:
        InvalidInputError: the file is unreadable or malformed (no key is quoted).
    """
    if path.lower().endswith(".json"):
        try:
            data = json.loads(_load(path))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{path}:{exc.lineno}: not JSON: {exc.msg}"
            ) from None
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
        entries = list(_rows(path, _load(path)))
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


def check_member_emails(path: str, desired: Mapping[str, Iterable[str]]) -> None:
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
            if not _is_email(key)
        )
    else:
        for line, row in _rows(path, _load(path)):
            member = row.get("member", "")
            if member and not _is_email(member):
                problems.append(f"line {line}: {member!r} is not an e-mail address")
    if problems:
        raise _fail(path, problems)


def _is_email(value: str) -> bool:
    try:
        check_email(value)
    except InvalidInputError:
        return False
    return True
