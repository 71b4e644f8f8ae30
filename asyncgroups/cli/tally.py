"""A running tally of an apply's progress events, for the report after Ctrl-C.

When a sync is interrupted, ``apply`` never returns its report; what is known is
what its progress events said. `ApplyTally` keeps that: the operations that
succeeded and failed so far and, per group, the member keys added and removed. The
rest of the plan was either not attempted or in flight when the sync stopped (a
request already sent may or may not have been applied): its outcome is unknown.
"""

from collections.abc import Callable
from typing import Any

from asyncgroups.sync.report import ProgressEvent

__all__ = ["ApplyTally"]


class ApplyTally:
    """Counts an apply's outcomes from its `ProgressEvent` stream.

    Args:
        total: the operations the plan holds.
        then: another ``on_progress`` callback to pass each event on to.
    """

    def __init__(
        self, total: int, then: Callable[[ProgressEvent], Any] | None = None
    ) -> None:
        self.total = total
        self.applied = 0
        self.failed = 0
        self.added: dict[str, set[str]] = {}
        self.removed: dict[str, set[str]] = {}
        self.created: set[str] = set()
        self._then = then

    def __call__(self, event: ProgressEvent) -> Any:
        """Record one event (the ``on_progress`` callback)."""
        self.applied += event.succeeded
        self.failed += event.failed
        if event.phase == "create" and event.succeeded:
            self.created.update(event.groups)
        target = self.added if event.phase == "add" else self.removed
        if event.phase != "create":
            for group, keys in event.applied.items():
                target.setdefault(group, set()).update(keys)
        return None if self._then is None else self._then(event)

    @property
    def unknown(self) -> int:
        """Operations not reported as applied or failed: not attempted, or in flight."""
        return max(0, self.total - self.applied - self.failed)

    def summary(self) -> str:
        """One line: what was applied, failed and not known."""
        return (
            f"interrupted: {self.applied} of {self.total} operations applied, "
            f"{self.failed} failed, {self.unknown} not attempted or unknown "
            "(a request in flight may or may not have been applied)"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the tally."""
        return {
            "total": self.total,
            "applied": self.applied,
            "failed": self.failed,
            "unknown": self.unknown,
            "created": sorted(self.created),
            "added": {g: sorted(k) for g, k in sorted(self.added.items())},
            "removed": {g: sorted(k) for g, k in sorted(self.removed.items())},
        }
