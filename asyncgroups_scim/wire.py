"""SCIM 2.0 JSON <-> asyncgroups models (RFC 7643 core User and Group schemas).

Private ``@frozen`` wire classes mirror the SCIM JSON; ``to_*`` functions map them
onto the common models and ``*_payload`` functions build request bodies. The module
holds one converter, built once; it performs no I/O.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import cattrs
from attrs import field, fields, frozen
from cattrs.gen import make_dict_structure_fn, override

from asyncgroups.backends import _kit
from asyncgroups.errors import DecodeError
from asyncgroups.models import Group, Member, User

__all__ = [
    "CONVERTER",
    "SCHEMA_GROUP",
    "SCHEMA_USER",
    "ServiceProvider",
    "WireGroup",
    "WireList",
    "WireUser",
    "configure_converter",
    "group_payload",
    "make_converter",
    "member_change",
    "member_refs",
    "service_provider",
    "structure",
    "to_group",
    "to_members",
    "to_user",
    "user_payload",
]

SCHEMA_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCHEMA_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

T = TypeVar("T")


@frozen
class WireMeta:
    """``meta`` (RFC 7643 §3.1)."""

    version: str | None = None
    resource_type: str | None = None


@frozen
class WireName:
    """``name`` of a User."""

    given_name: str | None = None
    family_name: str | None = None
    formatted: str | None = None


@frozen
class WireEmail:
    """One of a User's ``emails``."""

    value: str | None = None
    primary: bool | None = None
    type: str | None = None


@frozen
class WireMemberRef:
    """One of a Group's ``members``."""

    value: str
    display: str | None = None
    type: str | None = None


@frozen
class WireUser:
    """A SCIM User."""

    id: str
    user_name: str | None = None
    external_id: str | None = None
    display_name: str | None = None
    active: bool | None = None
    name: WireName | None = None
    emails: list[WireEmail] = field(factory=list)
    meta: WireMeta | None = None


@frozen
class WireGroup:
    """A SCIM Group."""

    id: str
    display_name: str
    external_id: str | None = None
    members: list[WireMemberRef] = field(factory=list)
    meta: WireMeta | None = None


@frozen
class WireList:
    """A ListResponse (RFC 7644 §3.4.2)."""

    total_results: int
    resources: list[dict[str, Any]] = field(factory=list)
    start_index: int | None = None
    items_per_page: int | None = None


@frozen
class ServiceProvider:
    """What ``/ServiceProviderConfig`` announces (RFC 7643 §5).

    Attributes:
        patch: PATCH is supported.
        filter: ``filter`` is supported.
        filter_max_results: the most resources one listing returns.
        etag: resources carry versions and ``If-Match`` is honoured.
        bulk: ``/Bulk`` is supported.
        bulk_max_operations: operations one bulk request may carry.
    """

    patch: bool = True
    filter: bool = True
    filter_max_results: int | None = None
    etag: bool = False
    bulk: bool = False
    bulk_max_operations: int | None = None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def configure_converter(conv: cattrs.Converter) -> None:
    """Register the SCIM hooks on ``conv``.

    - attribute names are camelCase on the wire (``userName``, ``totalResults``);
    - a ListResponse's ``Resources`` is capitalised (RFC 7644 §3.4.2);
    - unknown keys are ignored (servers add extension schemas);
    - on top of the kit's strict hooks: no coercion of numbers to text or back.
    """
    for cls in (WireMeta, WireName, WireEmail, WireMemberRef, WireUser, WireGroup):
        renames = {a.name: override(rename=_camel(a.name)) for a in fields(cls)}
        conv.register_structure_hook(
            cls,
            make_dict_structure_fn(cls, conv, **renames),  # type: ignore[arg-type]
        )
    renames = {a.name: override(rename=_camel(a.name)) for a in fields(WireList)}
    renames["resources"] = override(rename="Resources")
    conv.register_structure_hook(
        WireList,
        make_dict_structure_fn(WireList, conv, **renames),  # type: ignore[arg-type]
    )


def make_converter() -> cattrs.Converter:
    """The kit's strict converter with the SCIM hooks."""
    conv = _kit.make_strict_converter()
    configure_converter(conv)
    return conv


CONVERTER = make_converter()


def structure(data: Any, cls: type[T], what: str | None = None) -> T:
    """Structure SCIM JSON into a wire class (``what`` names it in errors).

    Raises:
        DecodeError: the JSON does not have the shape the schema promises.
    """
    name = what or cls.__name__
    return _kit.structure(CONVERTER, data, cls, backend="scim", what=name)


def _feature(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _positive(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def service_provider(data: Any) -> ServiceProvider:
    """Read a ServiceProviderConfig; a missing feature counts as unsupported.

    Raises:
        DecodeError: the document is not a JSON object.
    """
    if not isinstance(data, Mapping):
        raise DecodeError("ServiceProviderConfig is not an object", backend="scim")
    patch, filt, etag, bulk = (
        _feature(data, k) for k in ("patch", "filter", "etag", "bulk")
    )
    return ServiceProvider(
        patch=patch.get("supported") is True,
        filter=filt.get("supported") is True,
        filter_max_results=_positive(filt.get("maxResults")),
        etag=etag.get("supported") is True,
        bulk=bulk.get("supported") is True,
        bulk_max_operations=_positive(bulk.get("maxOperations")),
    )


def primary_email(user: WireUser) -> str | None:
    """The primary e-mail, else the first one, else ``None``."""
    emails = [e for e in user.emails if e.value]
    for email in emails:
        if email.primary:
            return email.value
    return emails[0].value if emails else None


def to_user(user: WireUser) -> User:
    """The common [`User`][asyncgroups.models.User] of a SCIM User."""
    name = user.name or WireName()
    extra = {
        k: v
        for k, v in {
            "userName": user.user_name,
            "externalId": user.external_id,
            "displayName": user.display_name,
            "active": user.active,
            "version": user.meta.version if user.meta else None,
        }.items()
        if v is not None
    }
    return User(
        id=user.id,
        email=primary_email(user),
        first_name=name.given_name,
        last_name=name.family_name,
        extra=extra,
    )


def to_group(group: WireGroup) -> Group:
    """The common `Group` of a SCIM Group (core Groups have no description)."""
    extra = {
        k: v
        for k, v in {
            "externalId": group.external_id,
            "version": group.meta.version if group.meta else None,
        }.items()
        if v is not None
    }
    return Group(id=group.id, name=group.display_name, extra=extra)


def member_refs(data: Any) -> list[WireMemberRef]:
    """A Group's ``members`` (absent means none).

    Raises:
        DecodeError: the JSON is not a Group object.
    """
    if not isinstance(data, Mapping):
        raise DecodeError("Group is not an object", backend="scim")
    return structure(data.get("members") or [], list[WireMemberRef], "members")


def to_members(
    group_id: str,
    refs: Sequence[WireMemberRef],
    emails: Mapping[str, str] | None = None,
) -> list[Member]:
    """The common `Member` list of a Group; keys are member ``value`` ids."""
    found = emails or {}
    return [
        Member(
            key=ref.value,
            group_id=group_id,
            email=found.get(ref.value),
            extra={"type": ref.type} if ref.type else {},
        )
        for ref in refs
    ]


def _clean(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


def user_payload(
    *,
    user_name: str,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    external_id: str | None = None,
    active: bool | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A User body for POST or PUT; ``base`` is the stored JSON being replaced."""
    body = dict(base or {})
    body.pop("meta", None)
    body["schemas"] = body.get("schemas") or [SCHEMA_USER]
    body["userName"] = user_name
    stored = body.get("name")
    if stored is not None and not isinstance(stored, Mapping):
        # The record being replaced came from the server: a name that is not an
        # object breaks the schema it promised (RFC 7643 §4.1.1).
        raise DecodeError("the stored User's name is not an object", backend="scim")
    name = dict(stored or {})
    name.update(_clean({"givenName": first_name, "familyName": last_name}))
    if name:
        body["name"] = name
    if email is not None:
        body["emails"] = [{"value": email, "primary": True, "type": "work"}]
    body.update(_clean({"externalId": external_id, "active": active}))
    return body


def group_payload(
    *,
    display_name: str,
    members: Sequence[str] | None = None,
    external_id: str | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Group body for POST or PUT; ``base`` is the stored JSON being replaced."""
    body = dict(base or {})
    body.pop("meta", None)
    body["schemas"] = body.get("schemas") or [SCHEMA_GROUP]
    body["displayName"] = display_name
    if members is not None:
        old = {
            m.get("value"): m for m in body.get("members") or [] if isinstance(m, dict)
        }
        body["members"] = [old.get(k) or {"value": k} for k in members]
    if external_id is not None:
        body["externalId"] = external_id
    return body


def member_change(
    keys: Sequence[str], *, add: bool
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A change adding or removing member ids, for a read-modify-write PUT."""

    def change(old: dict[str, Any]) -> dict[str, Any]:
        current = [
            str(m["value"])
            for m in old.get("members") or []
            if isinstance(m, dict) and "value" in m
        ]
        if add:
            wanted = current + [k for k in keys if k not in set(current)]
        else:
            drop = set(keys)
            wanted = [k for k in current if k not in drop]
        return group_payload(
            display_name=str(old.get("displayName", "")), members=wanted, base=old
        )

    return change
