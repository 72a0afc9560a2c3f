"""docs/ARCHITECTURE.md's rules, checked: which folder may import which, one name per module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "buildcache"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
# what each folder may import, of buildcache's own and of the heavy outside
ALLOWED = {
    "core": {"buildcache.core", "buildcache.buildkit", "buildcache.errors"},
    "buildkit": {"buildcache.buildkit"},
    "ui": {"buildcache.core", "buildcache.buildkit", "buildcache.ui", "buildcache.errors"},
}
OUTSIDE = ("python_on_whales", "httpx", "rich", "typer", "subprocess")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_each_folder_imports_only_what_it_may(folder: str) -> None:
    for path in (PACKAGE / folder).glob("*.py"):
        for name in _imports(path):
            if name.startswith("buildcache"):
                assert any(name.startswith(a) for a in ALLOWED[folder]), (path.name, name)
            elif folder != "ui":
                # pure code: no engine, no network, no processes, no terminal
                assert not name.startswith(OUTSIDE), (path.name, name)


def test_only_engine_imports_python_on_whales() -> None:
    importers = {
        p.relative_to(PACKAGE).as_posix()
        for p in MODULES
        if any(n.startswith("python_on_whales") for n in _imports(p))
    }
    assert importers == {"engine.py"}


def test_no_two_modules_share_a_name_and_none_is_over_400_lines() -> None:
    stems = [p.stem for p in MODULES if p.stem not in ("__init__", "__main__")]
    assert sorted(stems) == sorted(set(stems))
    long = {p.name: n for p in MODULES if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
