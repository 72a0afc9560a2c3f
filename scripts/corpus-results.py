"""Runs the corpus test's machinery (tests/unit/commands/test_corpus.py) once and writes what it
found: tests/data/workflows/RESULTS.md (the figures, each event's outcome, the silent failures)
and tests/data/workflows/known_failures.json (the cases the test marks xfail(strict=True), each
with its reason). Run it after a fix turns an xfail into a pass, and commit both files.

    PYTHONPATH=. python scripts/corpus-results.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("corpus", ROOT / "tests/unit/commands/test_corpus.py")
assert spec
assert spec.loader
corpus = importlib.util.module_from_spec(spec)
sys.modules["corpus"] = corpus
spec.loader.exec_module(corpus)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = corpus.run_corpus(Path(tmp))
    outcomes = {f"{p}/{e}": o for p, run in runs.items() for e, o in run.outcomes.items()}
    failures = {
        f"{p}/init": f"init exit {r.init_code}: {r.init_error}"
        for p, r in runs.items()
        if r.init_code
    }
    failures |= {k: f"{o.kind}: {o.detail}"[:600] for k, o in outcomes.items() if o.kind != "equal"}
    (corpus.CORPUS / "known_failures.json").write_text(
        json.dumps(failures, indent=2, sort_keys=True) + "\n"
    )
    kinds = Counter(o.kind for o in outcomes.values())
    silent = sorted(k for k, o in outcomes.items() if o.silent)
    init_ok = sum(1 for r in runs.values() if r.init_code == 0)
    lines = [
        "# The corpus of real release workflows: results",
        "",
        "Written by `scripts/corpus-results.py` (the machinery of tests/unit/commands/test_corpus.py):",
        "`buildcache init --from` then `buildcache plan --offline --json` per event, as processes,",
        "against expected.json (scripts/corpus-expected.py: the real metadata-action, the shell steps",
        "in bash). Do not edit by hand.",
        "",
        f"- projects: {len(runs)}; `init --from` exits 0 as is (or with `--image` where the images",
        f"  are only in secrets or variables): {init_ok} of {len(runs)}",
        f"- events: {len(outcomes)}; equal: {kinds['equal']}; different: {kinds['different']}"
        f" (exit 0 with other tags, the silent ones: {len(silent)}); plan failed:"
        f" {kinds['plan failed']}; init failed: {kinds['init failed']}",
        "",
        "## Silent: exit 0 with tags, platforms or build args other than the workflow's",
        "",
        *[f"- `{k}`: {outcomes[k].detail[:400]}" for k in silent],
        "",
        "## Every event",
        "",
        "| project/event | outcome | detail |",
        "|---|---|---|",
    ]
    for key, outcome in sorted(outcomes.items()):
        detail = outcome.detail.replace("|", "\\|")[:300]
        lines.append(f"| `{key}` | {outcome.kind} | {detail} |")
    (corpus.CORPUS / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[8:12]))


if __name__ == "__main__":
    main()
