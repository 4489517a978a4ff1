"""The architecture, checked on the imports themselves: the domain stays pure, the web layer
never talks to Asterisk directly, and no module grows past what a reader takes in at once."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bridge"
MAX_LINES = 400
# Standard library modules that do I/O or run things: not for the pure domain.
IO_MODULES = {
    "asyncio", "socket", "ssl", "os", "subprocess", "threading", "multiprocessing",
    "sqlite3", "urllib", "http", "io", "shutil", "pathlib", "tempfile", "logging",
    "select", "selectors", "signal", "time", "random", "secrets",
}  # fmt: skip


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
    allowed_roots = set(sys.stdlib_module_names) - IO_MODULES
    for name in _imports(MODULES[module]):
        assert _in(name, "bridge.domain") or name.split(".")[0] in allowed_roots, (
            f"{module} imports {name}: the domain must stay free of I/O and adapters"
        )


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, "bridge.reports")))
def test_reports_are_built_without_a_database_a_web_server_or_asterisk(module: str) -> None:
    for name in _imports(MODULES[module]):
        root = name.split(".")[0]
        assert root not in {"sqlalchemy", "aiohttp", "panoramisk", "asyncio"}, (
            f"{module} imports {name}"
        )
        if root == "bridge":
            allowed = ("bridge.reports", "bridge.domain", "bridge.recordings")
            assert any(_in(name, a) for a in allowed), f"{module} imports {name}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, "bridge.web")))
def test_the_web_layer_never_imports_an_asterisk_adapter(module: str) -> None:
    for name in _imports(MODULES[module]):
        assert not _in(name, "bridge.asterisk"), f"{module} imports {name}"
        assert not _in(name, "panoramisk"), f"{module} imports {name}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_longer_than_a_reader_takes_in_at_once(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines (split it by feature)"


def test_the_checks_see_the_whole_package() -> None:
    assert {"bridge.domain.roster", "bridge.web.app", "bridge.service.roster"} <= set(MODULES)
    assert "bridge.domain.events" in _imports(MODULES["bridge.domain.roster"])
