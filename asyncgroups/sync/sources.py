"""Desired-state sources: a mapping, a CSV file, a JSON file, or another Client.

Each returns ``{group: frozenset(member keys)}`` ready for ``plan_sync``. File
sources validate everything first and report every problem (with line numbers for
CSV) in one [`InvalidInputError`][asyncgroups.errors.InvalidInputError]; they never
write.
"""

import os
from collections.abc import Iterable, Mapping
from typing import Literal

from asyncgroups.arguments import check_choice, check_key_map
from asyncgroups.errors import InvalidInputError
from asyncgroups.models import Member
from asyncgroups.sync.plan import (
    DesiredInput,
    KeyMap,
    SyncClient,
    map_key,
    normalise_desired,
)
from asyncgroups.tabular import (
    column_names,
    csv_rows,
    file_name,
    problems_error,
    read_json,
    read_text,
)

__all__ = [
    "desired_from_client",
    "desired_from_csv",
    "desired_from_json",
    "desired_from_mapping",
]

Desired = dict[str, frozenset[str]]


def _fail(source: str, problems: list[str]) -> InvalidInputError:
    return problems_error(source, problems)


def desired_from_mapping(
    mapping: DesiredInput,
) -> Desired:
    """Validate a mapping of group -> member keys.

    Raises:
        InvalidInputError: a group or key is empty or malformed.
    """
    return normalise_desired(mapping)


def desired_from_csv(
    path: str | os.PathLike[str], *, encoding: str | None = None
) -> Desired:
    """Read ``group,member`` rows (with that header; other columns are ignored).

    Args:
        path: the CSV file.
        encoding: its encoding; by default UTF-8, or what a byte-order mark says
            (see `asyncgroups.tabular.read_text`).

    Raises:
        InvalidInputError: the file cannot be read or decoded, a column is missing,
            or rows are malformed or duplicated; every problem is listed with its
            line number.
    """
    source = file_name(path)
    problems: list[str] = []
    first_seen: dict[tuple[str, str], int] = {}
    desired: dict[str, set[str]] = {}
    rows = csv_rows(source, read_text(path, encoding=encoding))
    first = next(rows, None)
    if first is None:
        raise InvalidInputError(f"{source}: empty file; expected a group,member header")
    header = first[1]
    columns = column_names(header)
    missing = [c for c in ("group", "member") if c not in columns]
    if missing:
        raise InvalidInputError(
            f"{source}: line 1: missing column(s) {', '.join(missing)} "
            f"(header is {','.join(header)!r})"
        )
    g_at, m_at = columns.index("group"), columns.index("member")
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problems.append(
                f"line {line}: {len(row)} field(s), the header has {len(columns)}"
            )
            continue
        group, member = row[g_at].strip(), row[m_at].strip()
        problem = _cell_problem("group", group) or _cell_problem("member", member)
        if problem:
            problems.append(f"line {line}: {problem}")
            continue
        earlier = first_seen.setdefault((group, member), line)
        if earlier != line:
            problems.append(
                f"line {line}: duplicate of line {earlier} ({group}, {member})"
            )
            continue
        desired.setdefault(group, set()).add(member)
    if problems:
        raise _fail(source, problems)
    return {g: frozenset(keys) for g, keys in desired.items()}


def _cell_problem(what: str, value: str) -> str | None:
    if not value:
        return f"empty {what}"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return f"{what} {value!r} holds control characters"
    return None


def desired_from_json(
    path: str | os.PathLike[str], *, encoding: str | None = None
) -> Desired:
    """Read ``{"group": ["key", ...], ...}``.

    Args:
        path: the JSON file.
        encoding: its encoding; by default UTF-8, or what a byte-order mark says.

    Raises:
        InvalidInputError: the file cannot be read or decoded, is not JSON of
            that shape, or exceeds a size limit; every problem is listed.
    """
    source = file_name(path)
    data = read_json(path, encoding=encoding)
    if not isinstance(data, dict):
        raise InvalidInputError(f"{source}: expected an object mapping groups to lists")
    problems: list[str] = []
    for group, keys in data.items():
        if not isinstance(keys, list):
            problems.append(f"{group!r}: expected a list of keys")
            continue
        problems.extend(
            f"{group!r}[{i}]: {_json_key_problem(key)}"
            for i, key in enumerate(keys)
            if _json_key_problem(key)
        )
        if len(set(map(str, keys))) != len(keys):
            problems.append(f"{group!r}: duplicate keys")
    if problems:
        raise _fail(source, problems)
    try:
        return normalise_desired(data)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{source}: {exc}") from None


def _json_key_problem(key: object) -> str | None:
    if isinstance(key, bool) or not isinstance(key, str | int):
        return f"expected a string key, not {type(key).__name__}"
    return _cell_problem("key", str(key).strip()) if isinstance(key, str) else None


async def desired_from_client(
    source: SyncClient,
    groups: Iterable[str] | Mapping[str, str] | None = None,
    *,
    key_map: KeyMap | Literal["email"] | None = None,
    by: Literal["name", "id"] = "name",
) -> Desired:
    """Read another Client's memberships as a desired state (mirroring backends).

    Args:
        source: the Client to read from.
        groups: the source groups (names, or ids with ``by="id"``); a mapping
            renames them (source -> target name); ``None`` is every group.
        key_map: turns source keys into target keys: a mapping, a callable
            (returning ``None`` drops that member), or ``"email"`` to use each
            member's e-mail. ``None`` keeps keys as they are.
        by: how ``groups`` names source groups, and how the result names them.

    Returns:
        Target group name -> target member keys.

    Raises:
        InvalidInputError: a requested group does not exist, or some keys have
            no translation (all are listed).
        AsyncGroupsError: a listing failed (a partial listing is never used).
    """
    if not hasattr(source, "groups") or not hasattr(source, "members"):
        raise InvalidInputError(
            f"source must be a Client to read from, not {type(source).__name__}"
        )
    if isinstance(groups, str | bytes):
        raise InvalidInputError(
            "groups must be a collection of group names or ids, not a single "
            "string (wrap one group in a list)"
        )
    if groups is not None and not isinstance(groups, Iterable | Mapping):
        raise InvalidInputError(
            f"groups must be a collection of group names or ids, "
            f"not {type(groups).__name__}"
        )
    if key_map != "email":
        check_key_map(key_map)
    check_choice(by, "by", ("name", "id"))
    wanted: dict[str, str] | None
    if groups is None:
        wanted = None
    elif isinstance(groups, Mapping):
        wanted = {str(k): str(v) for k, v in groups.items()}
    else:
        wanted = {str(g): str(g) for g in groups}
    chosen: dict[str, str] = {}
    async for group in source.groups.list():
        label = group.name if by == "name" else group.id
        if wanted is None or label in wanted:
            target = label if wanted is None else wanted[label]
            if target in chosen:
                raise InvalidInputError(
                    f"group {label!r} is ambiguous: several source groups map to it"
                )
            chosen[target] = group.id
    absent = [g for g in wanted or {} if (wanted or {})[g] not in chosen]
    if absent:
        raise InvalidInputError(f"no source group named {', '.join(map(repr, absent))}")
    desired: Desired = {}
    unmapped: list[str] = []
    for target, gid in chosen.items():
        keys: set[str] = set()
        async for member in source.members.list(gid):
            mapped = _translate(member, key_map, unmapped)
            if mapped is not None:
                keys.add(mapped)
        desired[target] = frozenset(keys)
    if unmapped:
        raise _fail("key_map", [f"no target key for {k!r}" for k in unmapped])
    return desired


def _translate(
    member: Member, key_map: KeyMap | Literal["email"] | None, unmapped: list[str]
) -> str | None:
    if key_map is None:
        return member.key
    if key_map == "email":
        if member.email:
            return member.email
        unmapped.append(member.key)
        return None
    if isinstance(key_map, Mapping):
        if member.key in key_map:
            return key_map[member.key]
        unmapped.append(member.key)
        return None
    if callable(key_map):
        return map_key(member.key, key_map)
    raise InvalidInputError("key_map must be a mapping, a callable or 'email'")
