"""What the command line shows: tables, progress, JSON, messages.

This is the only place that decides how output looks. On a terminal it draws with
rich (the ``cli`` extra); anywhere else it writes plain tab-separated lines, so
output piped to a file or another program stays simple. ``--json`` prints one JSON
document on stdout and nothing else there: an object whose ``version`` field is
`JSON_VERSION` (the version of the document's shape), errors included. Progress
and warnings always go to stderr. A reader that goes away (``| head``) ends the
output quietly. Nothing here ever receives a credential: callers hand over
already-safe text.
"""

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "JSON_VERSION",
    "MissingExtraError",
    "Output",
    "ProgressBar",
    "ProgressBars",
    "error_document",
    "plural",
    "require_rich",
]

#: The ``version`` of every JSON document the command prints (bumped when a field
#: changes meaning or goes away; new fields do not change it).
JSON_VERSION = 1

INSTALL_HINT = (
    "the asyncgroups command needs the 'cli' extra: pip install 'asyncgroups[cli]'"
)


class MissingExtraError(RuntimeError):
    """rich, from the ``cli`` extra, is not installed."""


def require_rich() -> None:
    """Check that rich can be imported (without it, output is plain everywhere).

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
        self,
        stream: IO[str],
        label: str,
        total: int | None,
        every: float,
        unit: str = "",
    ) -> None:
        self._stream = stream
        self._label = label
        self._total = total
        self._unit = f" {unit}" if unit else ""
        self._done = 0
        self._every = every
        # The first line waits ``every`` seconds: quick work prints nothing.
        self._last = time.monotonic()
        self._written = False

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
        if self._written:
            self._write()

    def _write(self) -> None:
        self._written = True
        if self._total:
            pct = 100.0 * self._done / self._total
            text = f"{self._label}: {self._done}/{self._total}{self._unit} ({pct:.0f}%)"
        else:
            text = f"{self._label}: {self._done}{self._unit}"
        _quiet_print(text, self._stream)


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
        # Without rich (the ``cli`` extra), a terminal gets the plain output too.
        drawn = fancy if fancy is not None else _has_rich()
        self._fancy_out = _isatty(self.stdout) and drawn if fancy is None else fancy
        self._fancy_err = _isatty(self.stderr) and drawn if fancy is None else fancy
        self._console: Console | None = None
        self._err_console: Console | None = None
        #: Whether a JSON document was printed (a command prints one at most).
        self.emitted = False

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
            _quiet_print(text, self.stdout)

    def write(self, text: str) -> None:
        """Write ``text`` on stdout as it is (data such as an export)."""
        _quiet_print(text, self.stdout, end="")

    def info(self, text: str) -> None:
        """Write a note on stderr (kept out of results and JSON)."""
        if self._fancy_err:
            self._err().print(text, markup=False, style="dim")
        else:
            _quiet_print(text, self.stderr)

    def warning(self, text: str) -> None:
        """Write a ``WARNING`` line on stderr (also in JSON mode)."""
        if self._fancy_err:
            self._err().print(f"WARNING: {text}", markup=False, style="yellow")
        else:
            _quiet_print(f"WARNING: {text}", self.stderr)

    def error(self, text: str) -> None:
        """Write an error message on stderr."""
        if self._fancy_err:
            self._err().print(f"error: {text}", markup=False, style="bold red")
        else:
            _quiet_print(f"error: {text}", self.stderr)

    def fail(
        self,
        error: BaseException | str,
        exit_code: int,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Report an error: one JSON document on stdout, or a message on stderr.

        Args:
            error: the exception (its notes are shown too) or a message.
            exit_code: the exit code the command ends with.
            extra: more fields for the JSON document (e.g. a partial report).
        """
        document = error_document(error, exit_code)
        if self.json_mode:
            if not self.emitted:
                self.json({**document, **(extra or {})})
            return
        self.error(document["error"]["message"])
        for note in document["error"]["notes"]:
            self.info(f"  {note}")

    def json(self, document: Mapping[str, Any]) -> None:
        """Print one JSON document on stdout, with the ``version`` field."""
        self.emitted = True
        _quiet_print(
            json.dumps(
                {"version": JSON_VERSION, **document},
                indent=2,
                sort_keys=True,
                default=str,
            ),
            self.stdout,
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

            # One space between columns and none at the edges: narrow tables keep
            # every cell whole on an 80-column terminal; a wider cell folds
            # onto more lines, never cut short.
            table = Table(title=title, box=SIMPLE_HEAD, padding=(0, 0))
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(*("" if v is None else str(v) for v in row))
            self._out().print(table)
            return
        lines = [f"# {title}"] if title else []
        lines.append("\t".join(columns))
        lines.extend(
            "\t".join("" if v is None else str(v) for v in row) for row in rows
        )
        for text in lines:
            if not _quiet_print(text, self.stdout):
                return

    @contextmanager
    def progress(
        self,
        label: str,
        total: int | None = None,
        *,
        every: float = 2.0,
        unit: str = "",
    ) -> Iterator[ProgressBar]:
        """Show one progress bar on stderr while the block runs.

        Args:
            label: what is being done.
            total: units of work, if known (it can be set later with ``update``).
            every: on a non-terminal, the least seconds between two progress lines
                (and before the first: work that ends sooner prints nothing).
            unit: what is counted ("requests"), shown after the count.
        """
        with self.progress_bars(every=every) as bars:
            yield bars.add(label, total, unit=unit)

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
    """A set of progress bars shown together (see `Output.progress_bars`)."""

    def __init__(self, stream: IO[str], progress: Any, every: float) -> None:
        self._stream = stream
        self._progress = progress
        self._every = every
        self._plain: list[_PlainProgress] = []

    @property
    def fancy(self) -> bool:
        """Whether the bars are drawn by rich."""
        return self._progress is not None

    def add(
        self, label: str, total: int | None = None, *, unit: str = ""
    ) -> ProgressBar:
        """Add a bar for ``label`` with ``total`` units of work (if known)."""
        if self._progress is None:
            bar = _PlainProgress(self._stream, label, total, self._every, unit)
            self._plain.append(bar)
            return bar
        text = f"{label} ({unit})" if unit else label
        return _RichProgress(self._progress, self._progress.add_task(text, total=total))

    def finish(self) -> None:
        """Write the final line of every plain bar."""
        for bar in self._plain:
            bar.finish()


def plural(count: int, word: str, words: str | None = None) -> str:
    """``"1 group"``, ``"2 groups"``: a count and the word that agrees with it."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def error_document(error: BaseException | str, exit_code: int) -> dict[str, Any]:
    """The JSON shape of an error: ``{"error": {type, message, notes, exit_code}}``.

    ``message`` is the first line of the error's text (the rest, and any notes such
    as "gave up after 6 attempts", are ``notes``).
    """
    if isinstance(error, BaseException):
        kind = type(error).__name__
        text = str(error) or kind
        notes = [str(n) for n in getattr(error, "__notes__", ())]
    else:
        kind, text, notes = "Error", error, []
    first, *rest = text.splitlines() or [kind]
    return {
        "error": {
            "type": kind,
            "message": first,
            "notes": [line.strip() for line in rest if line.strip()] + notes,
            "exit_code": exit_code,
        }
    }


def _quiet_print(text: str, stream: IO[str], *, end: str = "\n") -> bool:
    """Print ``text``; a reader that went away ends the output quietly.

    Returns:
        ``False`` once the stream is closed (nothing more is written to it).
    """
    if getattr(stream, "_asyncgroups_closed", False):
        return False
    try:
        print(text, file=stream, end=end)
    except BrokenPipeError:
        _silence(stream)
        return False
    return True


def _silence(stream: IO[str]) -> None:
    """Point a stream whose reader left at /dev/null, so exit flushes stay quiet."""
    with contextlib.suppress(AttributeError):  # a stream without a __dict__
        stream._asyncgroups_closed = True  # type: ignore[attr-defined]
    with contextlib.suppress(OSError, ValueError, AttributeError):  # not a file
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _has_rich() -> bool:
    try:
        require_rich()
    except MissingExtraError:
        return False
    return True


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
