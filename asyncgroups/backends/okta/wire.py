"""Okta's JSON shapes and the cattrs converter mapping them onto the models.

Private wire classes mirror the JSON (``{"id", "type", "profile": {...}}``); small
functions turn them into [`Group`][asyncgroups.models.Group],
[`User`][asyncgroups.models.User] and [`Member`][asyncgroups.models.Member]. A
group's ``type`` (``OKTA_GROUP``, ``APP_GROUP``, ``BUILT_IN``) is kept in its
``extra``. Structure errors become [`DecodeError`][asyncgroups.errors.DecodeError].
This module performs no I/O.
"""

from typing import Any, TypeVar

import cattrs
from attrs import field, frozen
from cattrs.gen import make_dict_structure_fn, override

from asyncgroups.backends._kit import make_strict_converter, structure_object
from asyncgroups.errors import DecodeError, InvalidInputError
from asyncgroups.models import Group, Member, User

__all__ = [
    "CONVERTER",
    "configure_converter",
    "make_converter",
    "structure_group",
    "structure_groups",
    "structure_member",
    "structure_user",
    "structure_users",
]

_BACKEND = "okta"
T = TypeVar("T")


@frozen
class _GroupProfile:
    """``{"name", "description"}``."""

    name: str
    description: str | None = None


@frozen
class _WireGroup:
    """``{"id", "type", "profile": {...}, "_links": ...}``."""

    id: str
    profile: _GroupProfile
    type: str = "OKTA_GROUP"


@frozen
class _UserProfile:
    """``{"login", "email", "firstName", "lastName", ...}``."""

    login: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@frozen
class _WireUser:
    """``{"id", "status", "profile": {...}, ...}``."""

    id: str
    profile: _UserProfile = field(factory=_UserProfile)
    status: str | None = None


def configure_converter(conv: cattrs.Converter) -> None:
    """Register Okta's wire decisions on ``conv``, a strict converter.

    - profile names are camelCase on the wire (``firstName``, ``lastName``);
    - ids and names are strings; the kit's strict hooks refuse anything else;
    - ``null`` is a value (``description`` and profile fields may be null);
      unknown keys are ignored by the wire classes and kept in ``extra``.
    """
    conv.register_structure_hook(
        _UserProfile,
        make_dict_structure_fn(
            _UserProfile,
            conv,
            first_name=override(rename="firstName"),
            last_name=override(rename="lastName"),
        ),
    )


def make_converter() -> cattrs.Converter:
    """A strict converter configured for Okta (detailed validation on)."""
    conv = make_strict_converter()
    configure_converter(conv)
    return conv


CONVERTER = make_converter()


def _structure(data: Any, cls: type[T], what: str) -> T:
    return structure_object(CONVERTER, data, cls, backend=_BACKEND, what=what)


def _array(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise DecodeError(
            f"expected a JSON array of {what}s, got {type(data).__name__}",
            backend=_BACKEND,
        )
    return data


def _extra(data: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    # ``_links`` describe the answer's neighbours, not the object.
    return {k: v for k, v in data.items() if k not in known and k != "_links"}


def structure_group(data: Any) -> Group:
    """A `Group` from an Okta group (its ``type`` kept in ``extra``).

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    wire = _structure(data, _WireGroup, "group")
    extra = _extra(data, ("id", "profile"))
    extra["type"] = wire.type
    profile = data["profile"]
    extra.update({k: v for k, v in profile.items() if k not in ("name", "description")})
    try:
        return Group(
            id=wire.id,
            name=wire.profile.name,
            description=wire.profile.description,
            extra=extra,
        )
    except InvalidInputError as exc:
        raise DecodeError(f"unusable group: {exc}", backend=_BACKEND) from exc


def structure_groups(data: Any) -> list[Group]:
    """Groups of one page of ``GET /api/v1/groups`` (a JSON array).

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    return [structure_group(item) for item in _array(data, "group")]


def structure_user(data: Any) -> User:
    """A `User` from an Okta user (``login`` and ``status`` in ``extra``).

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    wire = _structure(data, _WireUser, "user")
    extra = _extra(data, ("id", "profile"))
    extra["login"] = wire.profile.login
    try:
        return User(
            id=wire.id,
            email=wire.profile.email,
            first_name=wire.profile.first_name,
            last_name=wire.profile.last_name,
            extra=extra,
        )
    except InvalidInputError as exc:
        raise DecodeError(f"unusable user: {exc}", backend=_BACKEND) from exc


def structure_users(data: Any) -> list[User]:
    """Users of one page of ``GET /api/v1/users`` (a JSON array).

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    return [structure_user(item) for item in _array(data, "user")]


def structure_member(user: User, group_id: str) -> Member:
    """A `Member` of ``group_id`` from a user of ``GET .../users``."""
    try:
        return Member(
            key=user.id, group_id=group_id, email=user.email, extra=dict(user.extra)
        )
    except InvalidInputError as exc:
        raise DecodeError(f"unusable member: {exc}", backend=_BACKEND) from exc
