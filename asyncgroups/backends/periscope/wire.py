"""Periscope's JSON <-> the common models, through one cattrs converter.

Private wire classes mirror the JSON; hooks turn them into :class:`User` and
:class:`Group`. Request payloads are built here too, so wire names live in one
place. This module performs no I/O.
"""

from collections.abc import Mapping
from typing import Any

import cattrs
from attrs import field, frozen

from asyncgroups.errors import DecodeError, InvalidInputError
from asyncgroups.models import Group, User

__all__ = [
    "CONVERTER",
    "configure_converter",
    "group_payload",
    "make_converter",
    "structure_group",
    "structure_user",
    "user_groups",
    "user_payload",
]

_BACKEND = "periscope"


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
    """Teach ``conv`` Periscope's user and group shapes.

    - a user's id is its e-mail; ``groups`` (names) and unknown keys go to ``extra``,
      ``groups`` as a tuple;
    - a group's id is its name; ``access`` and unknown keys go to ``extra``;
      Periscope groups have no description;
    - extra keys are allowed everywhere (servers add fields);
    - strings are strict: a number where a name or e-mail belongs is an error, not
      silently turned into text; ``groups`` must be a list of names.
    """

    def strict_str(obj: Any, _: Any) -> str:
        if not isinstance(obj, str):
            raise TypeError(f"expected a string, not {type(obj).__name__}")
        return obj

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
        return Group(id=wire.name, name=wire.name, description=None, extra=extra)

    conv.register_structure_hook(str, strict_str)
    conv.register_structure_hook(User, user_hook)
    conv.register_structure_hook(Group, group_hook)


def make_converter() -> cattrs.Converter:
    """A converter configured for Periscope."""
    conv = cattrs.Converter(forbid_extra_keys=False)
    configure_converter(conv)
    return conv


CONVERTER = make_converter()


def _structure(data: Any, cls: type[Any], what: str) -> Any:
    try:
        return CONVERTER.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        raise DecodeError(
            f"unexpected {what} shape",
            backend=_BACKEND,
            details=cattrs.transform_error(exc),
        ) from exc
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"unexpected {what} shape: {exc}", backend=_BACKEND) from exc


def structure_user(data: Any) -> User:
    """A :class:`User` from a wire user object.

    Raises:
        DecodeError: the object does not match.
    """
    user: User = _structure(data, User, "user")
    return user


def structure_group(data: Any) -> Group:
    """A :class:`Group` from a wire group object.

    Raises:
        DecodeError: the object does not match.
    """
    group: Group = _structure(data, Group, "group")
    return group


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


def _strings(fields: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidInputError(f"{name} must be a str")


def user_payload(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The wire body of a user create or update from common field names.

    ``None`` values are left out; ``groups`` becomes a list of names; other keys
    pass through unchanged (backend extras).

    Raises:
        InvalidInputError: a name field is not a string, or groups are not names.
    """
    _strings(fields, ("email", "first_name", "last_name", "invited_by_email"))
    payload = {k: v for k, v in fields.items() if v is not None}
    if "groups" in payload:
        groups = payload["groups"]
        if isinstance(groups, str) or not all(isinstance(g, str) for g in groups):
            raise InvalidInputError("groups must be an iterable of group names")
        payload["groups"] = list(groups)
    return payload


def group_payload(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The wire body of a group create or update from common field names.

    ``None`` values are left out. Periscope groups have no description.

    Raises:
        InvalidInputError: a description was given, or a field is not a string.
    """
    if fields.get("description") is not None:
        raise InvalidInputError("Periscope groups have no description")
    _strings(fields, ("name", "access", "created_by_email", "updated_by_email"))
    return {k: v for k, v in fields.items() if v is not None and k != "description"}
