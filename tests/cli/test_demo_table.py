"""The demo's table fits an 80-column terminal whole, its legend in one line."""

import io
from typing import Any

import pytest

from asyncgroups.cli.demo import COLUMNS, LEGEND, show_table
from asyncgroups.cli.output import Output


def results(backends: list[str]) -> list[dict[str, Any]]:
    """Rows as large as a full demo makes them (and then some)."""
    return [
        {
            "backend": name,
            "applied": 160_000,
            "failed": 1_234,
            "requests": 234_567,
            "retries": 12_345,
            "faults": {"429": 8_120, "503": 4_880, "drop": 1_600},
            "seconds": 1234.56,
            "operations_per_second": 12_345.6,
            "replan_operations": 0,
        }
        for name in backends
    ]


@pytest.mark.parametrize(
    "backends",
    [
        ["neuroio", "periscope", "snip"],
        ["neuroio", "periscope", "snip", "graph"],
        ["neuroio", "periscope", "snip", "graph", "okta"],
    ],
    ids=["three", "four", "five"],
)
def test_the_table_fits_80_columns_with_no_cell_cut(
    monkeypatch: pytest.MonkeyPatch, backends: list[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    buffer = io.StringIO()
    show_table(Output(stdout=buffer, fancy=True), results(backends))
    text = buffer.getvalue()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text
    header = next(line for line in lines if "backend" in line)
    assert header.split() == list(COLUMNS)
    for name in backends:
        row = next(line for line in lines if line.split()[:1] == [name])
        assert row.split() == [
            name, "160000", "1234", "234567", "12345", "8120/4880/1600",
            "1234.6", "12346", "0",
        ]  # fmt: skip
    assert LEGEND in lines
    assert len(LEGEND) <= 80


def test_the_legend_names_every_unexplained_column() -> None:
    for column in ("faults", "reqs", "replan"):
        assert column in LEGEND
