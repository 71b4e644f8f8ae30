"""mkdocs hook: pages generated from the code at build time.

- ``<!-- asyncgroups:cli -->`` becomes the help of every ``asyncgroups`` command,
  taken from the argument parser, so the CLI reference cannot drift from the CLI.
- ``<!-- asyncgroups:include PATH -->`` becomes the Markdown file PATH (relative to
  the repository root), with its relative links turned into plain text (they point
  into the repository, not into this site), or a note when the file does not exist.
"""

import argparse
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_INCLUDE = re.compile(r"<!-- asyncgroups:include (\S+) -->")
_RELATIVE_LINK = re.compile(r"(!?)\[([^\]]*)\]\((?!https?://|#|mailto:)([^)\s]+)\)")


def _width(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=88, max_help_position=32)


def _walk(parser: argparse.ArgumentParser, name: str) -> list[tuple[str, str]]:
    parser.formatter_class = _width
    pages = [(name, parser.format_help())]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                pages.extend(_walk(sub, f"{name} {sub_name}"))
    return pages


def cli_reference() -> str:
    """Markdown with the help of every command."""
    from asyncgroups.cli.main import build_parser

    parts = []
    for name, text in _walk(build_parser(), "asyncgroups"):
        level = "##" if name.count(" ") <= 1 else "###"
        parts.append(f"{level} `{name}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def _include(match: re.Match[str]) -> str:
    path = ROOT / match.group(1)
    if not path.is_file():
        return (
            f"*`{match.group(1)}` is not there yet: run the benchmarks to create it.*"
        )
    text = path.read_text(encoding="utf-8")
    return _RELATIVE_LINK.sub(
        lambda m: f"{m.group(2)} (`{match.group(1).rsplit('/', 1)[0]}/{m.group(3)}`)",
        text,
    )


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Expand the markers this hook knows."""
    if "<!-- asyncgroups:cli -->" in markdown:
        markdown = markdown.replace("<!-- asyncgroups:cli -->", cli_reference())
    return _INCLUDE.sub(_include, markdown)
