"""What the command line shows: tables, progress, JSON, messages.

This is the only place that decides how output looks. On a terminal it draws with
rich (the ``cli`` extra); anywhere else it writes plain tab-separated lines, so
output piped to a file or another program stays simple. ``--json`` prints one JSON
document on stdout and nothing else there. Progress always goes to stderr. Nothing
here ever receives a credential: callers hand over already-safe text.
"""

import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["MissingExtraError", "Output", "ProgressBar", "ProgressBars", "require_rich"]

INSTALL_HINT = (
    "the asyncgroups command needs the 'cli' extra: pip install 'asyncgroups[cli]'"
)


class MissingExtraError(RuntimeError):
    """rich, from the ``cli`` extra, is not installed."""


def require_rich() -> None:
    """Check that rich can be imported.

    Raises:
        MissingExtraError: it cannot; the message says how to install it.
    """
    try:
        import rich  # noqa: F401
    except ImportError:
        raise MissingExtraError(INSTALL_HINT) from None


class ProgressBar(Protocol):
    """A progress display: call ``advance`` as work completes."""

    def advance(self, done: int = 1) -> None:
        """Count ``done`` more units of work as finished."""
        ...

    def update(self, completed: int, total: int | None = None) -> None:
        """Set the finished units (and the total, when it becomes known)."""
        ...


class _PlainProgress:
    """Progress as occasional lines on stderr (when stderr is not a terminal)."""

    def __init__(
        self, stream: IO[str], label: str, total: int | None, every: float
    ) -> None:
        self._stream = stream
        self._label = label
        self._total = total
        self._done = 0
        self._every = every
        self._last = 0.0

    def advance(self, done: int = 1) -> None:
        self.update(self._done + done)

    def update(self, completed: int, total: int | None = None) -> None:
        if total is not None:
            self._total = total
        self._done = completed
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._write()

    def finish(self) -> None:
        self._write()

    def _write(self) -> None:
        if self._total:
            pct = 100.0 * self._done / self._total
            text = f"{self._label}: {self._done}/{self._total} ({pct:.0f}%)"
        else:
            text = f"{self._label}: {self._done}"
        print(text, file=self._stream, flush=True)


class _RichProgress:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, done: int = 1) -> None:
        self._progress.advance(self._task, done)

    def update(self, completed: int, total: int | None = None) -> None:
        if total is not None:
            self._progress.update(self._task, total=total)
        self._progress.update(self._task, completed=completed)


class Output:
    """Where the CLI writes.

    Args:
        json_mode: print one JSON document on stdout instead of tables and lines.
        stdout: the stream for results (``sys.stdout`` by default).
        stderr: the stream for progress and errors (``sys.stderr`` by default).
        fancy: draw with rich; by default, when the stream is a terminal.
    """

    def __init__(
        self,
        *,
        json_mode: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        fancy: bool | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self._fancy_out = _isatty(self.stdout) if fancy is None else fancy
        self._fancy_err = _isatty(self.stderr) if fancy is None else fancy
        self._console: Console | None = None
        self._err_console: Console | None = None

    def _out(self) -> "Console":
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stdout, highlight=False)
        return self._console

    def _err(self) -> "Console":
        if self._err_console is None:
            from rich.console import Console

            self._err_console = Console(file=self.stderr, highlight=False)
        return self._err_console

    def line(self, text: str = "") -> None:
        """Write a line of text on stdout (suppressed in JSON mode)."""
        if self.json_mode:
            return
        if self._fancy_out:
            self._out().print(text, markup=False)
        else:
            print(text, file=self.stdout)

    def info(self, text: str) -> None:
        """Write a note on stderr (kept out of results and JSON)."""
        if self._fancy_err:
            self._err().print(text, markup=False, style="dim")
        else:
            print(text, file=self.stderr)

    def error(self, text: str) -> None:
        """Write an error message on stderr."""
        if self._fancy_err:
            self._err().print(f"error: {text}", markup=False, style="bold red")
        else:
            print(f"error: {text}", file=self.stderr)

    def json(self, document: Any) -> None:
        """Print one JSON document on stdout."""
        print(
            json.dumps(document, indent=2, sort_keys=True, default=str),
            file=self.stdout,
        )

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
    ) -> None:
        """Write a table: a rich table on a terminal, tab-separated lines elsewhere."""
        if self.json_mode:
            return
        if self._fancy_out:
            from rich.box import SIMPLE_HEAD
            from rich.table import Table

            table = Table(title=title, box=SIMPLE_HEAD)
            for column in columns:
                table.add_column(column)
            for row in rows:
                table.add_row(*("" if v is None else str(v) for v in row))
            self._out().print(table)
            return
        if title:
            print(f"# {title}", file=self.stdout)
        print("\t".join(columns), file=self.stdout)
        for row in rows:
            print("\t".join("" if v is None else str(v) for v in row), file=self.stdout)

    @contextmanager
    def progress(
        self, label: str, total: int | None = None, *, every: float = 2.0
    ) -> Iterator[ProgressBar]:
        """Show one progress bar on stderr while the block runs.

        Args:
            label: what is being done.
            total: units of work, if known (it can be set later with ``update``).
            every: on a non-terminal, the least seconds between two progress lines.
        """
        with self.progress_bars(every=every) as bars:
            yield bars.add(label, total)

    @contextmanager
    def progress_bars(self, *, every: float = 2.0) -> Iterator["ProgressBars"]:
        """Show several progress bars on stderr while the block runs.

        Args:
            every: on a non-terminal, the least seconds between two progress lines
                of one bar.
        """
        if not self._fancy_err:
            bars = ProgressBars(self.stderr, None, every)
            try:
                yield bars
            finally:
                bars.finish()
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=self._err(),
            transient=False,
        ) as progress:
            yield ProgressBars(self.stderr, progress, every)


class ProgressBars:
    """A set of progress bars shown together (see :meth:`Output.progress_bars`)."""

    def __init__(self, stream: IO[str], progress: Any, every: float) -> None:
        self._stream = stream
        self._progress = progress
        self._every = every
        self._plain: list[_PlainProgress] = []

    def add(self, label: str, total: int | None = None) -> ProgressBar:
        """Add a bar for ``label`` with ``total`` units of work (if known)."""
        if self._progress is None:
            bar = _PlainProgress(self._stream, label, total, self._every)
            self._plain.append(bar)
            return bar
        return _RichProgress(
            self._progress, self._progress.add_task(label, total=total)
        )

    def finish(self) -> None:
        """Write the final line of every plain bar."""
        for bar in self._plain:
            bar.finish()


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
