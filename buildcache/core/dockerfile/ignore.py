"""Pure: which files of a build context a .dockerignore keeps out, decided as docker decides it.

docker reads the file with moby's ignorefile reader and matches with moby's pattern matcher
(github.com/moby/patternmatcher); the client walks the context with fsutil, which carries each
folder's per-pattern results down to what is under it. A path's fate is therefore not "the last
pattern that matches it": a pattern that matched a folder matches everything under it, and an
exception (`!`) is only tried while the path is excluded, an inclusion only while it is not.
This module follows those rules, and their corners (`**` at the start is a suffix test, `**` at
the end a prefix test, `\\` escapes, `[a-c]` and `[^a]`, `..` cleaned away, a pattern Go's
`filepath.Match` refuses is an error), so that a miss is blamed on files the build really sent.
Its tests are moby's own tables, as data (tests/unit/core/dockerfile/data/patternmatcher.json).

The one difference: Go's regexp escapes that Python's `re` spells otherwise or lacks (`\\p{L}`,
`\\x41`, `\\Q...\\E`, octal) are refused here; nobody writes them in a .dockerignore.
"""

from __future__ import annotations

import posixpath
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

# Go's unicode.IsSpace (strings.TrimSpace): Python's str.strip() also strips \x1c-\x1f
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
GO_SPACE += "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
# characters a regexp gives a meaning that a file pattern does not: matched as themselves
REGEXP_ONLY = frozenset(".+()|{}$")
WILDCARDS = {"*": "[^/]*", "?": "[^/]"}  # neither crosses a folder
# escapes of a letter that mean the same to Go's regexp and Python's re (`\z`: Python's `\Z`)
SAME_ESCAPES = frozenset("afnrtvbBAdDsSwW")

MatchKind = Literal["exact", "prefix", "suffix", "regexp"]


class IgnoreError(ValueError):
    """A .dockerignore docker refuses: a build with it fails."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clean(path: str) -> str:
    """Go's filepath.Clean: the shortest path naming the same place (`a/../b` is `b`, `./a` is
    `a`, `/..` is `/`; `..` at the start of a relative path stays). POSIX's normpath, but for
    the two leading slashes POSIX keeps and Go does not."""
    cleaned = posixpath.normpath(path) if path else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def parent_of(path: str) -> str:
    """Go's filepath.Dir: everything before the last `/`, cleaned (`.` where there is none)."""
    return clean(path[: path.rfind("/") + 1])


def read_patterns(text: str) -> list[str]:
    """A .dockerignore's patterns, as moby's ignorefile.ReadAll gives them: a byte order mark
    dropped, a line starting with `#` a comment (only in the first column), each line trimmed,
    cleaned, and a leading `/` dropped; `!` kept in front."""
    patterns = []
    for raw in text.removeprefix("\ufeff").split("\n"):
        line = raw.strip(GO_SPACE)
        if line and not raw.startswith("#"):
            body = line.removeprefix("!").strip(GO_SPACE)
            body = clean(body).removeprefix("/") or "/" if body else ""
            patterns.append("!" * line.startswith("!") + body)
    return patterns


@dataclass(frozen=True)
class Pattern:
    """One cleaned pattern (without its `!`), compiled as moby compiles it."""

    text: str
    exclusion: bool
    kind: MatchKind
    regexp: str = ""  # as moby writes it (Go syntax), for a "regexp" pattern
    compiled: re.Pattern[str] | None = field(default=None, compare=False)
    error: str | None = None  # the regexp does not compile: matching it fails the build

    def matches(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or "/" + path == suffix  # `**/foo` matches `foo`
        if self.compiled is None:
            raise IgnoreError(
                f"the .dockerignore pattern {self.text!r} is not valid ({self.error})"
            )
        return self.compiled.match(path) is not None


def compile_pattern(text: str, exclusion: bool = False) -> Pattern:
    """A cleaned pattern: an exact name, a prefix (`dir/**`), a suffix (`**/name`, `**name`),
    or a regexp (`*` and `?` within a folder, `**/` any folders, `[...]`, `\\` escapes)."""
    kind: MatchKind = "exact"
    go, py = ["^"], ["^"]
    refused = False  # an escape Go's regexp reads that Python's re cannot say the same way
    for step, (token, escaped, at_end) in enumerate(_tokens(text)):
        if token == "**" and not escaped:
            kind = _double_star(kind, at_end, go, py)
            kind = "suffix" if step == 0 else kind
            continue
        go_piece, py_piece, is_regexp = _piece(token, escaped)
        go.append(go_piece)
        py.append(py_piece or "")
        refused = refused or py_piece is None
        kind = "regexp" if is_regexp else kind
    if kind != "regexp":
        return Pattern(text, exclusion, kind)
    if refused:
        return Pattern(text, exclusion, "regexp", "".join(go) + "$", None, "an unknown escape")
    return _regexp_pattern(text, exclusion, "".join(go) + "$", "".join(py) + r"\Z")


def _piece(token: str, escaped: bool) -> tuple[str, str | None, bool]:
    """One character of a pattern in Go's regexp and in Python's (None: Python's cannot say
    it), and whether it makes the pattern a regexp."""
    if escaped:
        return "\\" + token, _python_escape(token), True
    if token in WILDCARDS:
        return WILDCARDS[token], WILDCARDS[token], True
    literal = "\\" + token if token in REGEXP_ONLY else token
    return literal, literal, token in "[]"


def _double_star(kind: MatchKind, at_end: bool, go: list[str], py: list[str]) -> MatchKind:
    """`**` at the end: everything (a prefix test where all before it was literal); elsewhere
    any number of folders, none included."""
    if at_end and kind == "exact":
        return "prefix"
    piece = ".*" if at_end else "(.*/)?"
    go.append(piece)
    py.append(piece)
    return "regexp"


def _tokens(text: str) -> Iterator[tuple[str, bool, bool]]:
    """The pattern's tokens as moby's compiler reads them, each with whether it is escaped and
    whether the pattern ends after it: `**` (eating the `/` after it), an escaped character, or
    any one character."""
    i = 0
    while i < len(text):
        if text.startswith("**", i):
            i += 3 if text.startswith("/", i + 2) else 2
            yield "**", False, i >= len(text)
        elif text[i] == "\\" and i + 1 < len(text):
            i += 2
            yield text[i - 1], True, i >= len(text)
        else:
            i += 1
            yield text[i - 1], False, i >= len(text)


def _python_escape(char: str) -> str | None:
    """An escaped character as Python's re spells what Go's regexp reads; None for one Go
    refuses (`\\q`, `\\é`, a backreference) or reads in a way kept out of here."""
    if char.isascii() and not char.isalnum():
        return re.escape(char)
    if char in SAME_ESCAPES:
        return "\\" + char
    if char == "z":
        return r"\Z"
    return None


def _regexp_pattern(text: str, exclusion: bool, go: str, py: str) -> Pattern:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `[[`: a nested set to come, a literal `[` today
            compiled = re.compile(py)
    except re.error as error:
        return Pattern(text, exclusion, "regexp", go, None, str(error))
    return Pattern(text, exclusion, "regexp", go, compiled)


def check_syntax(pattern: str) -> None:
    """Raises IgnoreError where Go's filepath.Match refuses the pattern (moby checks each one
    with it): a `[` class left open or empty, a range with no end, a `\\` with nothing after."""
    for chunk in _chunks(pattern):
        _check_chunk(pattern, chunk)


def _chunks(pattern: str) -> Iterator[str]:
    """The pattern cut at each `*` outside a class, as filepath.Match scans it."""
    rest = pattern
    while rest:
        rest = rest.lstrip("*")
        i, in_class = 0, False
        while i < len(rest) and (rest[i] != "*" or in_class):
            if rest[i] == "\\" and i + 1 < len(rest):
                i += 1
            elif rest[i] in "[]":
                in_class = rest[i] == "["
            i += 1
        yield rest[:i]
        rest = rest[i:]


def _check_chunk(pattern: str, chunk: str) -> None:
    i = 0
    while i < len(chunk):
        if chunk[i] == "[":
            i = _check_class(pattern, chunk, i + 1)
        elif chunk[i] == "\\":
            if i + 1 == len(chunk):
                raise _syntax_error(pattern)
            i += 2
        else:
            i += 1


def _check_class(pattern: str, chunk: str, i: int) -> int:
    """Past a class's `[`: where it ends, or IgnoreError."""
    i += 1 if chunk.startswith("^", i) else 0
    ranges = 0
    while not (ranges and chunk.startswith("]", i)):
        i = _class_char(pattern, chunk, i)
        if chunk[i] == "-":
            i = _class_char(pattern, chunk, i + 1)
        ranges += 1
    return i + 1


def _class_char(pattern: str, chunk: str, i: int) -> int:
    """Past one character of a class (escaped or not), which something must follow."""
    if i >= len(chunk) or chunk[i] in "-]":
        raise _syntax_error(pattern)
    if chunk[i] == "\\":
        i += 1
    if i + 1 >= len(chunk):
        raise _syntax_error(pattern)
    return i + 1


def _syntax_error(pattern: str) -> IgnoreError:
    return IgnoreError(f"the .dockerignore pattern {pattern!r} is not valid (syntax error)")


@dataclass(frozen=True)
class PatternMatcher:
    """moby's PatternMatcher: the patterns in order, each tried only while it could change the
    answer (an exception while the path is excluded, an inclusion while it is not)."""

    patterns: tuple[Pattern, ...]

    @classmethod
    def new(cls, lines: Sequence[str]) -> PatternMatcher:
        """Raises IgnoreError for a lone `!` or a pattern filepath.Match refuses."""
        patterns = []
        for line in lines:
            text = line.strip(GO_SPACE)
            if not text:
                continue
            text = clean(text)
            exclusion = text.startswith("!")
            if exclusion and text == "!":
                raise IgnoreError('the .dockerignore holds an illegal exclusion pattern: "!"')
            text = text[1:] if exclusion else text
            check_syntax(text)
            patterns.append(compile_pattern(text, exclusion))
        return cls(tuple(patterns))

    @property
    def exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def matches_or_parent_matches(self, path: str) -> bool:
        """Whether the path is excluded, each pattern tried on it and on each of its folders."""
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion == matched and _matches_or_parent(pattern, path):
                matched = not pattern.exclusion
        return matched

    def matches_using_parent_results(
        self, path: str, parent: tuple[bool, ...] = ()
    ) -> tuple[bool, tuple[bool, ...]]:
        """Whether the path is excluded, and which patterns match it (for what is under it):
        a pattern that matched its folder (`parent`) matches it too; with no `parent`, each
        pattern is tried on the path's folders as well."""
        matched, found = False, []
        for number, pattern in enumerate(self.patterns):
            match = bool(parent) and parent[number]
            if not match and pattern.exclusion == matched:
                match = _matches_or_parent(pattern, path) if not parent else pattern.matches(path)
            found.append(match)
            if match:
                matched = not pattern.exclusion
        return matched, tuple(found)


def _matches_or_parent(pattern: Pattern, path: str) -> bool:
    """The pattern matches the path or one of its folders (whose errors moby ignores)."""
    if pattern.matches(path):
        return True
    folder = parent_of(path)
    if folder == ".":
        return False
    parts = folder.split("/")
    return any(_quiet_match(pattern, "/".join(parts[: n + 1])) for n in range(len(parts)))


def _quiet_match(pattern: Pattern, path: str) -> bool:
    try:
        return pattern.matches(path)
    except IgnoreError:
        return False


def matches_or_parent_matches(path: str, lines: Sequence[str]) -> bool:
    """moby's MatchesOrParentMatches: the path cleaned; the context itself is never excluded."""
    matcher = PatternMatcher.new(lines)
    path = clean(path)
    return path != "." and matcher.matches_or_parent_matches(path)


class DockerIgnore:
    """A context's .dockerignore as the walk that sends the context applies it: each folder's
    per-pattern results carried down to what is under it."""

    def __init__(self, matcher: PatternMatcher, refused: IgnoreError | None = None) -> None:
        self.matcher = matcher
        self.refused = refused  # docker refuses the file: every question is answered by it
        self._folders: dict[str, tuple[bool, ...]] = {}

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        """Raises IgnoreError where docker refuses the file."""
        return cls(PatternMatcher.new(read_patterns(text)))

    @classmethod
    def refusing(cls, error: IgnoreError) -> DockerIgnore:
        """A file docker refuses: asking it raises the error (the build would fail on it)."""
        return cls(PatternMatcher(()), error)

    def excludes(self, path: str) -> bool:
        """Whether the file at `path` (relative to the context, `/`-separated) is not sent.
        Raises IgnoreError where a pattern tried on it is not valid (docker's build fails)."""
        if self.refused is not None:
            raise self.refused
        parts = path.split("/")
        results: tuple[bool, ...] = ()
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in self._folders:
                _, self._folders[folder] = self.matcher.matches_using_parent_results(
                    folder, results
                )
            results = self._folders[folder]
        return self.matcher.matches_using_parent_results(path, results)[0]
