"""Model validators and shared input checks: names, ids, header values, e-mails."""

import attrs
import pytest

import asyncgroups as ag
from asyncgroups import validation
from asyncgroups.models import BatchResult


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "a\rb", "tab\there", "nul\x00"])
def test_group_name_rejects_empty_and_control_chars(name):
    with pytest.raises(ag.InvalidInputError):
        ag.Group(id="1", name=name)


def test_models_are_frozen_and_hashable():
    g = ag.Group(id="1", name="Eng", extra={"space_id": 4})
    with pytest.raises(AttributeError):
        g.name = "x"  # type: ignore[misc]
    assert hash(g) == hash(ag.Group(id="1", name="Eng"))
    assert g.extra["space_id"] == 4
    with pytest.raises(TypeError):
        g.extra["x"] = 1  # type: ignore[index]


def test_user_email_rejects_crlf():
    with pytest.raises(ag.InvalidInputError):
        ag.User(id="a@x.org", email="a@x.org\r\nX: y")


@pytest.mark.parametrize("value", ["a/b", "a?b", "a#b", "..", ".", "a\nb", ""])
def test_path_segment_rejects_path_chars(value):
    with pytest.raises(ag.InvalidInputError):
        validation.check_path_segment(value)


@pytest.mark.parametrize("value", ["Sales team", "Ünïcode", "a%2Fb"])
def test_path_segment_accepts_ordinary_names(value):
    validation.check_path_segment(value)


@pytest.mark.parametrize("value", ["nope", "a@b", "a b@x.org", "a@x.org\n"])
def test_email_check(value):
    with pytest.raises(ag.InvalidInputError):
        validation.check_email(value)


def test_header_value_error_never_shows_the_value():
    with pytest.raises(ag.ConfigurationError) as info:
        validation.check_header_value("s3cr3t\r\nX-Evil: 1", "token")
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize("value", [True, None, 1.5, b"x"])
def test_ids_must_be_str_or_int(value):
    with pytest.raises(ag.InvalidInputError):
        validation.normalise_id(value)


def test_int_ids_become_strings():
    assert validation.normalise_id(42) == "42"


def test_batch_result_merge():
    err = ag.NotFoundError("gone", status=404)
    a = BatchResult({"k1"}, {"k2": err}, requests=2)
    b = BatchResult({"k2", "k3"}, {}, requests=1)
    merged = a.merge(b)
    assert merged.succeeded == {"k1", "k2", "k3"}
    assert merged.ok
    assert merged.requests == 3
    assert not a.ok


def test_secret_repr_hides_value():
    s = ag.Secret("hunter2-very-secret")
    assert "hunter2" not in repr(s) + str(s)
    assert s.reveal() == "hunter2-very-secret"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_delay": -1},
        {"deadline": float("inf")},
        {"base_delay": "1"},
    ],
)
def test_retry_policy_rejects_bad_numbers(kwargs):
    with pytest.raises(ag.ConfigurationError):
        ag.RetryPolicy(**kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"per_second": 0}, {"burst": 0}, {"max_concurrency": -1}]
)
def test_rate_limit_rejects_bad_numbers(kwargs):
    with pytest.raises(ag.ConfigurationError):
        ag.RateLimit(**kwargs)


# -- the checked constructor path the wire layers use ----------------------------------


def test_from_checked_builds_what_the_constructor_builds() -> None:
    extra = {"space": 1, "nested": {"a": [1]}}
    group = ag.Group.from_checked("12", "Eng", "about", dict(extra))
    assert group == ag.Group(id="12", name="Eng", description="about", extra=extra)
    assert repr(group) == repr(ag.Group("12", "Eng", "about", extra))
    assert hash(group) == hash(ag.Group("12", "Eng", "about", extra))
    assert attrs.asdict(group) == attrs.asdict(ag.Group("12", "Eng", "about", extra))
    member = ag.Member.from_checked(
        "p1", "12", dict(extra), role="owner", email="a@b.c"
    )
    same = ag.Member(key="p1", group_id="12", role="owner", email="a@b.c", extra=extra)
    assert member == same
    assert attrs.asdict(member) == attrs.asdict(same)
    # every field is set, and the instance stays frozen and its extra read-only
    for model in (group, member):
        for f in attrs.fields(type(model)):
            getattr(model, f.name)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            model.extra = {}  # type: ignore[misc]
        with pytest.raises(TypeError):
            model.extra["space"] = 2  # type: ignore[index]


@pytest.mark.parametrize("bad", ["", "   ", "a\nb", "a\rb", "a\x00b", "\x1b[31m"])
def test_from_checked_refuses_what_the_constructor_refuses(bad: str) -> None:
    for build in (
        lambda: ag.Group(id=bad, name="Eng"),
        lambda: ag.Group.from_checked(bad, "Eng", None, {}),
        lambda: ag.Group(id="1", name=bad),
        lambda: ag.Group.from_checked("1", bad, None, {}),
        lambda: ag.Member(key=bad, group_id="1"),
        lambda: ag.Member.from_checked(bad, "1", {}),
        lambda: ag.Member(key="k", group_id=bad),
        lambda: ag.Member.from_checked("k", bad, {}),
    ):
        with pytest.raises(ag.InvalidInputError):
            build()


def test_the_checked_path_covers_every_field() -> None:
    """A field added to a model must be added to its checked constructor too."""
    assert [f.name for f in attrs.fields(ag.Group)] == [
        "id",
        "name",
        "description",
        "extra",
    ]
    assert [f.name for f in attrs.fields(ag.Member)] == [
        "key",
        "group_id",
        "role",
        "email",
        "extra",
    ]
