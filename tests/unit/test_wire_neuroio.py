"""NeuroIO's converter: wire JSON to models, and shape errors to DecodeError."""

import json
from pathlib import Path
from typing import Any

import cattrs
import pytest
from hypothesis import given, strategies as st

import asyncgroups as ag
from asyncgroups.backends.neuroio import wire

SAMPLES = Path(__file__).parent.parent / "samples" / "neuroio"


def _body(name: str) -> Any:
    return json.loads((SAMPLES / name / "body").read_bytes())


def test_converter_is_built_once() -> None:
    """``CONVERTER`` is a configured cattrs converter; ``make_converter`` makes more."""
    assert isinstance(wire.CONVERTER, cattrs.Converter)
    assert wire.make_converter() is not wire.CONVERTER


def test_group_sample() -> None:
    """Integer ids become strings; unknown keys land in ``extra``."""
    group = wire.structure_group(_body("group"))
    assert group == ag.Group(id="7", name="Engineering")
    assert group.description is None
    assert dict(group.extra) == {"space_id": 4}


def test_group_page_sample() -> None:
    """A list page yields its groups and the total count; ``next`` is ignored."""
    groups, count = wire.structure_group_page(_body("group_list"))
    assert count == 3
    assert [g.id for g in groups] == ["1", "2"]


def test_member_page_sample() -> None:
    """A person page yields members keyed by pid, tagged with the group id."""
    members, count = wire.structure_member_page(_body("group_persons"), "1")
    assert count == 1
    (member,) = members
    assert member.key == "abcdef01-abcd-abcd01-abcdef01"
    assert member.group_id == "1"
    assert dict(member.extra) == {"pid_source": "default"}


@pytest.mark.parametrize(
    "data",
    [
        {"id": "1", "name": "x"},
        {"id": True, "name": "x"},
        {"id": 1, "name": 5},
        {"name": "x"},
        {"id": 1, "name": ""},
        [1, 2],
        None,
    ],
)
def test_bad_groups_are_decode_errors(data: Any) -> None:
    """Wrong types, missing keys or unusable names raise DecodeError."""
    with pytest.raises(ag.DecodeError) as info:
        wire.structure_group(data)
    assert info.value.backend == "neuroio"


def test_decode_error_names_the_field() -> None:
    """The DecodeError lists cattrs' readable path to the bad field."""
    with pytest.raises(ag.DecodeError) as info:
        wire.structure_group_page({"count": 1, "results": [{"id": 1}]})
    assert any("name" in d for d in info.value.details)
    with pytest.raises(ag.DecodeError) as info:
        wire.structure_group_page({"results": []})
    assert any("count" in d for d in info.value.details)


@pytest.mark.parametrize(
    "data",
    [
        {"count": 1, "results": [{"pid": 3}]},
        {"count": 1, "results": [{"pid": ""}]},
        {"count": "1", "results": []},
        {"count": True, "results": []},
        {"count": 1.0, "results": []},
        {"count": 1, "results": {"pid": "a"}},
        {"count": 1, "results": "a"},
        [{"pid": "a"}],
    ],
)
def test_bad_person_pages_are_decode_errors(data: Any) -> None:
    """Malformed person pages raise DecodeError, on either listing path."""
    with pytest.raises(ag.DecodeError):
        wire.structure_member_page(data, "1")
    with pytest.raises(ag.DecodeError):
        wire.member_keys_page(data)


def test_a_page_without_results_is_empty() -> None:
    """``results`` may be left out (the envelope's default): no members."""
    assert wire.member_keys_page({"count": 0}) == ([], 0)
    assert wire.member_keys_page({"count": 2, "results": [{"pid": "a"}]}) == (
        ["a"],
        2,
    )


@given(
    gid=st.integers(min_value=1, max_value=2**53),
    name=st.text(min_size=1).filter(lambda s: s.strip() and s.isprintable()),
)
def test_group_round_trip(gid: int, name: str) -> None:
    """Any int id and printable name survive the wire as ``str(id)`` and the name."""
    group = wire.structure_group({"id": gid, "name": name})
    assert (group.id, group.name) == (str(gid), name)
