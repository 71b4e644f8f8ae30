"""Snip's JSON shapes and the cattrs converter that reads them.

Snip embeds members (with roles and e-mails) in every group, so the wire shapes
differ from the common models: private frozen wire classes mirror the JSON and small
``*_to_model`` functions map them onto [`Group`][asyncgroups.models.Group],
[`Member`][asyncgroups.models.Member] and [`User`][asyncgroups.models.User]. This
module performs no I/O.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import cattrs
from attrs import field, frozen
from cattrs.gen import make_dict_structure_fn, override

from asyncgroups.backends._kit import make_strict_converter, structure
from asyncgroups.errors import DecodeError
from asyncgroups.models import Group, Member, User

__all__ = [
    "CONVERTER",
    "WireGroup",
    "WireMember",
    "configure_converter",
    "group_to_model",
    "make_converter",
    "member_to_model",
    "member_to_user",
    "structure_group",
    "structure_groups",
]

_BACKEND = "snip"


@frozen
class WireMember:
    """A ``GroupMember`` exactly as Snip sends it inside a group."""

    user_id: int
    group_id: int
    role: str
    self_: bool = False
    joined_at: datetime | None = None
    primary_credential_id: int | None = None
    emails: tuple[str, ...] = ()
    emails_verified: tuple[bool, ...] = ()
    credential_ids: tuple[int, ...] = ()
    credential_types: tuple[str, ...] = ()
    group_name: str | None = None
    group_description: str | None = None


@frozen
class WireGroup:
    """A ``Group`` exactly as Snip sends it."""

    id: int
    name: str
    members: tuple[WireMember, ...]
    description: str | None = None
    created: datetime | None = None
    last_updated: datetime | None = None
    extra: dict[str, Any] = field(factory=dict)

    @property
    def owner(self) -> WireMember | None:
        """The member with the ``owner`` role, if any."""
        return next((m for m in self.members if m.role == "owner"), None)

    @property
    def own_role(self) -> str | None:
        """The role of the token's user in this group (``self: true``)."""
        return next((m.role for m in self.members if m.self_), None)


def _structure_datetime(value: Any, _: type) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_MEMBER_LISTS = ("emails", "emails_verified", "credential_ids", "credential_types")


def _check_object(value: Any, arrays: Sequence[str]) -> None:
    """Refuse what cattrs would coerce: a non-object, or an object where an array is due."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    for key in arrays:
        if key in value and not isinstance(value[key], list):
            raise TypeError(
                f"{key}: expected a JSON array, got {type(value[key]).__name__}"
            )


def configure_converter(converter: cattrs.Converter) -> None:
    """Teach ``converter`` Snip's wire rules, on top of the kit's strict ones.

    ``converter`` comes from
    [`make_strict_converter`][asyncgroups.backends._kit.make_strict_converter], which
    refuses (not coerces) a string or boolean where an integer id belongs and any other
    type where a string or boolean belongs. On top of that:

    * Datetimes are ISO 8601 (``2025-09-29T11:16:08.000Z``); naive ones are UTC.
    * ``self`` is read into ``self_`` (a Python keyword-ish name).
    * Arrays must be JSON arrays (an object is not iterated as one).
    * Extra keys are ignored on members and kept in ``WireGroup.extra`` on groups,
      because servers add fields.
    """
    converter.register_structure_hook(datetime, _structure_datetime)
    member_fn = make_dict_structure_fn(
        WireMember, converter, self_=override(rename="self")
    )

    def structure_member(value: Any, cls: type) -> WireMember:
        _check_object(value, _MEMBER_LISTS)
        return member_fn(value, cls)

    converter.register_structure_hook(WireMember, structure_member)
    known = {"id", "name", "members", "description", "created", "last_updated"}
    group_fn = make_dict_structure_fn(WireGroup, converter, extra=override(omit=True))

    def structure_group(value: Any, cls: type) -> WireGroup:
        _check_object(value, ("members",))
        group = group_fn(value, cls)
        extra = {k: v for k, v in value.items() if k not in known}
        return WireGroup(
            id=group.id,
            name=group.name,
            members=group.members,
            description=group.description,
            created=group.created,
            last_updated=group.last_updated,
            extra=extra,
        )

    converter.register_structure_hook(WireGroup, structure_group)


def make_converter() -> cattrs.Converter:
    """A new strict converter configured for Snip."""
    converter = make_strict_converter()
    configure_converter(converter)
    return converter


#: The converter the Snip backend uses (built once).
CONVERTER = make_converter()


def structure_group(data: Any) -> WireGroup:
    """One group from its JSON.

    Raises:
        DecodeError: the JSON is not a Snip group; ``details`` says where.
    """
    return structure(CONVERTER, data, WireGroup, backend=_BACKEND, what="group")


def structure_groups(data: Any) -> list[WireGroup]:
    """The bare JSON array of ``GET /api/account/groups``.

    Raises:
        DecodeError: not an array of Snip groups.
    """
    if not isinstance(data, list):
        raise DecodeError(
            f"expected a JSON array of groups, got {type(data).__name__}",
            backend=_BACKEND,
        )
    return structure(
        CONVERTER, data, list[WireGroup], backend=_BACKEND, what="group list"
    )


def group_to_model(group: WireGroup) -> Group:
    """The common [`Group`][asyncgroups.models.Group] for a wire group.

    ``extra`` keeps ``created``, ``last_updated`` (tz-aware datetimes), the owner's
    user id, the token user's role, the member count and unknown server fields.
    """
    owner = group.owner
    extra: dict[str, Any] = {
        **group.extra,
        "created": group.created,
        "last_updated": group.last_updated,
        "owner_id": str(owner.user_id) if owner else None,
        "role": group.own_role,
        "member_count": len(group.members),
    }
    return Group(
        id=str(group.id), name=group.name, description=group.description, extra=extra
    )


def member_to_model(member: WireMember) -> Member:
    """The common [`Member`][asyncgroups.models.Member]: key is the user id."""
    return Member(
        key=str(member.user_id),
        group_id=str(member.group_id),
        role=member.role,
        email=_first(member.emails),
        extra={
            "self": member.self_,
            "joined_at": member.joined_at,
            "emails": member.emails,
            "emails_verified": member.emails_verified,
        },
    )


def member_to_user(member: WireMember) -> User:
    """The common [`User`][asyncgroups.models.User] behind a group member."""
    return User(
        id=str(member.user_id),
        email=_first(member.emails),
        extra={
            "emails": member.emails,
            "emails_verified": member.emails_verified,
            "primary_credential_id": member.primary_credential_id,
            "credential_types": member.credential_types,
        },
    )


def _first(values: Sequence[str]) -> str | None:
    return values[0] if values else None
