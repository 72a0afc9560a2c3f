"""BuildKit's own reading of the Dockerfile corpus, for core/dockerfile/syntax.py's tests.

tests/unit/core/dockerfile/data/dockerfile_syntax.json holds Dockerfile texts; this fills in, for each,
what BuildKit's Go parser (moby/buildkit frontend/dockerfile/parser, wrapped by the `dockerfile`
package: wheels for x86_64 glibc only, hence not a dependency) reads from it. Run it after adding
a case:

    pip install dockerfile && python scripts/dockerfile-oracle.py
"""

from __future__ import annotations

import json
from pathlib import Path

import dockerfile  # type: ignore[import-not-found]

DATA = Path(__file__).resolve().parent.parent / "tests/unit/core/dockerfile/data/dockerfile_syntax.json"


def reading(text: str) -> dict[str, object]:
    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as error:
        return {"error": str(error)}
    return {
        "instructions": [
            {
                "cmd": c.cmd,
                "original": c.original,
                "flags": list(c.flags),
                "value": list(c.value),
                "json": c.json,
                "heredocs": [{"name": h.name, "content": h.content} for h in c.heredocs],
                "line": c.start_line,
            }
            for c in commands
        ]
    }


def main() -> None:
    cases = json.loads(DATA.read_text())
    for case in cases:
        case.update(dict.fromkeys(("instructions", "error")))
        case.update(reading(case["text"]))
        case.update({k: v for k, v in list(case.items()) if v is not None})
        for key in ("instructions", "error"):
            if case[key] is None:
                del case[key]
    DATA.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
