"""Microsoft Graph's JSON shapes and the cattrs converter mapping them onto the models.

Private wire classes mirror the JSON (``displayName``, ``givenName``, ...); small
functions turn them into [`Group`][asyncgroups.models.Group],
[`User`][asyncgroups.models.User] and [`Member`][asyncgroups.models.Member].
Structure errors become [`DecodeError`][asyncgroups.errors.DecodeError] with cattrs'
readable details. This module performs no I/O.
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
    "structure_group_page",
    "structure_member_page",
    "structure_user",
    "structure_user_page",
]

_BACKEND = "graph"
T = TypeVar("T")


@frozen
class _WireGroup:
    """``{"id", "displayName", "description", ...}``."""

    id: str
    display_name: str
    description: str | None = None


@frozen
class _WireUser:
    """``{"id", "mail", "givenName", "surname", ...}``."""

    id: str
    mail: str | None = None
    given_name: str | None = None
    surname: str | None = None


@frozen
class _WireObject:
    """A member: any directory object (``@odata.type`` says which)."""

    id: str
    mail: str | None = None
    odata_type: str | None = None


@frozen
class _WirePage:
    """``{"value": [...], "@odata.nextLink": "..."}``."""

    value: list[Any] = field(factory=list)
    next_link: str | None = None


def configure_converter(conv: cattrs.Converter) -> None:
    """Register Graph's wire decisions on ``conv``, a strict converter.

    - names are camelCase on the wire (``displayName``, ``givenName``); the
      OData annotations ``@odata.type`` and ``@odata.nextLink`` keep their names.
    - ids are GUID strings, names strings; the kit's strict hooks refuse anything
      else rather than coerce it.
    - ``null`` is a value (``description``, ``mail`` and names may be absent or
      null); unknown keys are ignored by the wire classes and kept in ``extra``.
    """
    conv.register_structure_hook(
        _WireGroup,
        make_dict_structure_fn(
            _WireGroup, conv, display_name=override(rename="displayName")
        ),
    )
    conv.register_structure_hook(
        _WireUser,
        make_dict_structure_fn(
            _WireUser, conv, given_name=override(rename="givenName")
        ),
    )
    conv.register_structure_hook(
        _WireObject,
        make_dict_structure_fn(
            _WireObject, conv, odata_type=override(rename="@odata.type")
        ),
    )
    conv.register_structure_hook(
        _WirePage,
        make_dict_structure_fn(
            _WirePage, conv, next_link=override(rename="@odata.nextLink")
        ),
    )


def make_converter() -> cattrs.Converter:
    """A strict converter configured for Graph (detailed validation on)."""
    conv = make_strict_converter()
    configure_converter(conv)
    return conv


CONVERTER = make_converter()


def _structure(data: Any, cls: type[T], what: str) -> T:
    return structure_object(CONVERTER, data, cls, backend=_BACKEND, what=what)


def _extra(data: dict[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    # OData annotations (``@odata.context``) describe the answer, not the object.
    return {
        k: v for k, v in data.items() if k not in known and not k.startswith("@odata.")
    }


def structure_group(data: Any) -> Group:
    """A [`Group`][asyncgroups.models.Group] from a Graph group object.

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    wire = _structure(data, _WireGroup, "group")
    extra = _extra(data, ("id", "displayName", "description"))
    try:
        return Group(
            id=wire.id,
            name=wire.display_name,
            description=wire.description,
            extra=extra,
        )
    except InvalidInputError as exc:
        raise DecodeError(f"unusable group: {exc}", backend=_BACKEND) from exc


def structure_user(data: Any) -> User:
    """A `User` from a Graph user object (``email`` is its ``mail``).

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    wire = _structure(data, _WireUser, "user")
    extra = _extra(data, ("id", "mail", "givenName", "surname"))
    try:
        return User(
            id=wire.id,
            email=wire.mail,
            first_name=wire.given_name,
            last_name=wire.surname,
            extra=extra,
        )
    except InvalidInputError as exc:
        raise DecodeError(f"unusable user: {exc}", backend=_BACKEND) from exc


def _page(data: Any, what: str) -> tuple[list[Any], str | None]:
    page = _structure(data, _WirePage, f"{what} page")
    return page.value, page.next_link


def structure_group_page(data: Any) -> tuple[list[Group], str | None]:
    """Groups and the next link of one page of ``GET /groups``.

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    items, nxt = _page(data, "group")
    return [structure_group(item) for item in items], nxt


def structure_user_page(data: Any) -> tuple[list[User], str | None]:
    """Users and the next link of one page of ``GET /users``.

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    items, nxt = _page(data, "user")
    return [structure_user(item) for item in items], nxt


def structure_member_page(data: Any, group_id: str) -> tuple[list[Member], str | None]:
    """Members and the next link of one page of ``GET /groups/{id}/members``.

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    items, nxt = _page(data, "member")
    members = []
    for item in items:
        wire = _structure(item, _WireObject, "member")
        extra = _extra(item, ("id", "mail"))
        try:
            members.append(
                Member.from_checked(wire.id, group_id, extra, email=wire.mail)
            )
        except InvalidInputError as exc:
            raise DecodeError(f"unusable member: {exc}", backend=_BACKEND) from exc
    return members, nxt
