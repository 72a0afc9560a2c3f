"""Pure: GitHub's `${{ }}` expressions, evaluated against the values a simulated run knows.

The subset workflows use: contexts, `==`, `!=`, `!`, `&&`, `||`, parentheses, `contains`,
`startsWith`, `endsWith`, `format`. A secret is never read nor guessed: it is UNKNOWN, and so is
every value made of one; a context the run does not know raises, and `render` marks it UNKNOWN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

UNKNOWN = "\x00"  # stands in a value the simulation cannot know (a command's output, a secret)


# GitHub's expressions

_EXPR_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|<=|>=|&&|\|\||[!()<>,])"
    r"|(?P<name>[A-Za-z_][\w.\-]*(?:\[[^\]]*\][\w.\-]*)*))"
)
_EXPRESSION = re.compile(r"\$\{\{\s*(?P<expr>.*?)\s*\}\}")

Value = str | bool | float | None


class _Unknown(Exception):
    """An expression names what the simulation does not know."""


def evaluate(expression: str, context: Mapping[str, str]) -> Value:
    """A `${{ }}` expression's value; raises _Unknown where it names an unknown context."""
    tokens = _expr_tokens(expression)
    parser = _ExprParser(tokens, context)
    value = parser.either()
    if parser.at < len(tokens):
        raise _Unknown(expression)
    return value


def _expr_tokens(expression: str) -> list[tuple[str, str]]:
    tokens, at = [], 0
    while at < len(expression.rstrip()):
        match = _EXPR_TOKEN.match(expression, at)
        if match is None or match.end() == at:
            raise _Unknown(expression)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        at = match.end()
    return tokens


def render(text: str, context: Mapping[str, str]) -> str:
    """`text` with each `${{ }}` filled in (UNKNOWN where it cannot be)."""

    def one(match: re.Match[str]) -> str:
        try:
            return as_text(evaluate(match.group("expr"), context))
        except _Unknown:
            return UNKNOWN

    return _EXPRESSION.sub(one, text)


def as_text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return value or ""


def _truthy(value: Value) -> bool:
    return value not in (None, "", False, 0.0)


def _equal(left: Value, right: Value) -> bool:
    """GitHub's loose equality: strings case-insensitively, a boolean against its text."""
    if isinstance(left, bool) or isinstance(right, bool):
        return as_text(left) == as_text(right)
    return as_text(left).lower() == as_text(right).lower()


_FUNCTIONS: dict[str, Callable[..., Value]] = {
    "contains": lambda haystack, needle: as_text(needle).lower() in as_text(haystack).lower(),
    "startswith": lambda text, start: as_text(text).lower().startswith(as_text(start).lower()),
    "endswith": lambda text, end: as_text(text).lower().endswith(as_text(end).lower()),
    "format": lambda template, *args: re.sub(
        r"\{(\d+)\}", lambda m: as_text(args[int(m.group(1))]), as_text(template)
    ),
}


@dataclass
class _ExprParser:
    tokens: list[tuple[str, str]]
    context: Mapping[str, str]
    at: int = 0

    def _peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def _take(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise _Unknown("an expression ends early")
        self.at += 1
        return self.tokens[self.at - 1]

    def either(self) -> Value:
        value = self.both()
        while self._peek() == "||":
            self._take()
            other = self.both()
            value = value if _truthy(value) else other
        return value

    def both(self) -> Value:
        value = self.compare()
        while self._peek() == "&&":
            self._take()
            other = self.compare()
            value = other if _truthy(value) else value
        return value

    def compare(self) -> Value:
        value = self.unary()
        while self._peek() in ("==", "!="):
            equal = self._take()[1] == "=="
            value = _equal(value, self.unary()) == equal
        return value

    def unary(self) -> Value:
        if self._peek() == "!":
            self._take()
            return not _truthy(self.unary())
        return self.atom()

    def atom(self) -> Value:
        kind, text = self._take()
        if text == "(":
            value = self.either()
            self._take()
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if self._peek() == "(":
            return self._call(text.lower())
        return self._lookup(text)

    def _call(self, name: str) -> Value:
        self._take()
        args = []
        while self._peek() != ")":
            args.append(self.either())
            if self._peek() == ",":
                self._take()
        self._take()
        if name not in _FUNCTIONS:
            raise _Unknown(name)
        return _FUNCTIONS[name](*args)

    def _lookup(self, name: str) -> Value:
        literal = {"true": True, "false": False, "null": None}
        if name in literal:
            return literal[name]
        if name in self.context:
            value = self.context[name]
            # a boolean input is a boolean in `inputs` (`if: inputs.x` is false when unticked)
            if name.startswith("inputs.") and value in ("true", "false"):
                return value == "true"
            return value
        if name.startswith("secrets."):
            return UNKNOWN  # never read, never guessed
        raise _Unknown(name)
