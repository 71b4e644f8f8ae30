"""Desired-state sources: mappings, CSV and JSON files (errors with line numbers)."""

import pytest

import asyncgroups as ag
from asyncgroups.sync import desired_from_csv, desired_from_json, desired_from_mapping


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_reads_groups_and_members(tmp_path):
    """Rows become group -> member keys; blank lines and extra columns are ignored."""
    path = write(tmp_path, "d.csv", "group,member,note\neng,a,x\n\neng,b,\nops,a,\n")
    assert desired_from_csv(path) == {"eng": {"a", "b"}, "ops": {"a"}}


def test_csv_header_is_case_and_order_insensitive(tmp_path):
    """Column order and case in the header do not matter."""
    path = write(tmp_path, "d.csv", "Member,GROUP\na,eng\n")
    assert desired_from_csv(path) == {"eng": {"a"}}


@pytest.mark.parametrize("header", ["group,user", "member", "grp,member"])
def test_csv_missing_column_is_named(tmp_path, header):
    """A header without group or member names the missing column."""
    path = write(tmp_path, "d.csv", f"{header}\nx,y\n")
    with pytest.raises(ag.InvalidInputError, match=r"line 1: missing column"):
        desired_from_csv(path)


def test_csv_empty_file_is_invalid(tmp_path):
    """An empty file is not a desired state."""
    with pytest.raises(ag.InvalidInputError, match="empty file"):
        desired_from_csv(write(tmp_path, "d.csv", ""))


def test_csv_reports_every_bad_row_with_its_line(tmp_path):
    """Short rows, empty cells, control characters and duplicates are all listed."""
    text = (
        "group,member\n"  # 1
        "eng,a\n"  # 2
        "eng\n"  # 3: too few fields
        ",b\n"  # 4: empty group
        "eng,\n"  # 5: empty member
        "eng,a\n"  # 6: duplicate of 2
        "eng,c,extra\n"  # 7: too many fields
        'eng,"x\ty"\n'  # 8: control character
    )
    with pytest.raises(ag.InvalidInputError) as caught:
        desired_from_csv(write(tmp_path, "d.csv", text))
    message = str(caught.value)
    assert "6 problem(s)" in message
    for expected in (
        "line 3: 1 field(s)",
        "line 4: empty group",
        "line 5: empty member",
        "line 6: duplicate of line 2",
        "line 7: 3 field(s)",
        "line 8: member",
    ):
        assert expected in message


def test_csv_line_numbers_count_quoted_newlines(tmp_path):
    """Line numbers are physical lines, even after a quoted multi-line cell."""
    text = 'group,member\n"multi\nline",a\neng,\n'
    with pytest.raises(
        ag.InvalidInputError, match=r"line 3: multi|line 4: empty member"
    ):
        desired_from_csv(write(tmp_path, "d.csv", text))


def test_csv_long_error_lists_are_truncated(tmp_path):
    """Past 20 problems the message counts the rest."""
    text = "group,member\n" + "eng,\n" * 30
    with pytest.raises(ag.InvalidInputError, match=r"and 10 more"):
        desired_from_csv(write(tmp_path, "d.csv", text))


def test_json_reads_groups_and_members(tmp_path):
    """A JSON object of lists is a desired state; int keys become strings."""
    path = write(tmp_path, "d.json", '{"eng": ["a", "b"], "ops": [1], "empty": []}')
    assert desired_from_json(path) == {"eng": {"a", "b"}, "ops": {"1"}, "empty": set()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["eng"]', "expected an object"),
        ('{"eng": "a"}', "expected a list"),
        ('{"eng": ["a", null]}', r"'eng'\[1\]: expected a string key"),
        ('{"eng": ["a", "a"]}', "duplicate keys"),
        ('{"eng": [""]}', "empty key"),
        ('{"eng": [\n"a",\n}', "line 3: not valid JSON"),
    ],
)
def test_json_errors_name_the_problem(tmp_path, text, expected):
    """Malformed JSON desired states raise InvalidInputError saying where."""
    with pytest.raises(ag.InvalidInputError, match=expected):
        desired_from_json(write(tmp_path, "d.json", text))


def test_mapping_is_validated():
    """A mapping is normalised; a single string as members is refused."""
    mixed: dict[str, list[str | int]] = {"eng": ["a", 2]}
    assert desired_from_mapping(mixed) == {"eng": {"a", "2"}}
    with pytest.raises(ag.InvalidInputError, match="collection of keys"):
        desired_from_mapping({"eng": "abc"})
    with pytest.raises(ag.InvalidInputError):
        desired_from_mapping({"eng": [""]})
