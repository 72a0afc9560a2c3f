"""Pure: `$NAME` and `${NAME<operator><word>}` parameter expansion, the one reader of it for
the Dockerfile (BuildKit's shell lexer) and for the run steps `init --from` simulates (bash).

The forms are bash's; the Dockerfile's lexer knows a subset (`DOCKERFILE_OPERATORS`, the
dockerfile 1.7 syntax's): a form it does not know is left as written. Patterns (`#`, `%`) match
as the shell's globs; an unset name is empty.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Mapping

# bash's forms of ${NAME...} that release steps use, longest operator first
_OPERATORS = r":-|:\+|:=|:|-|\+|##|#|%%|%|,,|\^\^|//|/"
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# `$NAME` (group `name`) or `${NAME<op><arg>}` (groups `braced`, `op`, `arg`): the pattern's
# text, so the simulator can add its `$( )` beside it
PARAMETER_PATTERN = (
    rf"\$(?:(?P<name>{NAME})|\{{(?P<braced>{NAME})(?P<op>{_OPERATORS})?(?P<arg>[^}}]*)\}})"
)
PARAMETER = re.compile(PARAMETER_PATTERN)
DOCKERFILE_OPERATORS = frozenset({"", ":-", "-", ":+", "+", "#", "##", "%", "%%", "/", "//"})


def substitute(value: str | None, operator: str, argument: str) -> str:
    """${NAME<operator><argument>} where NAME holds `value` (None: unset), as bash has it."""
    text = value or ""
    if operator in (":-", ":="):
        return text or argument
    if operator == "-":
        return argument if value is None else text
    if operator in (":+", "+"):
        return argument if (text if operator == ":+" else value is not None) else ""
    if operator in ("#", "##", "%", "%%"):
        return _trimmed(text, operator, argument)
    if operator == ":":  # ${X:offset:length}, as ${GITHUB_SHA::7}
        offset, _, length = argument.partition(":")
        start = int(offset or 0)
        return text[start : start + int(length)] if length else text[start:]
    if operator in ("/", "//"):
        pattern, _, replacement = argument.partition("/")
        return text.replace(pattern, replacement, -1 if operator == "//" else 1)
    return {",,": text.lower(), "^^": text.upper()}.get(operator, text)


def _trimmed(text: str, operator: str, pattern: str) -> str:
    """${X#p} ${X##p} ${X%p} ${X%%p}: the shortest or longest match of p trimmed."""
    cuts = range(len(text) + 1)
    if operator.startswith("#"):
        ends = [n for n in cuts if fnmatch.fnmatchcase(text[:n], pattern)]
        return text[(max(ends) if operator == "##" else min(ends)) :] if ends else text
    starts = [n for n in cuts if fnmatch.fnmatchcase(text[n:], pattern)]
    return text[: (min(starts) if operator == "%%" else max(starts))] if starts else text


def expand(
    text: str,
    values: Mapping[str, str | None],
    operators: Collection[str] = DOCKERFILE_OPERATORS,
) -> str:
    """`text` with each parameter of `values` substituted; a form outside `operators` is left
    as written (the Dockerfile's lexer knows fewer than bash)."""

    def one(match: re.Match[str]) -> str:
        operator = match.group("op") or ""
        if operator not in operators:
            return match.group()
        name = match.group("braced") or match.group("name")
        return substitute(values.get(name), operator, match.group("arg") or "")

    return PARAMETER.sub(one, text)


def names(text: str) -> set[str]:
    """The parameters `text` names."""
    return {m.group("braced") or m.group("name") for m in PARAMETER.finditer(text)}
