"""The layering holds: no import cycle, no layer reaching above itself, small modules.

The import graph is read from the source (``ast``), so imports made only under
``TYPE_CHECKING`` count as well as runtime ones. An edge goes to the most specific
module named (``from asyncgroups.backends import status`` is an edge to
``asyncgroups.backends.status``), as import-linter and pydeps draw it.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("asyncgroups", "asyncgroups_scim")
SIZE_LIMITED = (
    "asyncgroups/backends",
    "asyncgroups/sync",
    "asyncgroups/transport",
    "asyncgroups/testing",
    "asyncgroups_scim",
)
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The most specific known module that ``name`` is or lives in."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    targets: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in MODULES else base)
    found = {_resolve(target) for target in targets}
    return {m for m in found if m is not None and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle_from(start: str) -> list[str] | None:
    """A path start -> ... -> start through the graph, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in GRAPH.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def _reaches(source: str, target_prefix: str) -> list[str] | None:
    """An import path from ``source`` to any module under ``target_prefix``."""
    stack: list[tuple[str, list[str]]] = [(source, [source])]
    seen = {source}
    while stack:
        node, path = stack.pop()
        for nxt in GRAPH.get(node, ()):
            if nxt == target_prefix or nxt.startswith(target_prefix + "."):
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_the_graph_was_read() -> None:
    # Guards the test itself: a parser that found nothing would pass everything.
    assert len(MODULES) > 60
    assert "asyncgroups.backends.base" in GRAPH["asyncgroups.client"]
    assert "asyncgroups.sync.port" in GRAPH["asyncgroups.sync.observe"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_cycle(module: str) -> None:
    cycle = _cycle_from(module)
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize(
    "module",
    sorted(
        m for m in MODULES if m.startswith(("asyncgroups.backends", "asyncgroups_scim"))
    ),
)
def test_backends_never_reach_the_client(module: str) -> None:
    for above in ("asyncgroups.client", "asyncgroups.sync", "asyncgroups.cli"):
        path = _reaches(module, above)
        assert path is None, " -> ".join(path or [])


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if m.startswith("asyncgroups.sync"))
)
def test_the_sync_engine_uses_only_the_client_port(module: str) -> None:
    for below in ("asyncgroups.transport", "asyncgroups.backends"):
        path = _reaches(module, below)
        assert path is None, " -> ".join(path or [])


@pytest.mark.parametrize(
    "path",
    sorted(
        str(p.relative_to(ROOT)) for d in SIZE_LIMITED for p in (ROOT / d).rglob("*.py")
    ),
)
def test_modules_stay_small(path: str) -> None:
    lines = len((ROOT / path).read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path} has {lines} lines"


def test_importing_the_package_does_not_load_a_web_server() -> None:
    code = (
        "import sys, asyncgroups; "
        "assert 'aiohttp.web' not in sys.modules, 'aiohttp.web'; "
        "assert 'asyncgroups.testing' not in sys.modules, 'asyncgroups.testing'"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
