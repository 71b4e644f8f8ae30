"""The documentation site builds with ``mkdocs build --strict``, and its code is sound."""

import ast
import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: A block that is not run starts with a comment saying why.
_NOT_RUN = re.compile(r"^# (not run|needs a real account)\b")


def python_blocks(page: str) -> list[str]:
    return _FENCE.findall((DOCS / page).read_text(encoding="utf-8"))


def runnable_blocks(page: str) -> list[str]:
    return [b for b in python_blocks(page) if not _NOT_RUN.match(b)]


def test_mkdocs_build_strict(built_site: Path) -> None:
    """The site builds with --strict (the fixture fails otherwise)."""
    assert (built_site / "index.html").is_file()
    cli = (built_site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "asyncgroups sync" in cli  # generated from the argument parser


def test_every_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages
    assert {p for p in pages if p not in nav} == set()


@pytest.mark.parametrize(
    "page", sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
)
def test_python_blocks_parse_or_say_why_not(page: str) -> None:
    for block in python_blocks(page):
        if _NOT_RUN.match(block):
            continue
        ast.parse(block, filename=page)


def test_quickstart_runs_against_emulators() -> None:
    """Every block of the quickstart runs, in order, in one namespace."""
    blocks = runnable_blocks("quickstart.md")
    assert len(blocks) >= 4
    namespace: dict[str, object] = {"__name__": "quickstart"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, "quickstart.md", "exec"), namespace)  # noqa: S102
    text = out.getvalue()
    assert "True 250 added in 3 requests" in text
    assert "250 members" in text
    assert "no such group: 404" in text
    assert "no-such-pid" in text
    assert "to create" in text


def test_testing_guide_runs_against_emulators() -> None:
    namespace: dict[str, object] = {"__name__": "testing_guide"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in runnable_blocks("testing.md"):
            exec(compile(block, "testing.md", "exec"), namespace)  # noqa: S102
    assert "requests;" in out.getvalue()


def test_graph_page_runs_against_its_emulator() -> None:
    """The Graph page's emulator example runs: one renewal after the expiry."""
    namespace: dict[str, object] = {"__name__": "graph_page"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in runnable_blocks("backends/graph.md"):
            exec(compile(block, "graph.md", "exec"), namespace)  # noqa: S102
    assert "100 members, 2 tokens" in out.getvalue()


def test_okta_page_runs_against_its_emulator() -> None:
    """The Okta page's emulator example runs: paced, no 429, APP_GROUP refused."""
    namespace: dict[str, object] = {"__name__": "okta_page"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in runnable_blocks("backends/okta.md"):
            exec(compile(block, "okta.md", "exec"), namespace)  # noqa: S102
    assert "APP_GROUP refused, 60 members, {} 429s" in out.getvalue()
