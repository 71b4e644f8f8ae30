"""Docstrings are Markdown: no reST role reaches the API reference as raw text.

mkdocstrings renders the Google-style docstrings as Markdown, where a reST role such
as ``:class:`Client``` is printed as it is. Docstrings name things in backticks, or
link them with a cross-reference: ``[`Client`][asyncgroups.Client]``.
"""

import ast
import html
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("asyncgroups", "asyncgroups_scim")
_ROLES = "class|func|meth|attr|exc|data|mod|obj|const"
#: A role in source text: ``:class:`` followed by its backticked target.
_SOURCE_ROLE = re.compile(rf":(?:{_ROLES}):`")
#: A role as the site shows it: the backticks became <code> (or stayed, in a block).
_HTML_ROLE = re.compile(rf":(?:{_ROLES}):(?:<code|`|&#96;)")
_TAG = re.compile(r"<[^>]+>")
_CUT_TAG = re.compile(r"^[^<]*>|<[^>]*$")


def doc_lines(source: str) -> set[int]:
    """Line numbers of docstrings (any string statement) and ``#:`` doc comments."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.string.startswith("#:"):
            lines.add(token.start[0])
    return lines


def source_roles(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every docstring or doc-comment line that holds a role."""
    text = source.splitlines()
    return [
        (number, text[number - 1].strip())
        for number in sorted(doc_lines(source))
        if _SOURCE_ROLE.search(text[number - 1])
    ]


def html_roles(page: Path, site: Path) -> list[str]:
    """``page: snippet`` of every reST role shown on a built page."""
    markup = page.read_text(encoding="utf-8")
    found = []
    for match in _HTML_ROLE.finditer(markup):
        around = markup[max(0, match.start() - 120) : match.end() + 120]
        around = _CUT_TAG.sub("", around)  # a tag cut in two at either end
        snippet = " ".join(html.unescape(_TAG.sub("", around)).split())
        found.append(f"{page.relative_to(site)}: ...{snippet}...")
    return found


def test_the_role_patterns_find_roles() -> None:
    """The patterns match what a role looks like, in source and rendered."""
    assert _SOURCE_ROLE.search("    See :class:`~asyncgroups.Client`.")
    assert _SOURCE_ROLE.search("(see :meth:`flush`)")
    assert not _SOURCE_ROLE.search("See [`Client`][asyncgroups.Client].")
    assert _HTML_ROLE.search("<p>See :class:<code>Client</code>.</p>")
    assert not _HTML_ROLE.search("<p>See <code>Client</code>: class.</p>")


def test_role_finder_reads_docstrings_and_doc_comments() -> None:
    """Docstrings and ``#:`` comments are searched; code and other comments not."""
    source = (
        '"""Module :class:`A`."""\n'
        "#: The :data:`B` constant.\n"
        "B = 1\n"
        "# a plain comment :class:`C`\n"
        "x = ':class:`D`'\n"
        "def f() -> None:\n"
        '    """One.\n\n    Two :meth:`E`.\n    """\n'
    )
    assert source_roles(source) == [
        (1, '"""Module :class:`A`."""'),
        (2, "#: The :data:`B` constant."),
        (9, "Two :meth:`E`."),
    ]


def test_no_rest_roles_in_docstrings() -> None:
    """Fast: every docstring of the packages, without building the site."""
    files = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(files) > 50
    found = [
        f"{path.relative_to(ROOT)}:{number}: {text}"
        for path in files
        for number, text in source_roles(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "reST roles in docstrings (use Markdown):\n" + "\n".join(found)


def test_no_rest_roles_in_the_built_site(built_site: Path) -> None:
    """Every page of the built site, the API reference included."""
    pages = sorted(built_site.rglob("*.html"))
    assert any(p.parts[-3:-1] == ("reference", "client") for p in pages)
    found = [hit for page in pages for hit in html_roles(page, built_site)]
    assert found == [], "reST roles shown on the site:\n" + "\n".join(found)
