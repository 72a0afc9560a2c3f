"""Pure: a Dockerfile's text -> its instructions, read by BuildKit's parser rules, in Python.

What BuildKit's parser (moby/buildkit frontend/dockerfile/parser) does before any instruction
means anything: parser directives at the top (`# escape=`` ` ``), a byte-order mark, CRLF line
ends, comment lines (also inside a continuation), line continuations with the escape character,
empty continuation lines, `--flag=value` words before an instruction's arguments, JSON
(exec-form) arguments, and here-documents (`RUN <<EOF`, `<<-EOF`, quoted names, several on one
line). Each instruction keeps its text as BuildKit keeps it (`original`), which is how it names
the step in its progress. tests/unit/core/dockerfile/data/dockerfile_syntax.json holds BuildKit's own
readings of a corpus of Dockerfiles (scripts/dockerfile-oracle.py), which this one must match.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from buildcache.errors import ConfigError

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
_HEREDOC = re.compile(r"^<<(-?)(['\"]?)([A-Za-z0-9_.-]+)\2$")


@dataclass(frozen=True)
class Heredoc:
    name: str
    content: str


@dataclass(frozen=True)
class Instruction:
    cmd: str  # as written (`from`, `RUN`): compare with .upper()
    original: str  # the instruction's text, continuations joined, as BuildKit names its step
    flags: tuple[str, ...]  # `--mount=type=cache,target=/x`, quotes taken off the value
    value: tuple[str, ...]  # its arguments, by the instruction's own rule
    json: bool = False  # exec form: `RUN ["a", "b"]`
    heredocs: tuple[Heredoc, ...] = ()
    line: int = 0  # the first line, from 1


_SYNTAX = re.compile(r"\A(?:[ \t]*#[^\n]*\n)*?[ \t]*#[ \t]*syntax[ \t]*=[ \t]*(\S+)", re.IGNORECASE)
# every instruction BuildKit's Dockerfile parser knows; any other word fails the build with a
# parse error that quotes the line
INSTRUCTIONS = frozenset(
    ("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
     "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")
)  # fmt: skip


def unknown_instruction(text: str) -> int | None:
    """The line of the first instruction BuildKit does not know (None: every one is known, or
    the text has none): a file that is not a Dockerfile at all, where BuildKit's error would
    print a line of it. A frontend other than docker/dockerfile (`# syntax=`) has words of its
    own: not checked."""
    syntax = _SYNTAX.search(text)
    if syntax and not syntax.group(1).startswith(
        ("docker/dockerfile", "docker.io/docker/dockerfile")
    ):
        return None
    try:
        found = parse_instructions(text)
    except ConfigError:
        return None  # BuildKit's own error quotes no line of these
    return next((i.line for i in found if i.cmd.upper() not in INSTRUCTIONS), None)


def parse_instructions(text: str) -> tuple[Instruction, ...]:
    """Every instruction of a Dockerfile. Raises ConfigError where BuildKit's parser would fail
    (no instruction, an unterminated here-document)."""
    lines = text.removeprefix("\ufeff").splitlines()
    escape = _escape_directive(lines)
    continuation = re.compile(
        rf"([^{re.escape(escape)}]){re.escape(escape)}[ \t]*$|^{re.escape(escape)}[ \t]*$"
    )
    found = list(_instructions(lines, continuation))
    if not found:
        raise ConfigError("the Dockerfile cannot be read: file with no instructions")
    return tuple(found)


def _escape_directive(lines: list[str]) -> str:
    """The escape character: `\\`, or what a `# escape=` directive at the top says."""
    for line in lines:
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            return match.group(2)
    return "\\"


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _joined(lines: list[str], start: int, continuation: re.Pattern[str]) -> tuple[str, int, bool]:
    """The logical line that starts at `start`: (its text, the index after it, whether it is
    empty). Comment lines and empty lines inside a continuation are left out."""
    first = lines[start].lstrip()
    if _is_comment(first):
        return "", start + 1, True
    line, ends = _trim_continuation(first, continuation)
    if ends and not line:
        return "", start + 1, True
    at = start + 1
    while not ends and at < len(lines):
        part = lines[at]
        at += 1
        if _is_comment(part) or not part.strip():
            continue
        more, ends = _trim_continuation(part, continuation)
        line += more
    return line, at, False


def _trim_continuation(line: str, continuation: re.Pattern[str]) -> tuple[str, bool]:
    if continuation.search(line):
        return continuation.sub(r"\1", line), False
    return line, True


def _instructions(lines: list[str], continuation: re.Pattern[str]) -> Iterator[Instruction]:
    at = 0
    while at < len(lines):
        start = at
        line, at, empty = _joined(lines, at, continuation)
        if empty:
            continue
        instruction = _instruction(line, start + 1)
        if instruction.cmd.upper() in _HEREDOC_INSTRUCTIONS and "<<" in line:
            instruction, at = _with_heredocs(instruction, lines, at)
        yield instruction


def _instruction(line: str, number: int) -> Instruction:
    parts = _WHITESPACE.split(line.strip(), maxsplit=1)
    cmd, rest = parts[0], parts[1] if len(parts) > 1 else ""
    flags, rest = _flags(rest)
    value, is_json = _arguments(cmd.upper(), rest)
    return Instruction(cmd, line, flags, value, is_json, line=number)


def _flags(rest: str) -> tuple[tuple[str, ...], str]:
    """The `--name=value` words before the arguments (`--` ends them), and what follows."""
    flags: list[str] = []
    while rest.startswith("--"):
        word, after = _first_word(rest)
        rest = after.lstrip()
        if word == "--":
            break
        flags.append(_unquoted(word))
    return tuple(flags), rest


def _first_word(text: str) -> tuple[str, str]:
    """A word up to whitespace that is neither quoted nor escaped, and the rest."""
    quote, escaped = "", False
    for n, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in " \t":
            return text[:n], text[n:]
    return text, ""


def _unquoted(word: str) -> str:
    try:
        return "".join(shlex.split(word, posix=True)) if any(q in word for q in "\"'") else word
    except ValueError:
        return word


Arguments = tuple[tuple[str, ...], bool]  # the values, and whether they were a JSON array


def _arguments(cmd: str, rest: str) -> Arguments:
    """An instruction's arguments, by its own rule (BuildKit's dispatch table)."""
    read = _READERS.get(cmd)
    if read is not None:
        return read(rest)
    return tuple(w for w in _WHITESPACE.split(rest.strip()) if w), False


def _one_string_or_json(rest: str) -> Arguments:
    """RUN, CMD, ENTRYPOINT, SHELL: a JSON array, or the whole rest as one string."""
    exec_form = _json_strings(rest)
    if exec_form is not None:
        return exec_form, True
    return ((rest.strip(),) if rest.strip() else ()), False


def _words_or_json(rest: str) -> Arguments:
    """COPY, ADD, VOLUME: a JSON array, or whitespace-separated words."""
    exec_form = _json_strings(rest)
    if exec_form is not None:
        return exec_form, True
    return tuple(w for w in _WHITESPACE.split(rest.strip()) if w), False


def _healthcheck(rest: str) -> Arguments:
    kind, _, command = rest.strip().partition(" ")
    exec_form = _json_strings(command)
    if exec_form is not None:
        return (kind, *exec_form), True
    return ((kind, command.strip()) if command.strip() else (kind,)), False


def _onbuild(rest: str) -> Arguments:
    inner = _instruction(rest, 0)
    return inner.value, inner.json


def _pairs(rest: str) -> tuple[str, ...]:
    """ENV and LABEL: name, value, name, value...; `ENV NAME the rest` is the old form."""
    words = _words(rest)
    if words and "=" not in words[0]:
        name, _, value = rest.strip().partition(" ")
        return (name, value.strip())
    pairs: list[str] = []
    for word in words:
        name, _, value = word.partition("=")
        pairs += [name, value]
    return tuple(pairs)


def _json_strings(rest: str) -> tuple[str, ...] | None:
    if not rest.lstrip().startswith("["):
        return None
    try:
        parsed = json.loads(rest)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
        return tuple(parsed)
    return None


def _words(rest: str) -> list[str]:
    """Words split on whitespace outside quotes, quotes kept (an ARG's `A="x y"`)."""
    words: list[str] = []
    text = rest.strip()
    while text:
        word, text = _first_word(text)
        words.append(word)
        text = text.lstrip()
    return words


def _with_heredocs(instruction: Instruction, lines: list[str], at: int) -> tuple[Instruction, int]:
    """The here-documents a RUN, COPY or ADD line opens, read from the lines after it."""
    heredocs: list[Heredoc] = []
    original = instruction.original
    for chomp, name in _heredoc_names(instruction.original):
        content = []
        while True:
            if at >= len(lines):
                raise ConfigError(
                    f"the Dockerfile cannot be read: unterminated heredoc {name} (line "
                    f"{instruction.line})"
                )
            line = lines[at]
            at += 1
            if (line.lstrip("\t") if chomp else line) == name:
                break
            content.append(line + "\n")
        heredocs.append(Heredoc(name, "".join(content)))
        original += "\n" + "".join(content) + name
    if not heredocs:
        return instruction, at
    return dataclasses.replace(instruction, original=original + "\n", heredocs=tuple(heredocs)), at


def _heredoc_names(line: str) -> list[tuple[bool, str]]:
    """(chomp, name) of each `<<NAME`, `<<-NAME`, `<<"NAME"` word, in order."""
    try:
        lexer = shlex.shlex(line, posix=False, punctuation_chars="")
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return []
    found = []
    for word in words:
        match = _HEREDOC.match(word)
        if match:
            found.append((match.group(1) == "-", match.group(3)))
    return found


_READERS: dict[str, Callable[[str], Arguments]] = {
    **dict.fromkeys(("RUN", "CMD", "ENTRYPOINT", "SHELL"), _one_string_or_json),
    **dict.fromkeys(("COPY", "ADD", "VOLUME"), _words_or_json),
    "ARG": lambda rest: (tuple(_words(rest)), False),
    "ENV": lambda rest: (_pairs(rest), False),
    "LABEL": lambda rest: (_pairs(rest), False),
    "HEALTHCHECK": _healthcheck,
    "ONBUILD": _onbuild,
}
