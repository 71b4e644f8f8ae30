"""A durable record of an apply, so an interrupted one resumes where it stopped.

``apply(plan, journal=store)`` records each write's *intent* before the request is
sent and its *outcome* after, through a [`JournalStore`][asyncgroups.sync.JournalStore].
A store is bound to one plan by `plan_fingerprint`; opening it for another plan is
refused. Two stores ship: [`SQLiteJournal`][asyncgroups.sync.SQLiteJournal] (a local
file, the standard library's sqlite3; the CLI's default) and
[`RedisJournal`][asyncgroups.sync.RedisJournal] (the ``redis`` extra, for runs that move
between machines). Writes are synchronous: an intent is durable before its request
leaves. This module sends no request.
"""

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from attrs import frozen

from asyncgroups.errors import ConfigurationError, SyncAbortedError
from asyncgroups.sync.syncplan import SyncPlan

__all__ = [
    "Entry",
    "JournalStore",
    "Kind",
    "RedisJournal",
    "SQLiteJournal",
    "plan_fingerprint",
]

#: What an entry records: a write about to be sent, or how it ended; ``checked``
#: records that the drift check passed (a resumed apply does not repeat it).
Kind = Literal["intent", "applied", "failed", "unknown", "created", "checked"]


@frozen
class Entry:
    """One journal record.

    Attributes:
        kind: intent, applied, failed, unknown, created or checked.
        phase: ``"create"``, ``"add"`` or ``"remove"`` (``""`` for checked).
        groups: group ids the request served (for a creation: the group's key).
        keys: member keys the request carried (for ``created``: the new id).
        reason: why it failed, or its answer was lost.
    """

    kind: Kind
    phase: str = ""
    groups: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    reason: str = ""

    def to_json(self) -> str:
        """A compact JSON line."""
        return json.dumps(
            [self.kind, self.phase, list(self.groups), list(self.keys), self.reason],
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> "Entry":
        """Read a line written by `to_json`."""
        kind, phase, groups, keys, reason = json.loads(text)
        return cls(kind, phase, tuple(groups), tuple(keys), reason)


def plan_fingerprint(plan: SyncPlan) -> str:
    """A digest of everything in ``plan`` that decides what an apply writes."""
    return hashlib.sha256(plan.to_json().encode("utf-8", "surrogatepass")).hexdigest()


class JournalStore(Protocol):
    """Where an apply's journal lives. Every method is synchronous and durable."""

    def open(self, fingerprint: str, plan: str = "") -> list[Entry]:
        """Bind to the plan ``fingerprint``; the entries of an earlier run, if any.

        ``plan`` (the plan's JSON) is kept with a new journal, for
        [`read_plan`][asyncgroups.sync.JournalStore.read_plan].

        Raises:
            SyncAbortedError: the journal belongs to another plan.
        """
        ...

    def read_plan(self) -> str | None:
        """The plan JSON kept by the first `open`; ``None`` if none was."""
        ...

    def append(self, entries: Sequence[Entry]) -> None:
        """Record ``entries``, durably, before returning."""
        ...

    def close(self) -> None:
        """Release the store (the journal stays)."""
        ...


def _mismatch(where: str) -> SyncAbortedError:
    return SyncAbortedError(
        f"the journal {where} records an apply of another plan; resume it with "
        "that plan, or start a new journal"
    )


class SQLiteJournal:
    """A journal in a local SQLite file (created if missing).

    Args:
        path: the file.
    """

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._db: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SQLiteJournal({str(self._path)!r})"

    def open(self, fingerprint: str, plan: str = "") -> list[Entry]:
        """Bind to ``fingerprint``; the entries recorded so far."""
        try:
            db = sqlite3.connect(self._path, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigurationError(
                f"cannot open the journal {self._path}: {exc}"
            ) from None
        try:
            bound, lines = _bind(db, fingerprint, plan)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise ConfigurationError(f"{self._path} is not a journal: {exc}") from None
        if bound != fingerprint:
            db.close()
            raise _mismatch(str(self._path))
        self._db = db
        return [Entry.from_json(line) for line in lines]

    def read_plan(self) -> str | None:
        """The plan JSON kept in the file, if it holds one."""
        if not self._path.is_file():
            return None
        db = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT plan FROM plan").fetchone()
        except sqlite3.DatabaseError:
            return None
        finally:
            db.close()
        return str(row[0]) if row and row[0] else None

    def append(self, entries: Sequence[Entry]) -> None:
        """Record ``entries`` in one transaction."""
        if self._db is None:
            raise ConfigurationError("the journal is not open")
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany(
                "INSERT INTO entries (line) VALUES (?)",
                [(e.to_json(),) for e in entries],
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close the file."""
        if self._db is not None:
            self._db.close()
            self._db = None


def _bind(db: sqlite3.Connection, fingerprint: str, plan: str) -> tuple[str, list[str]]:
    """Create the tables if new; the bound fingerprint and the entries so far."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS plan (fingerprint TEXT NOT NULL, plan TEXT)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS entries "
        "(seq INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL)"
    )
    row = db.execute("SELECT fingerprint FROM plan").fetchone()
    if row is None:
        db.execute("INSERT INTO plan VALUES (?, ?)", (fingerprint, plan))
        return fingerprint, []
    lines = db.execute("SELECT line FROM entries ORDER BY seq").fetchall()
    return str(row[0]), [str(line) for (line,) in lines]


class RedisJournal:
    """A journal in Redis (the ``redis`` extra): a list of entries under ``name``.

    Args:
        url: the server, e.g. ``redis://host:6379/0``.
        name: the journal's key prefix (one per sync job).
    """

    def __init__(self, url: str, name: str) -> None:
        if not name:
            raise ConfigurationError("a Redis journal needs a name")
        self._url = url
        self._name = name
        self._redis: Any = None

    def __repr__(self) -> str:
        return f"RedisJournal(name={self._name!r})"

    def open(self, fingerprint: str, plan: str = "") -> list[Entry]:
        """Bind to ``fingerprint``; the entries recorded so far."""
        client = self._connect()
        bound = f"{self._name}:plan"
        client.msetnx({bound: fingerprint, f"{self._name}:plan-json": plan})
        found = client.get(bound)
        text = found.decode() if isinstance(found, bytes) else found
        if text != fingerprint:
            client.close()
            raise _mismatch(repr(self._name))
        self._redis = client
        return [Entry.from_json(line) for line in client.lrange(self._entries, 0, -1)]

    def read_plan(self) -> str | None:
        """The plan JSON kept under the journal's name, if any."""
        client = self._connect()
        try:
            found = client.get(f"{self._name}:plan-json")
        finally:
            client.close()
        if found is None:
            return None
        return found.decode() if isinstance(found, bytes) else str(found)

    def _connect(self) -> Any:
        try:
            import redis
        except ImportError:  # pragma: no cover - depends on the install
            raise ConfigurationError(
                "RedisJournal needs the redis extra: pip install 'asyncgroups[redis]'"
            ) from None
        return redis.Redis.from_url(self._url)

    @property
    def _entries(self) -> str:
        return f"{self._name}:entries"

    def append(self, entries: Sequence[Entry]) -> None:
        """Record ``entries`` (one RPUSH)."""
        if self._redis is None:
            raise ConfigurationError("the journal is not open")
        self._redis.rpush(self._entries, *(e.to_json() for e in entries))

    def close(self) -> None:
        """Close the connection."""
        if self._redis is not None:
            self._redis.close()
            self._redis = None
