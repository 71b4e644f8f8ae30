"""What callers may set on SCIM Users and Groups, checked before any I/O.

The common fields arrive as typed arguments; the SCIM ones (``external_id``,
``user_name``, ``active``) arrive through ``**extra``, where an unknown key or a
value of the wrong type is refused with ``InvalidInputError`` naming the key. A
core SCIM Group has no description, so one is refused rather than dropped. This
module also turns the checked fields into PATCH operations and into the change a
read-modify-write PUT applies. It performs no I/O.
"""

from collections.abc import Callable, Mapping
from typing import Any

from attrs import frozen

from asyncgroups.backends._kit import refuse_unknown
from asyncgroups.errors import InvalidInputError
from asyncgroups.validation import check_email
from asyncgroups_scim import wire

__all__ = [
    "GROUP_EXTRA",
    "USER_EXTRA",
    "GroupFields",
    "UserFields",
    "group_fields",
    "user_fields",
]

#: ``**extra`` keys a Group accepts, and their types.
GROUP_EXTRA: Mapping[str, type] = {"external_id": str}
#: ``**extra`` keys a User accepts, and their types.
USER_EXTRA: Mapping[str, type] = {"user_name": str, "external_id": str, "active": bool}

Change = Callable[[dict[str, Any]], dict[str, Any]]

#: PATCH paths of the User fields set by ``replace`` (RFC 7644 §3.5.2.3).
_USER_PATHS = {
    "first_name": "name.givenName",
    "last_name": "name.familyName",
    "user_name": "userName",
    "external_id": "externalId",
    "active": "active",
}


def _extra(extra: Mapping[str, object], allowed: Mapping[str, type], what: str) -> None:
    refuse_unknown(extra, allowed, backend="scim", what=what)
    for key, value in extra.items():
        kind = allowed[key]
        if value is not None and (
            not isinstance(value, kind) or (kind is str and isinstance(value, bool))
        ):
            raise InvalidInputError(f"{what} field {key} must be a {kind.__name__}")


def _text(extra: Mapping[str, object], key: str) -> str | None:
    value = extra.get(key)
    return value if isinstance(value, str) else None


@frozen
class GroupFields:
    """A Group's fields to set; ``None`` leaves one as it is."""

    name: str | None = None
    external_id: str | None = None

    def changes(self) -> dict[str, str]:
        """The SCIM attributes to replace."""
        pairs = {"displayName": self.name, "externalId": self.external_id}
        return {k: v for k, v in pairs.items() if v is not None}

    def patch_ops(self) -> list[dict[str, Any]]:
        """One ``replace`` per attribute."""
        return [
            {"op": "replace", "path": k, "value": v} for k, v in self.changes().items()
        ]

    def change(self) -> Change:
        """The same edit, for a read-modify-write PUT of the stored Group."""
        changes = self.changes()
        return lambda old: {**old, **changes}


def group_fields(
    name: str | None, description: str | None, extra: Mapping[str, object]
) -> GroupFields:
    """Check a Group's fields.

    Raises:
        InvalidInputError: a ``description`` (core SCIM Groups have none), or an
            unknown or mistyped ``extra`` key.
    """
    _extra(extra, GROUP_EXTRA, "group")
    if description is not None:
        raise InvalidInputError("core SCIM Groups have no description")
    return GroupFields(name=name, external_id=_text(extra, "external_id"))


@frozen
class UserFields:
    """A User's fields to set; ``None`` leaves one as it is."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    user_name: str | None = None
    external_id: str | None = None
    active: bool | None = None

    def payload(
        self, user_name: str, base: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A User body for POST, or for PUT over ``base`` (the stored JSON)."""
        return wire.user_payload(
            user_name=user_name,
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            external_id=self.external_id,
            active=self.active,
            base=base,
        )

    def patch_ops(self) -> list[dict[str, Any]]:
        """One ``replace`` per field given (``emails`` as a whole list)."""
        given = {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "user_name": self.user_name,
            "external_id": self.external_id,
            "active": self.active,
        }
        ops: list[dict[str, Any]] = [
            {"op": "replace", "path": _USER_PATHS[key], "value": value}
            for key, value in given.items()
            if value is not None
        ]
        if self.email is not None:
            value = wire.user_payload(user_name="-", email=self.email)["emails"]
            ops.append({"op": "replace", "path": "emails", "value": value})
        return ops

    def change(self) -> Change:
        """The same edit, for a read-modify-write PUT of the stored User."""

        def change(old: dict[str, Any]) -> dict[str, Any]:
            user_name = self.user_name or old.get("userName") or ""
            return self.payload(str(user_name), base=old)

        return change


def user_fields(
    email: str | None,
    first_name: str | None,
    last_name: str | None,
    extra: Mapping[str, object],
) -> UserFields:
    """Check a User's fields.

    Raises:
        InvalidInputError: a bad e-mail, or an unknown or mistyped ``extra`` key.
    """
    _extra(extra, USER_EXTRA, "user")
    if email is not None:
        check_email(email)
    active = extra.get("active")
    return UserFields(
        email=email,
        first_name=first_name,
        last_name=last_name,
        user_name=_text(extra, "user_name"),
        external_id=_text(extra, "external_id"),
        active=active if isinstance(active, bool) else None,
    )
