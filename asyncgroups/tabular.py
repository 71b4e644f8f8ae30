"""Reading tabular input files: text, CSV rows with their line numbers, e-mail columns.

The one reader behind the CLI's input files, the sync engine's CSV and JSON sources
and the fan-out's CSV of users. It reads a local file and does nothing else: no
network, no aiohttp. Every problem is an
[`InvalidInputError`][asyncgroups.errors.InvalidInputError] that names the file, and the
line where there is one.

Encodings: without an explicit ``encoding``, a byte-order mark decides (UTF-8,
UTF-16 or UTF-32 with a BOM) and anything else must be UTF-8; text that is not is
refused with the line of the first bad byte and how to name its real encoding.
Limits keep a hostile or mistaken file from costing memory or time later: a CSV
cell or JSON string holds at most `MAX_CELL` characters, JSON nests at most
`MAX_DEPTH` levels and a JSON number has at most `MAX_DIGITS` digits.
"""

import codecs
import csv
import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from asyncgroups.errors import InvalidInputError
from asyncgroups.validation import check_email

__all__ = [
    "EMAIL_COLUMNS",
    "MAX_CELL",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_LISTED",
    "column_names",
    "csv_cell",
    "csv_records",
    "csv_rows",
    "email_problem",
    "file_name",
    "find_column",
    "first_value",
    "is_email",
    "parse_json",
    "problems_error",
    "read_json",
    "read_text",
    "sniff_encoding",
]

#: Column names that hold e-mail addresses, in order of preference (the vendor's
#: bulk-delete ``email_address`` first).
EMAIL_COLUMNS = ("email_address", "email", "e-mail", "mail")
#: Problems listed in one error before the rest are counted.
MAX_LISTED = 20
#: The most characters in one CSV cell or JSON string (keys, names, e-mails).
MAX_CELL = 4096
#: The deepest nesting of JSON arrays and objects.
MAX_DEPTH = 32
#: The most digits in one JSON number.
MAX_DIGITS = 40

#: Byte-order marks, longest first (a UTF-32 LE mark starts like a UTF-16 LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HINT = (
    "save it as UTF-8, or name its encoding with --encoding "
    "(encoding= in Python), e.g. --encoding cp1252"
)

#: First characters that make a spreadsheet read a cell as a formula (OWASP's list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """``value`` made safe for a CSV cell a spreadsheet may open.

    A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    would be run as a formula (CSV injection): it is written with a leading ``'``,
    which spreadsheets show as text. `csv_rows` removes it again, so our own
    exports read back unchanged.
    """
    return "'" + value if value.startswith(_FORMULA_START) else value


def _uncell(value: str) -> str:
    return (
        value[1:]
        if value[:1] == "'" and value[1:].startswith(_FORMULA_START)
        else value
    )


def sniff_encoding(data: bytes) -> str:
    """The encoding a file's byte-order mark names; UTF-8 without one."""
    return next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")


def check_encoding(encoding: str | None) -> None:
    """Refuse an encoding name Python does not know.

    Raises:
        InvalidInputError: naming the ``encoding`` argument.
    """
    if encoding is None:
        return
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise InvalidInputError(
            f"encoding: {encoding!r} is not an encoding Python knows "
            "(e.g. utf-8, utf-16, cp1252, latin-1)"
        ) from None


def file_name(path: object) -> str:
    """``path`` as a string, refusing what is not a file name.

    Raises:
        InvalidInputError: ``path`` is not a str or ``os.PathLike``.
    """
    if not isinstance(path, str | os.PathLike):
        raise InvalidInputError(
            f"path must be a file name (str or os.PathLike), not {type(path).__name__}"
        )
    return os.fspath(path)


def read_text(path: "str | os.PathLike[str]", *, encoding: str | None = None) -> str:
    """The whole text of a local file (newlines kept as they are, for ``csv``).

    Args:
        path: the file.
        encoding: its encoding; ``None`` (the default) reads UTF-8, or the UTF-8,
            UTF-16 or UTF-32 that a byte-order mark announces.

    Raises:
        InvalidInputError: the file cannot be read, the encoding is unknown, or
            the file is not text in its encoding (naming the line of the first
            bad byte and the ``--encoding`` option).
    """
    check_encoding(encoding)
    source = file_name(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInputError(f"{source}: cannot read: {reason}") from None
    chosen = sniff_encoding(data) if encoding is None else encoding
    if codecs.lookup(chosen).name == "utf-8":
        chosen = "utf-8-sig"  # a BOM is never part of the text
    try:
        return data.decode(chosen)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if chosen == "utf-8-sig" else chosen
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInputError(
            f"{source}: line {line}: not {name} text "
            f"(byte 0x{data[exc.start]:02x}); {_HINT}"
        ) from None


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, max(0, index)) + 1


class _NumberTooLongError(Exception):
    def __init__(self, digits: str) -> None:
        self.digits = digits


def _number(kind: type[int] | type[float]) -> Any:
    def parse(digits: str) -> int | float:
        if sum(c.isdigit() for c in digits) > MAX_DIGITS:
            raise _NumberTooLongError(digits)
        return kind(digits)

    return parse


def parse_json(source: str, text: str) -> Any:
    """Parse JSON text within the limits (nesting, number size, string size).

    Args:
        source: the file (or other input) the text came from, for messages.
        text: the JSON text.

    Raises:
        InvalidInputError: not JSON, or over a limit; naming the line where it can.
    """
    try:
        data = json.loads(text, parse_int=_number(int), parse_float=_number(float))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{source}: line {exc.lineno}: not valid JSON ({exc.msg})"
        ) from None
    except RecursionError:
        raise InvalidInputError(
            f"{source}: nested deeper than {MAX_DEPTH} levels"
        ) from None
    except _NumberTooLongError as exc:
        digits = sum(c.isdigit() for c in exc.digits)
        raise InvalidInputError(
            f"{source}: line {_line_of(text, text.find(exc.digits))}: a number of "
            f"{digits:,} digits (the limit is {MAX_DIGITS})"
        ) from None
    _check_json(source, text, data)
    return data


def _check_json(source: str, text: str, data: Any) -> None:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidInputError(
                    f"{source}: nested deeper than {MAX_DEPTH} levels"
                )
            items = [*value, *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, str) and len(value) > MAX_CELL:
            at = text.find(value[:64])
            where = f"line {_line_of(text, at)}: " if at >= 0 else ""
            raise InvalidInputError(
                f"{source}: {where}a string of {len(value):,} characters "
                f"(the limit is {MAX_CELL:,})"
            )


def read_json(path: "str | os.PathLike[str]", *, encoding: str | None = None) -> Any:
    """Read and parse a JSON file within the limits (see `parse_json`).

    Raises:
        InvalidInputError: unreadable, undecodable, not JSON or over a limit.
    """
    return parse_json(file_name(path), read_text(path, encoding=encoding))


def csv_rows(source: str, text: str) -> Iterator[tuple[int, list[str]]]:
    """Rows of CSV text, each with the physical line it ends on (the first is 1).

    Line numbers count the newlines inside quoted cells, so they match an editor's.
    A cell escaped by `csv_cell` (a ``'`` before a formula character) is read
    as the value it escaped.

    Raises:
        InvalidInputError: malformed CSV, or a cell over `MAX_CELL`
            characters; naming the line.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            for cell in row:
                if len(cell) > MAX_CELL:
                    raise InvalidInputError(
                        f"{source}: line {reader.line_num}: a cell of "
                        f"{len(cell):,} characters (the limit is {MAX_CELL:,})"
                    )
            yield reader.line_num, [_uncell(cell) for cell in row]
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise InvalidInputError(
                f"{source}: line {reader.line_num}: a cell of more than "
                f"{csv.field_size_limit():,} characters (the limit is {MAX_CELL:,})"
            ) from None
        raise InvalidInputError(f"{source}: line {reader.line_num}: {exc}") from None


def column_names(header: Sequence[str]) -> list[str]:
    """A header row's column names, stripped and lower-cased."""
    return [name.strip().lower() for name in header]


def csv_records(source: str, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows after the header as column -> stripped value, with their line numbers.

    Column names are `column_names`; empty lines are skipped, missing cells
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
    """One error listing ``problems`` in ``source``, the first `MAX_LISTED` of them.

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
