"""The architecture, checked on the imports themselves: every rule of the layer table in
docs/architecture.md (the domain stays pure, the web layer never talks to Asterisk, the
service never names the actions above it ...), no import cycle anywhere in ``bridge``, and
no module past what a reader takes in at once."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bridge"
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"
MAX_LINES = 400
# Standard library modules that do I/O or run things: not for the pure domain.
IO_MODULES = {
    "asyncio", "socket", "ssl", "os", "subprocess", "threading", "multiprocessing",
    "sqlite3", "urllib", "http", "io", "shutil", "pathlib", "tempfile", "logging",
    "select", "selectors", "signal", "time", "random", "secrets",
}  # fmt: skip
# Outside packages that only calculate (no I/O, no loop): dateutil expands a room's
# recurrence rule (RFC 5545) in bridge.domain.schedule, rather than a rule expanded by hand.
PURE_LIBRARIES = {"dateutil"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (type-checking-only imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


MODULES = _modules()


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, "bridge.domain")))
def test_the_domain_imports_only_itself_and_the_standard_library(module: str) -> None:
    allowed_roots = (set(sys.stdlib_module_names) - IO_MODULES) | PURE_LIBRARIES
    for name in _imports(MODULES[module]):
        assert _in(name, "bridge.domain") or name.split(".")[0] in allowed_roots, (
            f"{module} imports {name}: the domain must stay free of I/O and adapters"
        )


@dataclass(frozen=True)
class Layer:
    """One row of the layer table in docs/architecture.md: the parts of ``bridge`` a layer
    may import (its own included), and the outside packages it must never import."""

    may: tuple[str, ...]
    never: tuple[str, ...] = ()


# The shared, lower modules every layer above the domain may lean on.
COMMON = ("bridge.errors", "bridge.settings")
LAYERS: dict[str, Layer] = {
    "bridge.domain": Layer(("bridge.domain",)),  # + the standard library: checked above
    "bridge.asterisk": Layer(
        ("bridge.asterisk", "bridge.domain", *COMMON), never=("sqlalchemy", "aiohttp")
    ),
    "bridge.store": Layer(
        ("bridge.store", "bridge.domain", "bridge.reports", "bridge.settings"),
        never=("panoramisk", "aiohttp"),
    ),
    "bridge.reports": Layer(
        ("bridge.reports", "bridge.domain", "bridge.recordings"),
        never=("sqlalchemy", "aiohttp", "panoramisk", "asyncio"),
    ),
    "bridge.service": Layer(
        (
            "bridge.service",
            "bridge.domain",
            "bridge.asterisk",
            "bridge.store",
            "bridge.reports",
            "bridge.hub",
            "bridge.recordings",
            "bridge.sipcaller",
            "bridge.scenarios",
            *COMMON,
        ),
        never=("aiohttp",),
    ),
    "bridge.actions": Layer(
        ("bridge.actions", "bridge.service", "bridge.domain", "bridge.errors"),
        never=("aiohttp", "panoramisk", "sqlalchemy"),
    ),
    "bridge.web": Layer(
        (
            "bridge.web",
            "bridge.service",
            "bridge.domain",
            "bridge.reports",
            "bridge.actions",
            "bridge.hub",
            "bridge.store.audit",
            *COMMON,
        ),
        never=("panoramisk", "sqlalchemy"),
    ),
}


def _layer_of(module: str) -> str | None:
    return next((layer for layer in LAYERS if _in(module, layer)), None)


@pytest.mark.parametrize(
    ("layer", "module"),
    sorted((_layer_of(m), m) for m in MODULES if _layer_of(m) and _layer_of(m) != "bridge.domain"),
)
def test_each_layer_imports_only_what_the_layer_table_allows(layer: str, module: str) -> None:
    rule = LAYERS[layer]
    for name in _imports(MODULES[module]):
        root = name.split(".")[0]
        if root == "bridge":
            assert any(_in(name, allowed) for allowed in rule.may), (
                f"{module} imports {name}: {layer} may import only {', '.join(rule.may)}"
            )
        assert root not in rule.never, f"{module} imports {name}: never in {layer}"


def test_the_layer_table_in_the_docs_is_the_one_checked_here() -> None:
    rows = re.findall(r"^\| `bridge/(\w+)/` \|", ARCHITECTURE.read_text(), re.M)
    assert {f"bridge.{row}" for row in rows} == set(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_longer_than_a_reader_takes_in_at_once(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines (split it by feature)"


def test_the_checks_see_the_whole_package() -> None:
    assert {"bridge.domain.roster", "bridge.web.app", "bridge.service.roster"} <= set(MODULES)
    assert "bridge.domain.events" in _imports(MODULES["bridge.domain.roster"])


# ---- no import cycles ---------------------------------------------------------------------


def _targets(path: Path) -> set[str]:
    """The modules of ``bridge`` that ``path`` imports, at any depth (type-checking-only and
    in-function imports too): ``from bridge.web import render`` is ``bridge.web.render``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                inner = f"{node.module}.{alias.name}"
                if inner in MODULES:
                    found.add(inner)
                elif node.module in MODULES:
                    found.add(node.module)
    return found


def import_cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """One cycle (as a path ``a -> b -> ... -> a``) per strongly connected part of the
    graph that has one (Tarjan's algorithm, iterative: no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            child = next(edges, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.add(member)
                    if member == node:
                        break
                if len(part) > 1 or node in graph[node]:
                    yield _cycle_in(graph, part, node)


def _cycle_in(graph: dict[str, set[str]], part: set[str], start: str) -> list[str]:
    """A path from ``start`` back to itself inside one strongly connected part."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & part):
            if child == start:
                return [*paths[node], start]
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    raise AssertionError(f"no cycle through {start}")


def test_finding_cycles_finds_one_and_names_its_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert list(import_cycles(graph)) == [["a", "b", "c", "a"], ["e", "e"]]
    assert list(import_cycles({"a": {"b"}, "b": set()})) == []


def test_no_module_of_the_bridge_is_in_an_import_cycle() -> None:
    graph = {module: _targets(path) - {module} for module, path in MODULES.items()}
    cycles = [" -> ".join(cycle) for cycle in import_cycles(graph)]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
