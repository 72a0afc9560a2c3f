"""The documentation says what the code does: every command and option is in `--help` and in
docs/commands.md; the action's tables in docs/ci.md are action.yml's; the README stays a first
read (short, the two set-up commands on its first screen, its minimal config a working one);
every relative link leads to a file and a heading that exist; no paragraph is in two places."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer.main

from buildcache.cli.app import app
from buildcache.cli.main import main
from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
TABLES_SCRIPT = ROOT / "scripts/action-tables.py"


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_the_commands_are_the_documented_ones() -> None:
    assert sorted(" ".join(path) for path, _ in COMMANDS) == [
        "advise",
        "build",
        "builder down",
        "builder up",
        "cache ls",
        "cache prune",
        "doctor",
        "init",
        "login",
        "logout",
        "merge",
        "plan",
        "schema",
    ]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_option_is_in_help_and_the_commands_page(
    path: tuple[str, ...], command: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = (ROOT / "docs/commands.md").read_text()
    assert f"buildcache {' '.join(path)}" in reference
    with pytest.raises(SystemExit):
        main([*path, "--help"])
    help_text = capsys.readouterr().out
    for param in command.params:
        for option in [*param.opts, *param.secondary_opts]:
            if option.startswith("--"):
                assert option in help_text, option
                assert option in reference, (
                    f"{option} of {' '.join(path)} is not in docs/commands.md"
                )


# --- the README: a first read


def test_the_readme_is_a_first_read_with_the_set_up_commands_on_its_first_screen() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 300
    first_screen = lines[:40]
    assert any(line.startswith("make demo ") for line in first_screen)
    assert any(line.startswith("make test ") for line in first_screen)
    # CI runs exactly the README's test command
    assert (ROOT / ".ci/run").read_text().splitlines()[-1] == "exec make test"


def _toml_block_under(text: str, heading: str) -> str:
    section = text.split(f"\n{heading}\n", 1)[1]
    block = re.search(r"```toml\n(.*?)```", section, re.S)
    assert block is not None, heading
    return block[1]


def test_the_readme_s_minimal_config_plans_as_it_says(tmp_path: Path) -> None:
    """The README's config, beside a Dockerfile with the ARG it sets, as `buildcache plan`
    reads it: two variants for two platforms, the bare tags on the default variant, a suffix on
    the other, one cache ref per variant on the first image's repository."""
    (tmp_path / "buildcache.toml").write_text(
        _toml_block_under(README.read_text(), "## A minimal config")
    )
    (tmp_path / "Dockerfile").write_text("FROM scratch\nARG VARIANT\n")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI", "BUILDCACHE_"))
    }
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "c"], cwd=tmp_path, check=True)
    process = subprocess.run(
        [sys.executable, "-m", "buildcache", "plan", "--offline", "--json", "--version", "1.2.3"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    variants = {v["name"]: v for v in json.loads(process.stdout)["variants"]}
    assert variants["slim"]["tags"] == [
        "ghcr.io/acme/widget:1.2.3",
        "docker.io/acme/widget:1.2.3",
        "ghcr.io/acme/widget:latest",
        "docker.io/acme/widget:latest",
    ]
    assert "ghcr.io/acme/widget:1.2.3-full" in variants["full"]["tags"]
    assert "docker.io/acme/widget:full" in variants["full"]["tags"]
    for name, variant in variants.items():
        assert variant["platforms"] == ["linux/amd64", "linux/arm64"]
        assert variant["build_args"]["VARIANT"] == name
        assert variant["cache_from"] == [f"type=registry,ref=ghcr.io/acme/widget:buildcache-{name}"]


# --- links and duplicates across the README, CONTRIBUTING.md and docs/


def _prose(text: str) -> str:
    """The text without fenced blocks and code spans, where a link is not a link."""
    return re.sub(r"`[^`\n]*`", "", _strip_fences(text))


def _anchors(text: str) -> set[str]:
    """The anchors GitHub makes of a file's headings: lower case, punctuation dropped, spaces
    made hyphens."""
    headings = re.findall(r"^#+ (.+)$", _strip_fences(text), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.replace("`", "").lower()).replace(" ", "-") for h in headings}


def _strip_fences(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _links(document: Path) -> Iterator[str]:
    for target in re.findall(r"\]\(([^)\s]+)\)", _prose(document.read_text())):
        if not re.match(r"[a-z]+:", target):
            yield target


@pytest.mark.parametrize("document", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_relative_link_leads_to_a_file_and_a_heading(document: Path) -> None:
    for target in _links(document):
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        assert linked.exists(), f"{document.name}: {target}: no such file"
        if anchor:
            assert linked.is_file(), f"{document.name}: {target}: an anchor into a folder"
            assert anchor in _anchors(linked.read_text()), (
                f"{document.name}: {target}: no such heading"
            )


def test_the_readme_links_every_page_of_the_reference() -> None:
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in _links(README)}
    for page in DOCS[1:]:
        assert page.resolve() in linked, page.name


def test_no_paragraph_is_in_two_places() -> None:
    """Moved, not copied: each paragraph of the prose has one home."""
    paragraphs: Counter[str] = Counter()
    for document in DOCS:
        for paragraph in re.split(r"\n\s*\n", _strip_fences(document.read_text())):
            text = " ".join(paragraph.split())
            if len(text) > 120 and not text.startswith("|"):
                paragraphs[text] += 1
    assert [p for p, n in paragraphs.items() if n > 1] == []


# --- the action's tables in docs/ci.md, made from action.yml


def _tables_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("action_tables", TABLES_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_action_s_tables_in_the_docs_are_action_yml_s() -> None:
    tables = _tables_module()
    doc = (ROOT / "docs/ci.md").read_text()
    made = tables.tables((ROOT / "action.yml").read_text())
    assert tables.rewrite(doc, made) == doc, "run python scripts/action-tables.py"
    for name in ("push", "tags", "cache-from", "python"):
        assert f"| `{name}` |" in made["action-inputs"]
    for name in ("digest", "metadata", "result", "states"):
        assert f"| `{name}` |" in made["action-outputs"]


def test_the_tables_keep_action_yml_s_order_default_and_cells() -> None:
    made = _tables_module().tables(
        "inputs:\n"
        "  push: {description: Push it, default: true}\n"
        "  tags:\n    description: |\n      One per line | or a comma\n    default: ''\n"
        "outputs:\n  digest: {description: The digest, value: x}\n"
    )
    assert made["action-inputs"].splitlines()[2:] == [
        "| `push` | Push it | `true` |",
        "| `tags` | One per line \\| or a comma |  |",
    ]
    assert made["action-outputs"].splitlines()[2:] == ["| `digest` | The digest |"]


def test_the_tables_need_their_markers() -> None:
    tables = _tables_module()
    with pytest.raises(SystemExit, match="action-outputs"):
        tables.rewrite(
            "<!-- action-inputs: x -->\n<!-- /action-inputs -->\n",
            {"action-inputs": "t", "action-outputs": "t"},
        )


def test_the_tables_script_checks_and_rewrites_a_stale_doc(tmp_path: Path) -> None:
    """The script as a process, in a copy of the repository's three files: --check exits 0 on
    the real doc, 1 once action.yml gains an input, then a rewrite makes it pass again."""
    for name in ("scripts/action-tables.py", "action.yml", "docs/ci.md"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    script = [sys.executable, str(tmp_path / "scripts/action-tables.py")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*script, *args], capture_output=True, text=True, check=False)

    assert run("--check").returncode == 0
    action = tmp_path / "action.yml"
    action.write_text(
        action.read_text().replace(
            "inputs:\n", "inputs:\n  planted:\n    description: A new input.\n    default: x\n", 1
        )
    )
    stale = run("--check")
    assert stale.returncode == 1
    assert "run python scripts/action-tables.py" in stale.stdout
    assert run().returncode == 0
    assert "| `planted` | A new input. | `x` |" in (tmp_path / "docs/ci.md").read_text()
    assert run("--check").returncode == 0
