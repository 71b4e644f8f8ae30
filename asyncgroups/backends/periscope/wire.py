"""Periscope's JSON <-> the common models, through one cattrs converter.

Private wire classes mirror the JSON; hooks turn them into
[`User`][asyncgroups.models.User] and [`Group`][asyncgroups.models.Group]. Request
payloads are built here too, so wire names (and the Periscope fields a call may carry
beyond the common ones) live in one place. This module performs no I/O.
"""

from collections.abc import Iterable, Mapping
from typing import Any

import cattrs
from attrs import field, frozen

from asyncgroups.backends._kit import make_strict_converter, refuse_unknown, structure
from asyncgroups.errors import DecodeError, InvalidInputError
from asyncgroups.models import Group, User

__all__ = [
    "CONVERTER",
    "GROUP_CREATE_FIELDS",
    "GROUP_UPDATE_FIELDS",
    "USER_CREATE_FIELDS",
    "USER_UPDATE_FIELDS",
    "configure_converter",
    "group_payload",
    "make_converter",
    "structure_group",
    "structure_user",
    "user_groups",
    "user_payload",
]

_BACKEND = "periscope"

#: Periscope fields a call takes through ``**extra``, beyond the common ones; any
#: other key is refused before a request is built.
USER_CREATE_FIELDS = frozenset({"groups", "invited_by_email"})
USER_UPDATE_FIELDS = frozenset({"groups"})
GROUP_CREATE_FIELDS = frozenset({"access", "created_by_email"})
GROUP_UPDATE_FIELDS = frozenset({"access", "updated_by_email"})


@frozen
class _WireUser:
    email: str
    first_name: str | None = None
    last_name: str | None = None
    groups: list[str] = field(factory=list)


@frozen
class _WireGroup:
    name: str
    access: str | None = None


_USER_KEYS = frozenset({"email", "first_name", "last_name"})
_GROUP_KEYS = frozenset({"name"})


def configure_converter(conv: cattrs.Converter) -> None:
    """Teach ``conv`` (a kit strict converter) Periscope's user and group shapes.

    - a user's id is its e-mail; ``groups`` (names) and unknown keys go to ``extra``,
      ``groups`` as a tuple;
    - a group's id is its name; ``access`` and unknown keys go to ``extra``;
      Periscope groups have no description;
    - extra keys are allowed everywhere (servers add fields);
    - strings are strict (the kit's hook): a number where a name or e-mail belongs
      is an error, not silently turned into text; ``groups`` must be a list of names.
    """

    def user_hook(obj: Any, _: Any) -> User:
        if not isinstance(obj, Mapping):
            raise TypeError(f"a user must be an object, not {type(obj).__name__}")
        groups = obj.get("groups")
        if groups is not None and not isinstance(groups, list):
            raise TypeError("a user's groups must be a list of names")
        wire = conv.structure(obj, _WireUser)
        extra = {k: v for k, v in obj.items() if k not in _USER_KEYS}
        extra["groups"] = tuple(wire.groups)
        return User(
            id=wire.email,
            email=wire.email,
            first_name=wire.first_name,
            last_name=wire.last_name,
            extra=extra,
        )

    def group_hook(obj: Any, _: Any) -> Group:
        if not isinstance(obj, Mapping):
            raise TypeError(f"a group must be an object, not {type(obj).__name__}")
        wire = conv.structure(obj, _WireGroup)
        extra = {k: v for k, v in obj.items() if k not in _GROUP_KEYS}
        return Group.from_checked(wire.name, wire.name, None, extra)

    conv.register_structure_hook(User, user_hook)
    conv.register_structure_hook(Group, group_hook)


def make_converter() -> cattrs.Converter:
    """The kit's strict converter, configured for Periscope."""
    conv = make_strict_converter()
    configure_converter(conv)
    return conv


CONVERTER = make_converter()


def structure_user(data: Any) -> User:
    """A [`User`][asyncgroups.models.User] from a wire user object.

    Raises:
        DecodeError: the object does not match.
    """
    return structure(CONVERTER, data, User, backend=_BACKEND, what="user")


def structure_group(data: Any) -> Group:
    """A [`Group`][asyncgroups.models.Group] from a wire group object.

    Raises:
        DecodeError: the object does not match.
    """
    return structure(CONVERTER, data, Group, backend=_BACKEND, what="group")


def user_groups(data: Any) -> list[str]:
    """The ``groups`` list of a wire user object.

    Raises:
        DecodeError: it is missing or not a list of names.
    """
    groups = data.get("groups") if isinstance(data, Mapping) else None
    if groups is None:
        return []
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise DecodeError("a user's groups must be a list of names", backend=_BACKEND)
    return list(groups)


def _check_extra(extra: Mapping[str, object], known: frozenset[str], what: str) -> None:
    refuse_unknown(extra, known, backend="periscope", what=what)


def _strings(fields: Mapping[str, Any], names: Iterable[str]) -> None:
    for name in names:
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidInputError(f"{name} must be a str")


def user_payload(
    *,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    extra: Mapping[str, object] | None = None,
    known: frozenset[str] = USER_CREATE_FIELDS,
) -> dict[str, Any]:
    """The wire body of a user create or update.

    ``None`` values are left out; ``groups`` becomes a list of names.

    Args:
        email: the user's e-mail.
        first_name: given name.
        last_name: family name.
        extra: Periscope fields (``groups``, ``invited_by_email``...).
        known: the ``extra`` keys this call takes.

    Raises:
        InvalidInputError: an unknown ``extra`` key (named), a name field that is
            not a string, or groups that are not names.
    """
    extra = extra or {}
    _check_extra(extra, known, "user")
    fields = {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        **extra,
    }
    _strings(fields, ("email", "first_name", "last_name", "invited_by_email"))
    payload = {k: v for k, v in fields.items() if v is not None}
    if "groups" in payload:
        groups = payload["groups"]
        if (
            isinstance(groups, str | bytes)
            or not isinstance(groups, Iterable)
            or not all(isinstance(g, str) for g in groups)
        ):
            raise InvalidInputError("groups must be an iterable of group names")
        payload["groups"] = list(groups)
    return payload


def group_payload(
    *,
    name: str | None = None,
    description: str | None = None,
    extra: Mapping[str, object] | None = None,
    known: frozenset[str] = GROUP_CREATE_FIELDS,
) -> dict[str, Any]:
    """The wire body of a group create or update.

    ``None`` values are left out. Periscope groups have no description.

    Args:
        name: the group's (new) name.
        description: must be ``None``.
        extra: Periscope fields (``access``, ``created_by_email``...).
        known: the ``extra`` keys this call takes.

    Raises:
        InvalidInputError: an unknown ``extra`` key (named), a description, or a
            field that is not a string.
    """
    extra = extra or {}
    _check_extra(extra, known, "group")
    if description is not None:
        raise InvalidInputError("Periscope groups have no description")
    fields = {"name": name, **extra}
    _strings(fields, fields.keys())
    return {k: v for k, v in fields.items() if v is not None}
