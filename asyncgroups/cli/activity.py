"""What the command shows while it waits: requests answered, and retries as warnings.

`Activity` listens to a Client through its public hooks
([`Hooks`][asyncgroups.Hooks]): each answered request moves the progress bar of the
phase under way (listing, planning, re-reading), and each retry — a failed attempt,
or a 429 that holds requests back for its ``Retry-After`` — is a ``WARNING`` line
on stderr, at most one every few seconds with a count of the others, so a storm of
retries is visible without flooding the terminal.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import asyncgroups as ag
from asyncgroups.cli.output import Output, ProgressBar

__all__ = ["Activity"]


class Activity:
    """Progress and retry warnings for the Clients of one command.

    Args:
        out: where to show them.
        every: the least seconds between two warning lines.
        clock: a monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        out: Output,
        *,
        every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._out = out
        self._every = every
        self._clock = clock
        self._last_warning: float | None = None
        self._held_back = 0
        self._bar: ProgressBar | None = None
        self._start = 0
        #: Requests answered so far (every attempt that got an HTTP answer).
        self.responses = 0
        #: Retries so far.
        self.retries = 0

    def hooks(self) -> ag.Hooks:
        """The hooks to give each Client (``Client(..., hooks=activity.hooks())``)."""
        return ag.Hooks(on_response=self._on_response, on_retry=self._on_retry)

    @contextmanager
    def phase(self, label: str) -> Iterator[None]:
        """Count the requests answered while the block runs on a progress bar."""
        with self._out.progress(label, unit="requests") as bar, self.counting(bar):
            yield

    @contextmanager
    def counting(self, bar: ProgressBar) -> Iterator[None]:
        """Count the requests answered while the block runs on ``bar``."""
        self._bar, self._start = bar, self.responses
        try:
            yield
        finally:
            bar.update(self.responses - self._start)
            self._bar = None

    def _on_response(self, event: ag.ResponseEvent) -> None:
        self.responses += 1
        if self._bar is not None:
            self._bar.update(self.responses - self._start)

    def _on_retry(self, event: ag.RetryEvent) -> None:
        self.retries += 1
        now = self._clock()
        if self._last_warning is not None and now - self._last_warning < self._every:
            self._held_back += 1
            return
        self._last_warning = now
        if event.status == 429:
            why = "rate limited (429)"
        elif event.status is not None:
            why = f"answered {event.status}"
        else:
            why = f"failed ({event.error or 'no answer'})"
        more = (
            f"; {self._held_back} more retries since the last warning"
            if self._held_back
            else ""
        )
        self._held_back = 0
        self._out.warning(
            f"{event.method} {event.url} {why} on attempt {event.attempt}; "
            f"retrying in {event.wait:.1f} s{more}"
        )
