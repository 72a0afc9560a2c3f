"""docs/ARCHITECTURE.md's rules, checked: which folder may import which, one importer of
python-on-whales, and no import circle (an import under TYPE_CHECKING counts). Function
complexity and argument counts are gated per function by ruff (C901, PLR0913 in pyproject.toml)
and radon (no D); few functions are helpers of 1-3 lines called from one place."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "buildcache"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
# what each folder may import, of buildcache's own and of the heavy outside
ALLOWED = {
    "core": {"buildcache.core", "buildcache.buildkit", "buildcache.errors"},
    "buildkit": {"buildcache.buildkit"},
    "ui": {"buildcache.core", "buildcache.buildkit", "buildcache.ui", "buildcache.errors"},
    "docker": {"buildcache.core", "buildcache.buildkit", "buildcache.docker", "buildcache.errors"},
    "registry": {"buildcache.core", "buildcache.buildkit", "buildcache.registry", "buildcache.errors"},
    # the CI providers read the environment and the CI's event file; they make core's values and
    # the ui's sink of their CI
    "ci": {"buildcache.ci", "buildcache.core", "buildcache.ui", "buildcache.errors"},
    # init's rules: a workflow or a Dockerfile -> a config; on top of core, never under it
    "migrate": {"buildcache.core", "buildcache.buildkit", "buildcache.migrate", "buildcache.errors"},
    "commands": {"buildcache." + name for name in ("core", "buildkit", "ui", "docker", "registry", "ci", "migrate", "commands", "errors", "git")},
}  # fmt: skip
PURE = ("core", "buildkit", "migrate")
OUTSIDE = ("python_on_whales", "httpx", "rich", "typer", "subprocess")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


KNOWN = {_module_name(p) for p in MODULES}


def _imports(path: Path) -> set[str]:
    """Every module this file imports; `from buildcache.x import y` names the module x.y when
    y is one."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            submodules = {f"{node.module}.{a.name}" for a in node.names} & KNOWN
            names.update(submodules or {node.module})
    return names


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_each_folder_imports_only_what_it_may(folder: str) -> None:
    for path in (PACKAGE / folder).rglob("*.py"):
        for name in _imports(path):
            if name.startswith("buildcache"):
                assert any(name.startswith(a) for a in ALLOWED[folder]), (path.name, name)
            elif folder in PURE:
                # pure code: no engine, no network, no processes, no terminal
                assert not name.startswith(OUTSIDE), (path.name, name)


def test_only_the_engine_imports_python_on_whales() -> None:
    importers = {
        p.relative_to(PACKAGE).as_posix()
        for p in MODULES
        if any(n.startswith("python_on_whales") for n in _imports(p))
    }
    assert importers == {"docker/engine.py"}


def test_the_import_graph_has_no_circle() -> None:
    graph = {
        _module_name(p): {n for n in _imports(p) if n in KNOWN and n != _module_name(p)}
        for p in MODULES
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            raise AssertionError(" -> ".join((*path[path.index(module) :], module)))
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


# Complexity is gated per function, never as an average (an average is met by splitting
# functions into one-line helpers that name nothing): ruff's mccabe at most 10 and at most 8
# arguments (pyproject.toml), and here radon's second opinion: no block graded D.


def test_no_function_is_graded_d() -> None:
    from radon.complexity import cc_visit, sorted_results

    blocks = [b for path in MODULES for b in sorted_results(cc_visit(path.read_text()))]
    graded_d = [f"{b.name} ({b.complexity})" for b in blocks if b.complexity > 20]
    assert not graded_d, graded_d


# A helper earns its name by naming a decision (`_lost_staging_race`, `is_transient`), not by
# lowering a complexity figure: a function of 1-3 lines called from one place is mostly a name
# that says less than its body, and is inlined. Those left are under 5% of all functions.


def _body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The lines of a function's body, its docstring aside."""
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    return body[-1].end_lineno - body[0].lineno + 1 if body and body[-1].end_lineno else 0


def _names_in_code(tree: ast.AST) -> Counter[str]:
    """Each name as the code says it (defined, called, read, imported), never as a comment or
    a docstring mentions it."""
    names: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] += 1
        elif isinstance(node, ast.Name):
            names[node.id] += 1
        elif isinstance(node, ast.Attribute):
            names[node.attr] += 1
        elif isinstance(node, ast.alias):
            names[(node.asname or node.name).rsplit(".", 1)[-1]] += 1
    return names


def test_few_functions_are_short_helpers_called_from_one_place() -> None:
    trees = [ast.parse(path.read_text()) for path in MODULES]
    uses = sum((_names_in_code(tree) for tree in trees), Counter[str]())
    functions = [
        node
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _body_lines(node)
    ]
    helpers = sorted(
        f.name
        for f in functions
        # a decorator (a property, a typer command) and a dunder are called by their framework
        if _body_lines(f) <= 3
        and not f.decorator_list
        and not f.name.startswith("__")
        and uses[f.name] == 2  # where it is defined and where it is used
    )
    share = len(helpers) / len(functions)
    assert share < 0.05, f"{len(helpers)} of {len(functions)} ({share:.1%}): {helpers}"


# A plan is made in one place: core/plan/make.py, with the narrowings core/plan/model.py names
# (BuildPlan.with_variants, .with_upstreams, .with_holds). Nothing after commands/plan.assemble
# replaces a field of it by hand.
PLAN_MAKERS = {PACKAGE / "core" / "plan" / "make.py", PACKAGE / "core" / "plan" / "model.py"}


def test_no_module_but_the_plan_s_own_replaces_a_field_of_a_plan() -> None:
    import ast

    found = []
    for path in MODULES:
        if path in PLAN_MAKERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("replace")):
                continue
            first = ast.unparse(node.args[0]) if node.args else ""
            if "plan" in first or first in ("built", "part", "to_build"):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} replace({first}, ...)")
    assert not found, found


# Tests mirror the package: a module of more than TESTED_SIZE lines of code has its own test
# module, tests/unit/<folder>/test_<module>.py, that tests what it is named after.
TESTED_SIZE = 60
TESTS = Path(__file__).resolve().parent
UNMIRRORED = {
    # typer glue: options parsed into one typed value and handed to commands/, run end to end
    # through the app (cli/test_app.py, commands/test_*.py run `buildcache ...` in-process)
    "cli/build.py": "typer glue, run through the app by cli/test_app.py and commands/test_build.py",
    "cli/options.py": "typer options, run through plan and build by cli/test_app.py and commands/",
    "cli/main.py": "the console script, its errors and exit codes run by cli/test_app.py",
    "cli/init.py": "typer options, run end to end as a process by commands/test_init.py",
}


def _code_lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip()[:1] not in ("", "#"))


def test_each_module_of_real_size_has_its_own_test_module() -> None:
    missing = [
        rel
        for path in MODULES
        if _code_lines(path) > TESTED_SIZE
        and not (TESTS / (rel := path.relative_to(PACKAGE)).parent / f"test_{path.name}").exists()
    ]
    assert sorted(p.as_posix() for p in missing) == sorted(UNMIRRORED)


# A folder a reader can take in: no package folder holds more than 12 modules directly, nor
# more than a fifth of the package's lines in its own files (issue 39: core/ held half of it).


def test_no_folder_holds_more_than_12_modules_or_a_fifth_of_the_lines() -> None:
    def lines(path: Path) -> int:
        return len(path.read_text().splitlines())

    total = sum(lines(path) for path in PACKAGE.rglob("*.py"))
    folders = [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__")]
    crowded = {}
    for folder in folders:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        share = sum(lines(p) for p in folder.glob("*.py")) / total
        if len(modules) > 12 or share > 0.2:
            crowded[str(folder.relative_to(PACKAGE.parent))] = (len(modules), f"{share:.0%}")
    assert crowded == {}
