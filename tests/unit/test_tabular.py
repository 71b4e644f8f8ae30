"""The one reader of input files: text, CSV rows and line numbers, e-mail columns.

Its three users (the CLI's files, the sync sources, Periscope's sites) are checked
through their public functions: one unreadable or undecodable file is one clear
``InvalidInputError`` everywhere, never an ``OSError`` or ``UnicodeDecodeError``.
"""

from pathlib import Path

import pytest

import asyncgroups as ag
from asyncgroups.cli.files import check_member_emails, read_emails, read_sites
from asyncgroups.sync import desired_from_csv, desired_from_json
from asyncgroups.tabular import (
    EMAIL_COLUMNS,
    MAX_CELL,
    MAX_DEPTH,
    MAX_DIGITS,
    csv_records,
    csv_rows,
    email_problem,
    find_column,
    first_value,
    is_email,
    parse_json,
    problems_error,
    read_text,
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_text_drops_a_bom_and_keeps_newlines(tmp_path: Path) -> None:
    """UTF-8 with a BOM reads without it; CRLF stays for the csv module to see."""
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbfemail\r\na@example.com\r\n")
    assert read_text(path) == "email\r\na@example.com\r\n"


def test_read_text_names_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(ag.InvalidInputError, match=r"absent\.csv: cannot read: "):
        read_text(path)


def test_read_text_names_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ag.InvalidInputError, match="cannot read"):
        read_text(tmp_path)


def test_read_text_refuses_text_in_another_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("email\nj\xe9r\xf4me@example.com\n".encode("latin-1"))
    with pytest.raises(
        ag.InvalidInputError, match=r"latin\.csv: line 2: not UTF-8 text.*--encoding"
    ):
        read_text(path)
    assert read_text(path, encoding="latin-1").startswith("email\n")
    with pytest.raises(ag.InvalidInputError, match="line 2: not ascii text"):
        read_text(path, encoding="ascii")


def test_csv_rows_count_physical_lines() -> None:
    """A quoted newline is one row over two lines; the next row's number says so."""
    text = 'a,b\n"x\ny",1\n\nz,2\n'
    assert list(csv_rows("f.csv", text)) == [
        (1, ["a", "b"]),
        (3, ["x\ny", "1"]),
        (4, []),
        (5, ["z", "2"]),
    ]


def test_csv_rows_name_the_line_of_malformed_csv() -> None:
    """A cell over the csv module's size limit is named by its line."""
    huge = "x" * 200_000
    with pytest.raises(ag.InvalidInputError, match=r"f\.csv: line 3: a cell of more"):
        list(csv_rows("f.csv", f"a\nok\n{huge}\n"))


def test_csv_records_fold_the_header_and_strip_cells() -> None:
    """Names are lower-cased and stripped; short rows get ""; extra cells go."""
    text = " Email_Address ,Name\n a@example.com , A \n\nb@example.com\nc,C,extra\n"
    assert list(csv_records("f.csv", text)) == [
        (2, {"email_address": "a@example.com", "name": "A"}),
        (4, {"email_address": "b@example.com", "name": ""}),
        (5, {"email_address": "c", "name": "C"}),
    ]
    assert list(csv_records("f.csv", "")) == []


def test_email_columns_in_order_of_preference() -> None:
    assert EMAIL_COLUMNS[0] == "email_address"
    assert find_column(["mail", "email"]) == "email"
    assert find_column(["name"]) is None
    assert find_column(["site_name", "api_key"], ("api_key",)) == "api_key"
    assert first_value({"email": "", "mail": "m@example.com"}) == "m@example.com"
    assert first_value({"email": ""}) is None


def test_emails_are_checked_by_the_library_rule() -> None:
    assert is_email("a@example.com")
    assert not is_email("not-an-email")
    assert not is_email("a@example.com\r\nX-Injected: 1")
    assert email_problem("a@example.com") is None
    assert email_problem("nope", "email_address") == (
        "email_address is not an e-mail address"
    )


def test_problems_error_lists_twenty_and_counts_the_rest() -> None:
    error = problems_error("f.csv", [f"line {i}: bad" for i in range(2, 27)])
    message = str(error)
    assert message.startswith("f.csv: 25 problem(s):\n  line 2: bad\n")
    assert "line 21: bad" in message
    assert "line 22: bad" not in message
    assert message.endswith("\n  ... and 5 more")


# -- the users: one reader, so one behaviour for unreadable and undecodable files --

READERS = [
    pytest.param(read_emails, id="cli-read_emails"),
    pytest.param(read_sites, id="cli-read_sites"),
    pytest.param(lambda p: check_member_emails(p, {}), id="cli-check_member_emails"),
    pytest.param(desired_from_csv, id="sync-desired_from_csv"),
    pytest.param(desired_from_json, id="sync-desired_from_json"),
]


@pytest.mark.parametrize("read", READERS)
def test_every_reader_names_an_unreadable_file(tmp_path: Path, read) -> None:
    missing = str(tmp_path / "absent.csv")
    with pytest.raises(ag.InvalidInputError, match=r"absent\.csv: cannot read"):
        read(missing)


@pytest.mark.parametrize("read", READERS)
def test_every_reader_names_an_undecodable_file(tmp_path: Path, read) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"email_address,group,member\n\xff\xfe\x00,x,y\n")
    with pytest.raises(
        ag.InvalidInputError, match=r"binary\.csv: line 2: not UTF-8 text"
    ):
        read(str(path))


def test_read_emails_takes_any_email_column_and_lists_every_problem(
    tmp_path: Path,
) -> None:
    ok = write(tmp_path, "ok.csv", "Name,Mail\nA,a@example.com\nB, b@example.com \n")
    assert read_emails(str(ok)) == ["a@example.com", "b@example.com"]
    bad = write(
        tmp_path,
        "bad.csv",
        "email\na@example.com\n,\nnope\nA@EXAMPLE.COM\n",
    )
    with pytest.raises(ag.InvalidInputError) as caught:
        read_emails(str(bad))
    message = str(caught.value)
    assert message.startswith(f"{bad}: 3 problem(s); nothing was changed\n")
    assert "line 3: empty email" in message
    assert "line 4: 'nope': email is not an e-mail address" in message
    assert "line 5: duplicate of line 2: 'A@EXAMPLE.COM'" in message
    none = write(tmp_path, "none.csv", "name\nx\n")
    with pytest.raises(ag.InvalidInputError, match=r"line 1: no email_address or "):
        read_emails(str(none))


def test_read_sites_reads_csv_with_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "site_name,api_key\none,k1\ntwo,\none,k3\n")
    with pytest.raises(ag.InvalidInputError) as caught:
        read_sites(str(path))
    message = str(caught.value)
    assert "line 3: needs site_name and api_key" in message
    assert "line 4: site 'one' listed twice" in message
    assert "k1" not in message
    assert "k3" not in message


def test_check_member_emails_names_the_csv_line(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "group,member\nSales,a@example.com\nSales,x\n")
    with pytest.raises(
        ag.InvalidInputError, match="line 3: 'x' is not an e-mail address"
    ):
        check_member_emails(str(path), {})


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_read_text_follows_a_byte_order_mark(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "bom.csv"
    text = "group,member\r\nÉquipe,zoë@example.com\r\n"
    bom = {"utf-16-le": "\ufeff", "utf-16-be": "\ufeff"}.get(encoding, "")
    path.write_bytes((bom + text).encode(encoding))
    assert read_text(path) == text


def test_read_text_names_the_line_and_the_option(tmp_path: Path) -> None:
    path = tmp_path / "cp1252.csv"
    path.write_bytes("group,member\nok,a\n\u201cquoted\u201d,b\n".encode("cp1252"))
    with pytest.raises(ag.InvalidInputError) as caught:
        read_text(path)
    message = str(caught.value)
    assert f"{path}: line 3: not UTF-8 text (byte 0x93)" in message
    assert "--encoding cp1252" in message
    assert read_text(path, encoding="cp1252").splitlines()[2] == "\u201cquoted\u201d,b"


def test_an_unknown_encoding_names_the_argument(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "a\n")
    with pytest.raises(ag.InvalidInputError, match="encoding: 'nope' is not an"):
        read_text(path, encoding="nope")


def test_a_cell_over_the_limit_names_its_line() -> None:
    text = "group,member\ng," + "x" * (MAX_CELL + 1) + "\n"
    with pytest.raises(ag.InvalidInputError, match=r"f\.csv: line 2: a cell of 4,097"):
        list(csv_rows("f.csv", text))
    assert (
        list(csv_rows("f.csv", "a\n" + "y" * MAX_CELL + "\n"))[1][1][0]
        == "y" * MAX_CELL
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper", id="depth"),
        pytest.param("[" * 100_000, "nested deeper", id="recursion"),
        pytest.param('{\n"a":\n' + "1" * (MAX_DIGITS + 1) + "}", "line 3: a number of 41 digits", id="int"),
        pytest.param("[0." + "5" * 5000 + "]", "a number of 5,001 digits", id="float"),
        pytest.param('["' + "s" * (MAX_CELL + 1) + '"]', "line 1: a string of 4,097", id="string"),
        pytest.param('{"' + "k" * (MAX_CELL + 1) + '": 1}', "a string of 4,097", id="key"),
        pytest.param('{"a": [1, }', "line 1: not valid JSON", id="syntax"),
    ],
)  # fmt: skip
def test_parse_json_limits(text: str, message: str) -> None:
    with pytest.raises(ag.InvalidInputError, match=message):
        parse_json("in.json", text)


def test_parse_json_within_the_limits() -> None:
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_json("in.json", nested) is not None
    big = int("9" * MAX_DIGITS)
    assert parse_json("in.json", f'{{"a": {big}, "b": "{"1" * 60}"}}') == {
        "a": big,
        "b": "1" * 60,
    }


def test_a_path_that_is_not_a_path_is_refused() -> None:
    with pytest.raises(ag.InvalidInputError, match="path must be a file name"):
        read_text(3)  # type: ignore[arg-type]
