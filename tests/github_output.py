"""Reading $GITHUB_OUTPUT as GitHub Actions reads it: `name=value` lines, and `name<<DELIMITER`
blocks for values of several lines."""

from __future__ import annotations


def read_outputs(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, sep, value = line.partition("=")
        if sep and "<<" not in name:
            values[name] = value
            continue
        name, _, delimiter = line.partition("<<")
        block = []
        for inner in lines:
            if inner == delimiter:
                break
            block.append(inner)
        values[name] = "\n".join(block)
    return values
