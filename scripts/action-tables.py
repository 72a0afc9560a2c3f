"""The action's inputs and outputs as two Markdown tables in docs/ci.md, made from action.yml.

Each table sits between two marker comments (`<!-- action-inputs -->` ... `<!-- /action-inputs
-->`, the same for `action-outputs`); what is between them is rewritten from action.yml's `inputs`
(name, description, default) and `outputs` (name, description), in action.yml's order.
tests/unit/test_docs.py fails when docs/ci.md is not what this script writes.

    python scripts/action-tables.py           # rewrite the tables in docs/ci.md
    python scripts/action-tables.py --check   # exit 1, saying so, when they differ
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
DOC = ROOT / "docs/ci.md"
NOTE = "generated from action.yml by scripts/action-tables.py: edit action.yml, then run it"


def _cell(text: str) -> str:
    """One table cell: on one line, a `|` escaped so that it does not end the cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(value: object) -> str:
    """A name or a default in a code span; YAML's true is GitHub's "true"; nothing for none."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f"`{_cell(text)}`" if text != "" else ""


def inputs_table(action: dict[str, Any]) -> str:
    rows = ["| input | what it does | default |", "|---|---|---|"]
    for name, spec in action.get("inputs", {}).items():
        description, default = spec.get("description", ""), spec.get("default", "")
        rows.append(f"| {_code(name)} | {_cell(description)} | {_code(default)} |")
    return "\n".join(rows)


def outputs_table(action: dict[str, Any]) -> str:
    rows = ["| output | what it holds |", "|---|---|"]
    for name, spec in action.get("outputs", {}).items():
        rows.append(f"| {_code(name)} | {_cell(spec.get('description', ''))} |")
    return "\n".join(rows)


def tables(action_yml: str) -> dict[str, str]:
    """The tables by marker name, from action.yml's text."""
    action = yaml.safe_load(action_yml)
    return {"action-inputs": inputs_table(action), "action-outputs": outputs_table(action)}


def _block(marker: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {marker}: [^\n]*-->\n)(.*?)(<!-- /{marker} -->)", re.S)


def rewrite(doc: str, made: dict[str, str]) -> str:
    """The document with each marked table replaced; a missing marker is an error."""
    for marker, table in made.items():
        found = _block(marker).search(doc)
        if found is None:
            raise SystemExit(f"error: docs/ci.md has no <!-- {marker}: ... --> block")
        # blank lines around the table: Markdown starts a table only after the comment's block
        made_block = f"<!-- {marker}: {NOTE} -->\n\n{table}\n\n<!-- /{marker} -->"
        doc = doc[: found.start()] + made_block + doc[found.end() :]
    return doc


def main(argv: list[str]) -> int:
    doc = DOC.read_text()
    wanted = rewrite(doc, tables(ACTION.read_text()))
    if "--check" in argv:
        if wanted != doc:
            print(
                "docs/ci.md: the action's tables differ from action.yml; run python scripts/action-tables.py"
            )
            return 1
        return 0
    if wanted != doc:
        DOC.write_text(wanted)
        print("docs/ci.md: the action's tables rewritten from action.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
