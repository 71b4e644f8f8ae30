"""What a sync did: `SyncReport`, its per-group parts and progress events.

Pure data: frozen records, a readable summary table and JSON. Nothing here sends
requests; ``apply`` builds these from the outcomes it collected. Every operation
ends in exactly one of *applied*, *failed*, *skipped* or *unknown* (sent, but the
answer was lost, or the apply was cancelled while it was in flight).
"""

import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal

from attrs import field, frozen

from asyncgroups.errors import AsyncGroupsError

__all__ = ["GroupDrift", "GroupReport", "ProgressEvent", "SyncReport", "partial_report"]

#: The attribute of a ``CancelledError`` that carries a cancelled apply's report.
_REPORT_ATTRIBUTE = "sync_report"

Phase = Literal["create", "add", "remove"]


def _keys(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(value))


#: The one empty mapping reports share where nothing failed, was skipped or
#: is unknown (most groups): none is made per group and field.
_NONE: Mapping[str, Any] = MappingProxyType({})


def _frozen_map(value: Mapping[str, Any]) -> Mapping[str, Any]:
    if not value:
        return _NONE
    return MappingProxyType(dict(sorted(value.items())))


@frozen
class ProgressEvent:
    """Reported to ``on_progress`` each time a unit of work completes.

    Attributes:
        phase: ``"create"``, ``"add"`` or ``"remove"``.
        groups: the group keys the unit touched.
        succeeded: operations of this unit that succeeded.
        failed: operations of this unit that failed.
        unknown: operations of this unit whose outcome is unknown (the answer
            was lost); verification settles them.
        done: operations completed so far, this unit included.
        total: operations the sync will attempt.
        applied: member keys this unit added or removed, by group key. If the
            apply is cancelled, the events received so far say exactly what was
            applied (a unit still in flight at that moment may or may not have been).
    """

    phase: Phase
    groups: tuple[str, ...]
    succeeded: int
    failed: int
    done: int
    total: int
    applied: Mapping[str, tuple[str, ...]] = field(factory=dict)
    unknown: int = 0


@frozen
class GroupDrift:
    """Where a group differs, after applying, from what the plan intended.

    Attributes:
        missing: keys that should be members and are not.
        unexpected: keys that should have been removed and are still members.
        incomplete: the verifying listing failed part-way (``error`` says why).
        error: why the verifying listing failed.
    """

    missing: tuple[str, ...] = field(default=(), converter=_keys)
    unexpected: tuple[str, ...] = field(default=(), converter=_keys)
    incomplete: bool = False
    error: str | None = None

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.incomplete)


@frozen
class GroupReport:
    """What a sync did to one group.

    Attributes:
        key: the group as the desired state names it.
        group_id: its id (``None`` if it is missing and was not created).
        created: whether the sync created it.
        added: keys added.
        removed: keys removed.
        failed: key -> the error that kept the change from applying.
        skipped: key -> why the change was not attempted.
        unknown: key -> why its outcome is unknown: the change was sent but the
            answer was lost (a dropped connection, a timeout, a gateway's 502/503/
            504), or the apply was cancelled while it was in flight, and no
            verifying re-read settled it. A group key here means its creation.
        drift: what verification found, if it ran and found something.
    """

    key: str
    group_id: str | None
    created: bool = False
    added: tuple[str, ...] = field(default=(), converter=_keys)
    removed: tuple[str, ...] = field(default=(), converter=_keys)
    failed: Mapping[str, AsyncGroupsError] = field(factory=dict, converter=_frozen_map)
    skipped: Mapping[str, str] = field(factory=dict, converter=_frozen_map)
    drift: GroupDrift | None = None
    unknown: Mapping[str, str] = field(factory=dict, converter=_frozen_map)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (errors as type and message)."""
        return {
            "key": self.key,
            "group_id": self.group_id,
            "created": self.created,
            "added": list(self.added),
            "removed": list(self.removed),
            "failed": {
                k: {"type": type(e).__name__, "message": str(e)}
                for k, e in self.failed.items()
            },
            "skipped": dict(self.skipped),
            "unknown": dict(self.unknown),
            "drift": None
            if self.drift is None
            else {
                "missing": list(self.drift.missing),
                "unexpected": list(self.drift.unexpected),
                "incomplete": self.drift.incomplete,
                "error": self.drift.error,
            },
        }


def _groups(value: Iterable[GroupReport]) -> tuple[GroupReport, ...]:
    return tuple(value)


@frozen
class SyncReport:
    """The outcome of applying a [`SyncPlan`][asyncgroups.sync.SyncPlan].

    Attributes:
        groups: one [`GroupReport`][asyncgroups.sync.GroupReport] per planned group.
        backend: the backend's registry name.
        dry_run: nothing was sent; every change is skipped.
        requests: HTTP attempts the sync made (retries included).
        retries: attempts that were retries.
        throttled: 429 answers received.
        seconds: wall-clock duration.
        verified: ``True`` if re-reading matched the plan's intent, ``False`` if it
            found drift, ``None`` if verification did not run.
        drift_reads: requests the drift check took (it lists only the groups the
            plan writes, plus the group listing when the plan creates groups).
        verify_reads: requests the verifying re-read took (only the groups the
            apply wrote or created).
        resumed: whether this report continues an earlier, interrupted apply of
            the same plan (its outcomes are included).
    """

    groups: tuple[GroupReport, ...] = field(factory=tuple, converter=_groups)
    backend: str = ""
    dry_run: bool = False
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    seconds: float = 0.0
    verified: bool | None = None
    drift_reads: int = 0
    verify_reads: int = 0
    resumed: bool = False

    @property
    def created(self) -> int:
        """Groups created."""
        return sum(g.created for g in self.groups)

    @property
    def added(self) -> int:
        """Memberships added."""
        return sum(len(g.added) for g in self.groups)

    @property
    def removed(self) -> int:
        """Memberships removed."""
        return sum(len(g.removed) for g in self.groups)

    @property
    def failed(self) -> int:
        """Changes that failed."""
        return sum(len(g.failed) for g in self.groups)

    @property
    def skipped(self) -> int:
        """Changes not attempted."""
        return sum(len(g.skipped) for g in self.groups)

    @property
    def unknown(self) -> int:
        """Changes sent whose outcome is unknown (see `GroupReport.unknown`)."""
        return sum(len(g.unknown) for g in self.groups)

    @property
    def applied(self) -> int:
        """Operations that succeeded (creations, additions, removals)."""
        return self.created + self.added + self.removed

    @property
    def operations_per_second(self) -> float:
        """Applied operations per second of wall-clock time."""
        return self.applied / self.seconds if self.seconds > 0 else 0.0

    @property
    def drift(self) -> Mapping[str, GroupDrift]:
        """Group key -> what verification found, for groups that drifted."""
        return {g.key: g.drift for g in self.groups if g.drift}

    @property
    def errors(self) -> list[AsyncGroupsError]:
        """The distinct errors behind the failures."""
        seen: dict[int, AsyncGroupsError] = {}
        for g in self.groups:
            for error in g.failed.values():
                seen.setdefault(id(error), error)
        return list(seen.values())

    @property
    def converged(self) -> bool:
        """Whether everything asked for is in place.

        Nothing failed, nothing is unknown, nothing was skipped and verification,
        if it ran, found no drift. A change the backend cannot make (unsupported),
        a key it does not know or a missing group it was not allowed to create is
        skipped, and a sync that skipped anything has not reached the desired
        state. A dry run never converges.
        """
        return not (
            self.dry_run or self.failed or self.unknown or self.skipped or self.drift
        )

    def to_json(self, *, indent: int | None = None) -> str:
        """Serialise the report (errors as type and message)."""
        data = {
            "backend": self.backend,
            "dry_run": self.dry_run,
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "seconds": round(self.seconds, 6),
            "operations_per_second": round(self.operations_per_second, 3),
            "verified": self.verified,
            "drift_reads": self.drift_reads,
            "verify_reads": self.verify_reads,
            "resumed": self.resumed,
            "converged": self.converged,
            "applied": self.applied,
            "failed": self.failed,
            "skipped": self.skipped,
            "unknown": self.unknown,
            "groups": [g.to_dict() for g in self.groups],
        }
        return json.dumps(data, indent=indent, sort_keys=True)

    def __str__(self) -> str:
        header = (
            "group",
            "created",
            "added",
            "removed",
            "failed",
            "unknown",
            "skipped",
            "drift",
        )
        rows = [
            (
                g.key,
                "yes" if g.created else "",
                str(len(g.added)),
                str(len(g.removed)),
                str(len(g.failed)),
                str(len(g.unknown)),
                str(len(g.skipped)),
                "yes" if g.drift else "",
            )
            for g in self.groups
        ]
        totals = (
            "total",
            str(self.created),
            str(self.added),
            str(self.removed),
            str(self.failed),
            str(self.unknown),
            str(self.skipped),
            str(len(self.drift)),
        )
        table = [header, *rows, totals]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        lines = [
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
            for r in table
        ]
        state = (
            "dry run"
            if self.dry_run
            else ("converged" if self.converged else "NOT converged")
        )
        lines.append(
            f"{self.applied} operations in {self.seconds:.2f} s "
            f"({self.operations_per_second:.1f}/s); {self.requests} requests, "
            f"{self.retries} retries, {self.throttled} throttled (429); reads: "
            f"drift check {self.drift_reads}, verification {self.verify_reads}; "
            + ("resumed; " if self.resumed else "")
            + state
        )
        details = [
            f"  {kind} {g.key}: {key}: {why}"
            for g in self.groups
            for kind, outcomes in (("failed", g.failed), ("unknown", g.unknown))
            for key, why in outcomes.items()
        ]
        lines.extend(details[:20])
        if len(details) > 20:
            lines.append(f"  ... and {len(details) - 20} more failed or unknown")
        return "\n".join(lines)


def partial_report(cancelled: BaseException) -> SyncReport | None:
    """The report a cancelled ``apply`` attached to its ``CancelledError``.

    When ``apply`` is cancelled after it started writing, it records what it knows
    (applied, failed, skipped; every change in flight as *unknown*, every change
    not yet sent as *skipped*) and re-raises the same ``CancelledError`` with the
    report attached and a note. Verification did not run on it.

    Args:
        cancelled: the exception caught around a cancelled ``apply``.

    Returns:
        The partial report, or ``None`` if ``cancelled`` carries none.
    """
    report = getattr(cancelled, _REPORT_ATTRIBUTE, None)
    return report if isinstance(report, SyncReport) else None


def attach_report(cancelled: BaseException, report: SyncReport) -> None:
    """Attach ``report`` to ``cancelled`` for `partial_report` to find."""
    setattr(cancelled, _REPORT_ATTRIBUTE, report)
    cancelled.add_note(
        f"the sync was cancelled: {report.applied} applied, {report.failed} failed, "
        f"{report.unknown} unknown (in flight), {report.skipped} skipped"
    )
