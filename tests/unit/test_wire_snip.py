"""Snip's converter: recorded samples, schema mismatches and generated groups."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, strategies as st

import asyncgroups as ag
from asyncgroups.backends.snip import wire

SAMPLES = Path(__file__).parent.parent / "samples" / "snip"


def body(case: str) -> Any:
    return json.loads((SAMPLES / case / "body").read_text())


def test_list_sample_maps_to_models() -> None:
    """The bare array becomes groups; members keep roles, e-mails and ``self``."""
    groups = wire.structure_groups(body("list_groups"))
    models = [wire.group_to_model(g) for g in groups]
    assert [(g.id, g.name, g.description) for g in models] == [
        ("2", "whatagroup", "fooasdasdassda"),
        ("9", "Test Group", None),
    ]
    assert models[0].extra["created"] == datetime(2025, 9, 29, 9, 49, 17, tzinfo=UTC)
    assert models[0].extra["owner_id"] == "1"
    assert models[0].extra["role"] == "owner"
    members = [wire.member_to_model(m) for m in groups[0].members]
    assert [(m.key, m.group_id, m.role, m.email) for m in members] == [
        ("1", "2", "owner", "owner@example.org"),
        ("3", "2", "moderator", "mod@example.org"),
    ]
    assert members[0].extra["self"] is True
    assert members[1].extra["self"] is False
    user = wire.member_to_user(groups[0].members[1])
    assert (user.id, user.email) == ("3", "mod@example.org")


def test_extra_group_fields_are_kept() -> None:
    """Fields a server adds pass through into ``Group.extra``."""
    data = {**body("create_group"), "color": "blue"}
    assert wire.group_to_model(wire.structure_group(data)).extra["color"] == "blue"


def test_empty_emails_give_no_email() -> None:
    """A member without e-mails has ``email=None``."""
    data = body("create_group")
    data["members"][0]["emails"] = []
    (member,) = wire.structure_group(data).members
    assert wire.member_to_model(member).email is None


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d.update(id="9"), "id"),
        (lambda d: d.update(id=True), "id"),
        (lambda d: d.pop("name"), "name"),
        (lambda d: d.update(name=5), "name"),
        (lambda d: d.update(created="yesterday"), "created"),
        (lambda d: d["members"][0].update(user_id=None), "user_id"),
        (lambda d: d["members"][0].update(self="yes"), "self"),
        (lambda d: d.update(members={}), "members"),
    ],
    ids=["string-id", "bool-id", "no-name", "int-name", "bad-date", "null-user", "str-self", "dict-members"],
)  # fmt: skip
def test_schema_mismatch_is_decode_error(mutate: Any, where: str) -> None:
    """A body that is not a Snip group is a DecodeError naming the field."""
    data = body("create_group")
    mutate(data)
    with pytest.raises(ag.DecodeError) as info:
        wire.structure_group(data)
    assert info.value.backend == "snip"
    assert any(where in d for d in info.value.details) or where in str(info.value)
    assert isinstance(info.value.__cause__, Exception)


@pytest.mark.parametrize("data", [{}, "x", None, 3])
def test_list_must_be_an_array(data: Any) -> None:
    """The group list is a bare array."""
    with pytest.raises(ag.DecodeError):
        wire.structure_groups(data)


def test_make_converter_is_independent() -> None:
    """make_converter() builds a fresh converter with the same rules."""
    conv = wire.make_converter()
    assert conv is not wire.CONVERTER
    group = conv.structure(body("create_group"), wire.WireGroup)
    assert group.id == 9


_ints = st.integers(min_value=0, max_value=2**53)
_text = st.text(min_size=3, max_size=40).filter(
    lambda s: s.strip() == s and s.isprintable()
)
_moment = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@st.composite
def wire_groups(draw: st.DrawFn) -> dict[str, Any]:
    gid = draw(_ints)
    name = draw(_text)
    description = draw(st.none() | _text)
    uids = draw(st.lists(_ints, min_size=1, max_size=5, unique=True))
    return {
        "id": gid,
        "name": name,
        "description": description,
        "created": _stamp(draw(_moment)),
        "last_updated": _stamp(draw(_moment)),
        "members": [
            {
                "user_id": uid,
                "group_id": gid,
                "role": "owner"
                if i == 0
                else draw(st.sampled_from(["moderator", "member"])),
                "joined_at": _stamp(draw(_moment)),
                "primary_credential_id": uid,
                "emails": [f"u{uid}@example.org"],
                "emails_verified": [draw(st.booleans())],
                "credential_ids": [uid],
                "credential_types": ["password"],
                "group_name": name,
                "group_description": description,
                "self": i == 0,
            }
            for i, uid in enumerate(uids)
        ],
    }


@given(wire_groups())
def test_generated_groups_round_trip(data: dict[str, Any]) -> None:
    """Every well-formed group maps to models that keep its ids, names and times."""
    group = wire.structure_group(data)
    model = wire.group_to_model(group)
    assert model.id == str(data["id"])
    assert model.name == data["name"]
    assert model.description == data["description"]
    assert _stamp(model.extra["created"]) == data["created"]
    assert model.extra["owner_id"] == str(data["members"][0]["user_id"])
    members = [wire.member_to_model(m) for m in group.members]
    assert [m.key for m in members] == [str(m["user_id"]) for m in data["members"]]
    assert [m.role for m in members] == [m["role"] for m in data["members"]]
