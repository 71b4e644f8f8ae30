"""The home page's code blocks and diagram fit a 1280 px wide window, unscrolled.

The budget is derived from mkdocs-material's stylesheet (9.x) at a 1280 px wide
viewport:

- the root font size is 125 % (20 px) below 1600 px;
- the page grid is at most 61rem (1220 px) wide;
- from 1220 px on both sidebars show (navigation and table of contents), 12.1rem
  (242 px) each;
- the content column has a 1.2rem (24 px) margin on each side;
- code is 0.85em of the 0.8rem text (13.6 px) and a code block has 1.1765em (16 px)
  of padding on each side;
- a monospace character is 0.6em wide (Roboto Mono, and the fallbacks SFMono,
  Consolas, Menlo, DejaVu Sans Mono).

So a line of (1220 - 2*242 - 2*24 - 2*16) / (0.6 * 13.6) = 656 / 8.16 = 80.4, that is
80, characters fits; a longer one is cut off behind a horizontal scroll bar.
"""

import re
import unicodedata
from pathlib import Path

import pytest

HOME = Path(__file__).resolve().parents[2] / "docs" / "index.md"

REM = 20.0  # px: html { font-size: 125% } of the browser's 16 px
GRID = min(1280.0, 61 * REM)
SIDEBARS = 2 * 12.1 * REM
MARGINS = 2 * 1.2 * REM
CODE_FONT = 0.85 * 0.8 * REM
PADDING = 2 * 1.1764705882 * CODE_FONT
CHAR = 0.6 * CODE_FONT
BUDGET = int((GRID - SIDEBARS - MARGINS - PADDING) // CHAR)

_FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1", re.MULTILINE | re.DOTALL)


def width(line: str) -> int:
    """Monospace cells: wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_the_budget_is_80_characters() -> None:
    assert BUDGET == 80


@pytest.mark.parametrize("line", ["x" * 80, "é" * 80, "日" * 40])
def test_width_counts_cells(line: str) -> None:
    assert width(line) == 80
    assert width(line + "x") == 81


def test_every_code_line_of_the_home_page_fits() -> None:
    blocks = [body for _, body in _FENCE.findall(HOME.read_text(encoding="utf-8"))]
    assert len(blocks) >= 2  # the diagram and the install commands
    assert any("Client" in b and "Transport" in b for b in blocks)  # the diagram
    too_wide = [
        f"{width(line)} > {BUDGET}: {line}"
        for block in blocks
        for line in block.splitlines()
        if width(line) > BUDGET
    ]
    assert too_wide == []
