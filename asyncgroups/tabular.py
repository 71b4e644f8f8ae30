"""Reading tabular input files: text, CSV rows with their line numbers, e-mail columns.

The one reader behind the CLI's input files, the sync engine's CSV and JSON sources
and the fan-out's CSV of users. It reads a local file and does nothing else: no
network, no aiohttp. Every problem is an :class:`~asyncgroups.errors.InvalidInputError`
that names the file, and the line where there is one.
"""

import codecs
import csv
import io
import os
from collections.abc import Iterator, Mapping, Sequence

from asyncgroups.errors import InvalidInputError
from asyncgroups.validation import check_email

__all__ = [
    "EMAIL_COLUMNS",
    "MAX_LISTED",
    "column_names",
    "csv_records",
    "csv_rows",
    "email_problem",
    "find_column",
    "first_value",
    "is_email",
    "problems_error",
    "read_text",
]

#: Column names that hold e-mail addresses, in order of preference (the vendor's
#: bulk-delete ``email_address`` first).
EMAIL_COLUMNS = ("email_address", "email", "e-mail", "mail")
#: Problems listed in one error before the rest are counted.
MAX_LISTED = 20

_UTF8 = frozenset({"utf-8", "utf-8-sig"})


def read_text(path: "str | os.PathLike[str]", *, encoding: str = "utf-8-sig") -> str:
    """The whole text of a local file (newlines kept as they are, for ``csv``).

    Raises:
        InvalidInputError: the file cannot be read, or is not text in ``encoding``.
    """
    source = os.fspath(path)
    try:
        with open(path, encoding=encoding, newline="") as handle:
            return handle.read()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInputError(f"{source}: cannot read: {reason}") from None
    except UnicodeDecodeError:
        name = "UTF-8" if codecs.lookup(encoding).name in _UTF8 else encoding
        raise InvalidInputError(f"{source}: not {name} text") from None


def csv_rows(source: str, text: str) -> Iterator[tuple[int, list[str]]]:
    """Rows of CSV text, each with the physical line it ends on (the first is 1).

    Line numbers count the newlines inside quoted cells, so they match an editor's.

    Raises:
        InvalidInputError: malformed CSV, naming the line.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise InvalidInputError(f"{source}: line {reader.line_num}: {exc}") from None


def column_names(header: Sequence[str]) -> list[str]:
    """A header row's column names, stripped and lower-cased."""
    return [name.strip().lower() for name in header]


def csv_records(source: str, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows after the header as column -> stripped value, with their line numbers.

    Column names are :func:`column_names`; empty lines are skipped, missing cells
    are ``""`` and cells beyond the header are dropped.

    Raises:
        InvalidInputError: malformed CSV, naming the line.
    """
    rows = csv_rows(source, text)
    first = next(rows, None)
    if first is None:
        return
    names = column_names(first[1])
    for line, row in rows:
        if not row:
            continue
        yield (
            line,
            {
                name: row[i].strip() if i < len(row) else ""
                for i, name in enumerate(names)
            },
        )


def find_column(
    names: Sequence[str], wanted: Sequence[str] = EMAIL_COLUMNS
) -> str | None:
    """The first of ``wanted`` that is among ``names`` (by default an e-mail column)."""
    return next((c for c in wanted if c in names), None)


def first_value(
    row: Mapping[str, str], wanted: Sequence[str] = EMAIL_COLUMNS
) -> str | None:
    """The value of the first of ``wanted`` that is non-empty in ``row``."""
    return next((row[c] for c in wanted if row.get(c)), None)


def email_problem(value: str, what: str = "e-mail") -> str | None:
    """Why ``value`` is not an e-mail address (``what`` names it), or ``None``."""
    try:
        check_email(value, what)
    except InvalidInputError as exc:
        return str(exc)
    return None


def is_email(value: str) -> bool:
    """Whether ``value`` is an e-mail address (header-safe)."""
    return email_problem(value) is None


def problems_error(
    source: str, problems: Sequence[str], *, after: str = ":"
) -> InvalidInputError:
    """One error listing ``problems`` in ``source``, the first :data:`MAX_LISTED` of them.

    Args:
        source: the file (or other input) they are in.
        problems: one line each, e.g. ``"line 3: empty member"``.
        after: what follows the count on the first line.
    """
    listed = list(problems[:MAX_LISTED])
    if len(problems) > MAX_LISTED:
        listed.append(f"... and {len(problems) - MAX_LISTED} more")
    return InvalidInputError(
        f"{source}: {len(problems)} problem(s){after}\n  " + "\n  ".join(listed)
    )
