"""NeuroIO's JSON shapes and the cattrs converter mapping them onto the common models.

Private wire classes mirror the JSON; small functions turn them into
[`Group`][asyncgroups.models.Group] and [`Member`][asyncgroups.models.Member].
Structure errors become [`DecodeError`][asyncgroups.errors.DecodeError] with cattrs'
readable details. This module performs no I/O.
"""

from collections.abc import Sequence
from typing import Any, TypedDict, TypeVar, cast

import cattrs
from attrs import field, frozen

from asyncgroups.backends._kit import Shape, make_strict_converter, structure_object
from asyncgroups.errors import DecodeError, InvalidInputError
from asyncgroups.models import Group, Member
from asyncgroups.validation import check_length, check_name, plain_ids

__all__ = [
    "CONVERTER",
    "configure_converter",
    "make_converter",
    "structure_group",
    "structure_group_page",
    "structure_member_page",
]

_BACKEND = "neuroio"
T = TypeVar("T")


class _WireGroup(TypedDict):
    """``{"id": int, "name": str}`` plus whatever else the server adds.

    A TypedDict, not an attrs class: cattrs' hook copies the object with its
    fields typed, and what is left once ``id`` and ``name`` are taken out is the
    group's ``extra``; no instance to build, no second copy (0.31 µs a group
    against 0.48 for an attrs class and the copy, best of 5 x 200,000).
    """

    id: int
    name: str


@frozen
class _WirePerson:
    """``{"pid": str, "pid_source": str}`` in a group's person list."""

    pid: str
    pid_source: str | None = None


@frozen
class _WirePage:
    """DRF's limit/offset envelope; ``next``/``previous`` are never followed."""

    count: int
    results: list[Any] = field(factory=list)


def configure_converter(conv: cattrs.Converter) -> None:
    """Register NeuroIO's wire decisions on ``conv``, a `make_strict_converter`.

    - ids (group, space) are JSON integers and names and pids JSON strings; the
      kit's strict hooks refuse anything else rather than coerce it, so a server
      change shows up as a ``DecodeError``. NeuroIO needs no hook beyond them.
    - responses may carry keys we do not know; they are ignored by the wire classes
      and kept in ``extra`` on the models.
    - the page envelope needs ``count`` and ``results``; ``next``/``previous`` are
      ignored (their host can be wrong behind proxies).
    """


def make_converter() -> cattrs.Converter:
    """A strict converter configured for NeuroIO (detailed validation on)."""
    conv = make_strict_converter()
    configure_converter(conv)
    return conv


CONVERTER = make_converter()
_GROUP = Shape(CONVERTER, _WireGroup, backend=_BACKEND, what="group")


def _structure(data: Any, cls: type[T], what: str) -> T:
    return structure_object(CONVERTER, data, cls, backend=_BACKEND, what=what)


def structure_group(data: Any) -> Group:
    """A [`Group`][asyncgroups.models.Group] from ``{"id": int, "name": str, ...}``.

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    extra: dict[str, Any]
    if (
        type(data) is dict
        and type(data.get("id")) is int
        and type(data.get("name")) is str
    ):
        # What _GROUP accepts, tested in C calls: an int id (never a bool) and
        # a str name, and its typed copy is then data.copy(); anything else
        # goes through _GROUP for its checks and errors. 19.1k -> 13.2k
        # instructions a group (callgrind, x 10,000), of a read's 113k.
        extra = data.copy()
    else:
        extra = cast("dict[str, Any]", _GROUP(data))  # cattrs' typed copy of data
        if extra is data:  # never change the caller's dict
            extra = dict(extra)
    gid, name = extra.pop("id"), extra.pop("name")
    try:
        return Group.from_checked(str(gid), name, None, extra)
    except InvalidInputError as exc:
        raise DecodeError(f"unusable group: {exc}", backend=_BACKEND) from exc


def _page(data: Any, what: str) -> tuple[Sequence[Any], int]:
    if (
        type(data) is dict
        and type(data.get("count")) is int
        and type(data.get("results")) is list
    ):
        # What _WirePage accepts, tested in C calls (an int count, never a bool;
        # a list of results), without the converter: 0.2 against 1.9 µs a page.
        return data["results"], data["count"]
    page = _structure(data, _WirePage, f"{what} page")
    return page.results, page.count


def structure_group_page(data: Any) -> tuple[list[Group], int]:
    """Groups and the total count of one page of ``GET /v1/groups/persons/``.

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    results, count = _page(data, "group")
    return [structure_group(item) for item in results], count


def structure_member_page(data: Any, group_id: str) -> tuple[list[Member], int]:
    """Members and the total count of one page of ``.../{id}/pids/``.

    Raises:
        DecodeError: the JSON does not have that shape.
    """
    results, count = _page(data, "person")
    members = []
    for item in results:
        wire = _structure(item, _WirePerson, "person")
        extra = {k: v for k, v in item.items() if k != "pid"}
        try:
            members.append(Member.from_checked(wire.pid, group_id, extra))
        except InvalidInputError as exc:
            raise DecodeError(f"unusable person: {exc}", backend=_BACKEND) from exc
    return members, count


def member_keys_page(data: Any) -> tuple[list[str], int]:
    """The pids and the total count of one page of ``.../{id}/pids/``, keys only.

    Checks what `structure_member_page` checks of each pid, without building
    a member per person (the sync's listing path).

    Raises:
        DecodeError: the JSON does not have that shape, or a pid is unusable.
    """
    results, count = _page(data, "person")
    try:
        keys = [item["pid"] for item in results]
    except (TypeError, KeyError):
        keys = []
    if len(keys) == len(results) and plain_ids(keys):
        return keys, count
    for item in results:
        wire = _structure(item, _WirePerson, "person")
        try:
            check_name(wire.pid, "key")
            check_length(wire.pid, "key")
        except InvalidInputError as exc:
            raise DecodeError(f"unusable person: {exc}", backend=_BACKEND) from exc
    return [item["pid"] for item in results], count
