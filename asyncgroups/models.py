"""The common domain models every backend returns: groups, users, members, batch results.

Models are frozen attrs classes with no wire names; each backend's ``wire`` module maps
its JSON onto them. ``extra`` keeps backend fields that have no common name.
"""

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from attrs import field, frozen

from asyncgroups.errors import AsyncGroupsError
from asyncgroups.validation import attrs_name, attrs_optional_text, check_id

__all__ = ["BatchResult", "Group", "Member", "User"]


def _freeze(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def _extra_repr(value: Mapping[str, Any]) -> str:
    return repr(dict(value))


_set = object.__setattr__  # how attrs itself fills a frozen instance


# -- the checked path ------------------------------------------------------------------
# A backend's wire layer builds a model from server data its strict converter has
# already typed (every id and name a str). ``from_checked`` makes only the check the
# converter did not (non-empty, no control characters) and takes ``extra`` as a fresh
# dict the caller hands over, without a copy: the same model, without the validators'
# second type check and the converter's copy. Measured on the read of
# benchmarks/overhead.py (NeuroIO ``structure_group``; best of 5 x 100,000, three
# interleaved pairs on a loaded 2-core machine): 9.9 / 8.6 / 7.0 µs a group through
# the constructor, 7.3 / 7.2 / 5.5 µs through this path, 1.5-2.6 µs (about 1 % of
# a read's client CPU) saved. tests/unit/test_models.py checks that it builds what
# the constructor builds and refuses what it refuses.


@frozen
class Group:
    """A group.

    Attributes:
        id: the group's id as a string (Periscope: its name).
        name: the group's name.
        description: its description, if the API has one.
        extra: backend fields without a common name.
    """

    id: str = field(validator=attrs_name)
    name: str = field(validator=attrs_name)
    description: str | None = field(default=None)
    extra: Mapping[str, Any] = field(
        factory=dict, converter=_freeze, eq=False, hash=False, repr=_extra_repr
    )

    @classmethod
    def from_checked(
        cls, id: str, name: str, description: str | None, extra: dict[str, Any]
    ) -> "Group":
        """A group from values a strict converter has typed (every text a ``str``).

        Checks that ``id`` and ``name`` are non-empty and free of control
        characters, as the constructor does; ``extra`` is taken over, not copied
        (the caller must not keep changing it).

        Raises:
            InvalidInputError: ``id`` or ``name`` is empty or holds control
                characters.
        """
        # check_id's all-clear in C calls (a printable text is free of control
        # characters); anything else goes through check_id for its error.
        # 0.61 against 0.85 µs a group (best of 5 x 200,000)
        if not (
            id.isprintable()
            and name.isprintable()
            and id
            and name
            and not id.isspace()
            and not name.isspace()
        ):
            check_id(id, "id")
            check_id(name, "name")
        group = object.__new__(cls)
        _set(group, "id", id)
        _set(group, "name", name)
        _set(group, "description", description)
        _set(group, "extra", MappingProxyType(extra))
        return group


@frozen
class User:
    """A user.

    Attributes:
        id: the user's id as a string (Periscope: the e-mail).
        email: the e-mail address, if known.
        first_name: the first name, if known.
        last_name: the last name, if known.
        extra: backend fields without a common name.
    """

    id: str = field(validator=attrs_name)
    email: str | None = field(default=None, validator=attrs_optional_text)
    first_name: str | None = None
    last_name: str | None = None
    extra: Mapping[str, Any] = field(
        factory=dict, converter=_freeze, eq=False, hash=False, repr=_extra_repr
    )


#: One page of a key-only members listing: the keys, and key -> role for the
#: members that have a role (``client.members.list_keys``).
KeyPage = tuple[Sequence[str], Mapping[str, str]]


@frozen
class Member:
    """One member of a group.

    Attributes:
        key: the member key ``members.add``/``remove`` take (pid, user id, e-mail).
        group_id: the group's id.
        role: the member's role, where the API has roles.
        email: the member's e-mail, if known.
        extra: backend fields without a common name.
    """

    key: str = field(validator=attrs_name)
    group_id: str = field(validator=attrs_name)
    role: str | None = None
    email: str | None = None
    extra: Mapping[str, Any] = field(
        factory=dict, converter=_freeze, eq=False, hash=False, repr=_extra_repr
    )

    @classmethod
    def from_checked(
        cls,
        key: str,
        group_id: str,
        extra: dict[str, Any],
        role: str | None = None,
        email: str | None = None,
    ) -> "Member":
        """A member from values a strict converter has typed (see ``Group``'s).

        Raises:
            InvalidInputError: ``key`` or ``group_id`` is empty or holds control
                characters.
        """
        if not (
            key.isprintable()
            and group_id.isprintable()
            and key
            and group_id
            and not key.isspace()
            and not group_id.isspace()
        ):  # check_id's all-clear, as in Group.from_checked
            check_id(key, "key")
            check_id(group_id, "group_id")
        member = object.__new__(cls)
        _set(member, "key", key)
        _set(member, "group_id", group_id)
        _set(member, "role", role)
        _set(member, "email", email)
        _set(member, "extra", MappingProxyType(extra))
        return member


def _frozen_keys(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _failed(value: Mapping[str, AsyncGroupsError]) -> Mapping[str, AsyncGroupsError]:
    return MappingProxyType(dict(value))


@frozen
class BatchResult:
    """The outcome of a batched member operation.

    Attributes:
        succeeded: keys the server accepted.
        failed: key -> the error that kept it out.
        requests: how many requests the batch took.
    """

    succeeded: frozenset[str] = field(factory=frozenset, converter=_frozen_keys)
    failed: Mapping[str, AsyncGroupsError] = field(factory=dict, converter=_failed)
    requests: int = 0

    @property
    def ok(self) -> bool:
        """Whether every key succeeded."""
        return not self.failed

    def merge(self, other: "BatchResult") -> "BatchResult":
        """Combine two results (a key that succeeded anywhere is not failed)."""
        failed = {**self.failed, **other.failed}
        succeeded = self.succeeded | other.succeeded
        for key in succeeded:
            failed.pop(key, None)
        return BatchResult(succeeded, failed, self.requests + other.requests)
