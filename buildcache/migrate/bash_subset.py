"""Pure: a workflow's `run:` step simulated, never run, for what it writes to `$GITHUB_OUTPUT`
(`init --from` reads the tags and versions a shell step computes).

A reader of the subset of bash release steps use: assignments and parameter expansions,
`if`/`elif`/`else`, `case`, `for`, `[ ]`/`[[ ]]`/`test`, `&&`/`||`, `{ ...; } >> "$GITHUB_OUTPUT"`,
`echo`, `printf`, `cat <<EOF`, `$(echo ... | tr/cut)`. No process is started: whatever else a
script runs is not run, a value it would make is UNKNOWN, and so is every tag that holds one. It
answers as bash does on every runner (bash 3.2 on macOS, 5 on Linux): only forms both agree on
are read, anything else is UNKNOWN.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from buildcache.core.dockerfile import parameters
from buildcache.migrate.expressions import UNKNOWN

OUTPUT_FILE = "/github/output"  # what $GITHUB_OUTPUT holds in the simulation


@dataclass(frozen=True)
class _Token:
    kind: str  # word, op, heredoc
    text: str
    quoted: bool = False  # a heredoc whose delimiter was quoted: no expansions in its body


_OPERATORS = (";;", "&&", "||", ">>", "<<", ";", "|", ">", "<", "(", ")", "\n")


def _tokens(script: str) -> list[_Token]:
    """The script's words and operators, each heredoc's body right after its delimiter."""
    lexer = _Lexer(script.replace("\\\n", ""))
    return lexer.run()


@dataclass
class _Lexer:
    text: str
    at: int = 0
    tokens: list[_Token] = field(default_factory=list)
    pending: list[tuple[str, bool, int]] = field(default_factory=list)  # heredocs to read

    def run(self) -> list[_Token]:
        while self.at < len(self.text):
            self._next()
        return self.tokens

    def _next(self) -> None:
        char = self.text[self.at]
        if char in " \t":
            self.at += 1
        elif char == "#" and (
            self.at == 0 or self.text[self.at - 1] in " \t\n;"
        ):  # a comment: # at a word's start
            while self.at < len(self.text) and self.text[self.at] != "\n":
                self.at += 1
        elif char == "\n":
            self.tokens.append(_Token("op", "\n"))
            self.at += 1
            self._heredocs()
        else:
            self._operator_or_word()

    def _operator_or_word(self) -> None:
        for op in _OPERATORS:
            if self.text.startswith(op, self.at):
                self.at += len(op)
                if op == "<<":
                    self._heredoc_start()
                else:
                    self.tokens.append(_Token("op", op))
                return
        self.tokens.append(_Token("word", self._word()))

    def _word(self) -> str:
        start = self.at
        while self.at < len(self.text):
            char = self.text[self.at]
            if char in "'\"":
                self._skip_quoted(char)
            elif char == "$" and self.text.startswith(("$(", "${"), self.at):
                self._skip_nested()
            elif char in " \t\n;&|<>()":
                if char == "&" and not self.text.startswith("&&", self.at):
                    self.at += 1
                    continue
                break
            else:
                self.at += 1
        return self.text[start : self.at]

    def _skip_quoted(self, quote: str) -> None:
        self.at += 1
        while self.at < len(self.text) and self.text[self.at] != quote:
            if quote == '"' and self.text.startswith(("$(", "${"), self.at):
                self._skip_nested()
                continue
            self.at += 2 if self.text[self.at] == "\\" and quote == '"' else 1
        self.at += 1

    def _skip_nested(self) -> None:
        """$( ... ) or ${ ... }, nested ones within."""
        close = ")" if self.text[self.at + 1] == "(" else "}"
        opening = self.text[self.at + 1]
        depth, self.at = 1, self.at + 2
        while self.at < len(self.text) and depth:
            char = self.text[self.at]
            if char in "'\"":
                self._skip_quoted(char)
                continue
            depth += {opening: 1, close: -1}.get(char, 0)
            self.at += 1

    def _heredoc_start(self) -> None:
        strip = self.text.startswith("-", self.at)
        self.at += 1 if strip else 0
        while self.text[self.at : self.at + 1] in (" ", "\t"):
            self.at += 1
        word = self._word()
        self.tokens.append(_Token("op", "<<"))
        self.pending.append((word.strip("'\""), word != word.strip("'\""), len(self.tokens)))
        self.tokens.append(_Token("heredoc", ""))  # its body, once its line has ended

    def _heredocs(self) -> None:
        """The bodies of the heredocs the line just ended opened."""
        for delimiter, quoted, index in self.pending:
            lines = []
            while self.at < len(self.text):
                end = self.text.find("\n", self.at)
                end = len(self.text) if end < 0 else end
                line = self.text[self.at : end]
                self.at = end + 1
                if line.strip() == delimiter:
                    break
                lines.append(line.lstrip("\t") + "\n")
            self.tokens[index] = _Token("heredoc", "".join(lines), quoted)
        self.pending = []


# The script's commands


@dataclass
class _Command:
    words: list[str]
    output: str | None = None  # the file of a `>` or `>>` redirect
    heredoc: _Token | None = None


@dataclass
class _Node:
    kind: str  # command, pipe, andor, if, for, case, group
    command: _Command | None = None
    parts: list[_Node] = field(default_factory=list)  # pipe: its commands; andor: its commands
    ops: list[str] = field(default_factory=list)  # andor: && or || before each part but the first
    branches: list[tuple[list[_Node], list[_Node]]] = field(default_factory=list)  # if, case
    words: list[str] = field(default_factory=list)  # for: the variable then its list; case: word
    body: list[_Node] = field(default_factory=list)  # for, group, if's else
    patterns: list[list[str]] = field(default_factory=list)  # case: each arm's patterns
    output: str | None = None  # a group's redirect


class _ParseError(Exception):
    """The script is not in the subset read."""


@dataclass
class _Parser:
    tokens: list[_Token]
    at: int = 0

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _is(self, *texts: str) -> bool:
        token = self._peek()
        return token is not None and token.text in texts

    def _take(self) -> _Token:
        token = self._peek()
        if token is None:
            raise _ParseError("the script ends early")
        self.at += 1
        return token

    def _expect(self, text: str) -> None:
        self._skip_separators()
        if self._take().text != text:
            raise _ParseError(f"expected {text}")

    def _skip_separators(self) -> None:
        while self._is("\n", ";"):
            self.at += 1

    def statements(self, *stops: str) -> list[_Node]:
        nodes: list[_Node] = []
        while True:
            self._skip_separators()
            token = self._peek()
            if token is None or (token.kind == "word" and token.text in stops) or self._is(";;"):
                return nodes
            nodes.append(self._and_or())

    def _and_or(self) -> _Node:
        node = _Node("andor", parts=[self._pipeline()])
        while self._is("&&", "||"):
            node.ops.append(self._take().text)
            while self._is("\n"):
                self.at += 1
            node.parts.append(self._pipeline())
        return node

    def _pipeline(self) -> _Node:
        node = _Node("pipe", parts=[self._compound()])
        while self._is("|"):
            self._take()
            node.parts.append(self._compound())
        return node

    def _compound(self) -> _Node:
        token = self._peek()
        word = token.text if token is not None and token.kind == "word" else ""
        compounds = {"if": self._if, "for": self._for, "case": self._case, "{": self._group}
        node = compounds[word]() if word in compounds else self._command()
        if node.kind != "command":
            node.output = self._redirects(_Command([])).output
        return node

    def _if(self) -> _Node:
        node = _Node("if")
        while self._is("if", "elif"):
            self._take()
            condition = self.statements("then")
            self._expect("then")
            node.branches.append((condition, self.statements("elif", "else", "fi")))
        if self._is("else"):
            self._take()
            node.body = self.statements("fi")
        self._expect("fi")
        return node

    def _for(self) -> _Node:
        self._take()
        node = _Node("for", words=[self._take().text])
        if self._is("in"):
            self._take()
            while self._peek() is not None and not self._is(";", "\n"):
                node.words.append(self._take().text)
        self._expect("do")
        node.body = self.statements("done")
        self._expect("done")
        return node

    def _case(self) -> _Node:
        self._take()
        node = _Node("case", words=[self._take().text])
        self._expect("in")
        self._skip_separators()
        while not self._is("esac"):
            node.patterns.append(self._case_patterns())
            node.branches.append(([], self.statements("esac")))
            if self._is(";;"):
                self._take()
            self._skip_separators()
        self._take()
        return node

    def _case_patterns(self) -> list[str]:
        if self._is("("):
            self._take()
        patterns = [self._take().text]
        while self._is("|"):
            self._take()
            patterns.append(self._take().text)
        if self._take().text != ")":
            raise _ParseError("a case pattern without )")
        return patterns

    def _group(self) -> _Node:
        self._take()
        node = _Node("group", body=self.statements("}"))
        self._expect("}")
        return node

    def _command(self) -> _Node:
        command = _Command([])
        if self._is("[["):  # [[ ... ]] holds && and || of its own
            while self._peek() is not None and not self._is("]]"):
                command.words.append(self._take().text)
            command.words.append(self._take().text)
        while (token := self._peek()) is not None and token.kind == "word" and token.text != "}":
            command.words.append(self._take().text)
            self._redirects(command)
        if not command.words:
            raise _ParseError(f"unexpected {self._take().text!r}")
        return _Node("command", command=self._redirects(command))

    def _redirects(self, command: _Command) -> _Command:
        while self._is(">", ">>", "<", "<<"):
            op = self._take()
            target = self._take()
            if target.kind == "heredoc":
                command.heredoc = target
            elif op.text in (">", ">>"):
                command.output = target.text
        return command


# Running it


class _Exit(Exception):
    """`exit`: the script stops there."""


@dataclass
class _Shell:
    env: dict[str, str]
    output: list[str] = field(default_factory=list)  # what $GITHUB_OUTPUT is given
    stdout: list[list[str]] = field(default_factory=lambda: [[]])

    def run(self, nodes: list[_Node]) -> int:
        status = 0
        for node in nodes:
            status = self.node(node)
        return status

    def node(self, node: _Node) -> int:
        if node.output is not None:
            return self._redirected(node)
        runs: dict[str, Callable[[_Node], int]] = {
            "andor": self._and_or,
            "pipe": self._pipe,
            "if": self._if,
            "for": self._for,
            "case": self._case,
            "group": lambda n: self.run(n.body),
        }
        if node.kind == "command" and node.command is not None:
            return self.command(node.command)
        return runs[node.kind](node)

    def _redirected(self, node: _Node) -> int:
        """A group (or loop) whose output goes to a file: $GITHUB_OUTPUT's is kept."""
        self.stdout.append([])
        status = self.node(_Node(**{**node.__dict__, "output": None}))
        written = "".join(self.stdout.pop())
        if self._expand_one(node.output or "") == OUTPUT_FILE:
            self.output.append(written)
        return status

    def _and_or(self, node: _Node) -> int:
        status = self.node(node.parts[0])
        for op, part in zip(node.ops, node.parts[1:], strict=True):
            if (op == "&&") == (status == 0):
                status = self.node(part)
        return status

    def _pipe(self, node: _Node) -> int:
        if len(node.parts) == 1:
            return self.node(node.parts[0])
        self.stdout.append([])
        self.node(node.parts[0])
        text = "".join(self.stdout.pop())
        for part in node.parts[1:]:
            text = self._filter(part, text)
        self.stdout[-1].append(text)
        return 0

    def _filter(self, node: _Node, text: str) -> str:
        """`tr` (to lower or upper case) and `cut -d X -f N,M`: what tag scripts pipe through."""
        words = self._words(node.command) if node.kind == "command" else []
        if words[:1] == ["tr"] and len(words) == 3:
            lower, upper = "[:lower:]", "[:upper:]"
            if words[1:] in ([upper, lower], ["A-Z", "a-z"]):
                return text.lower()
            if words[1:] in ([lower, upper], ["a-z", "A-Z"]):
                return text.upper()
        if words[:1] == ["cut"]:
            return _cut(words[1:], text)
        return UNKNOWN + "\n"

    def _if(self, node: _Node) -> int:
        for condition, body in node.branches:
            if self.run(condition) == 0:
                return self.run(body)
        return self.run(node.body)

    def _for(self, node: _Node) -> int:
        status = 0
        values = [v for word in node.words[1:] for v in self._expand(word)]
        for value in values:
            self.env[node.words[0]] = value
            status = self.run(node.body)
        return status

    def _case(self, node: _Node) -> int:
        word = self._expand_one(node.words[0])
        for patterns, (_, body) in zip(node.patterns, node.branches, strict=True):
            if any(fnmatch.fnmatchcase(word, self._expand_one(p)) for p in patterns):
                return self.run(body)
        return 0

    def command(self, command: _Command) -> int:
        words = command.words
        if all(_ASSIGNMENT.match(w) for w in words):
            for word in words:
                name, _, value = word.partition("=")
                self.env[name] = self._expand_one(value)
            return 0
        if command.output is not None:
            inner = _Command(command.words, heredoc=command.heredoc)
            body = [_Node("command", command=inner)]
            return self._redirected(_Node("group", body=body, output=command.output))
        return self._builtin(self._words(command), command)

    def _words(self, command: _Command | None) -> list[str]:
        return [v for word in (command.words if command else []) for v in self._expand(word)]

    def _builtin(self, words: list[str], command: _Command) -> int:
        name = words[0] if words else ""
        if name in ("export", "local", "readonly", "declare"):
            return self.command(_Command([w for w in command.words[1:] if not w.startswith("-")]))
        handlers: dict[str, Callable[[list[str], _Command], int]] = {
            "echo": self._echo,
            "printf": self._printf,
            "cat": self._cat,
            "[": self._test,
            "[[": self._test,
            "test": self._test,
            "exit": self._exit,
        }
        if name in handlers:
            return handlers[name](words, command)
        if name == "unset":
            for variable in words[1:]:
                self.env.pop(variable, None)
        elif name not in _SILENT:
            self._write(UNKNOWN + "\n")  # another program: what it prints is not known
        return 1 if name == "false" else 0

    def _echo(self, words: list[str], command: _Command) -> int:
        args = words[1:]
        newline = "\n"
        while args and args[0] in ("-n", "-e", "-E", "-ne", "-en"):
            newline = "" if "n" in args.pop(0) else newline
        self._write(" ".join(args) + newline)
        return 0

    def _printf(self, words: list[str], command: _Command) -> int:
        if len(words) < 2:
            return 1
        template = words[1].replace("\\n", "\n").replace("\\t", "\t")
        args = words[2:] or [""]
        count = max(template.count("%s"), 1)
        for start in range(0, len(args), count):
            values = [*args[start : start + count], *[""] * count]
            pieces = template.split("%s")
            self._write(
                pieces[0] + "".join(v + p for v, p in zip(values, pieces[1:], strict=False))
            )
        return 0

    def _cat(self, words: list[str], command: _Command) -> int:
        if command.heredoc is None:
            self._write(UNKNOWN + "\n")
            return 0
        body = command.heredoc.text
        self._write(body if command.heredoc.quoted else self._expand_text(body))
        return 0

    def _exit(self, words: list[str], command: _Command) -> int:
        raise _Exit()

    def _write(self, text: str) -> None:
        # the old workflow command (`::set-output name=tags::...`) is an output too
        for name, value in re.findall(r"^::set-output name=([\w-]+)::(.*)$", text, re.M):
            self.output.append(f"{name}={value}\n")
        self.stdout[-1].append(text)

    def _test(self, words: list[str], command: _Command) -> int:
        raw = command.words[1:-1] if command.words[-1] in ("]", "]]") else command.words[1:]
        return 0 if _TestReader(self, raw).either() else 1

    # expansions

    def _expand(self, word: str) -> list[str]:
        """A word's values: expanded, and split on blanks outside quotes."""
        parts: list[str] = [""]
        for text, quoted in _word_parts(word):
            value = self._expand_text(text) if quoted != "'" else text
            if quoted:
                parts[-1] += value
            else:
                pieces = value.split()
                if not pieces:
                    continue
                leading, trailing = value[:1].isspace(), value[-1:].isspace()
                if leading and parts[-1]:
                    parts.append("")
                parts[-1] += pieces[0]
                parts += pieces[1:]
                if trailing:
                    parts.append("")
        return [p for p in parts if p] or ([""] if any(q for _, q in _word_parts(word)) else [])

    def _expand_one(self, word: str) -> str:
        """A word's value where bash does not split it (an assignment, a case word)."""
        return "".join(
            text if quoted == "'" else self._expand_text(text) for text, quoted in _word_parts(word)
        )

    def _expand_text(self, text: str) -> str:
        return _PARAMETER.sub(self._parameter, text).replace('\\"', '"').replace("\\$", "$")

    def _parameter(self, match: re.Match[str]) -> str:
        if match.group("command") is not None:
            return self._substituted(match.group("command"))
        name = match.group("name") or match.group("braced") or ""
        value = self.env.get(name)
        operator, argument = match.group("op") or "", match.group("arg") or ""
        return parameters.substitute(
            value, operator, self._expand_one(argument) if argument else ""
        )

    def _substituted(self, script: str) -> str:
        """$( ... ): what the script prints, its last newline dropped."""
        self.stdout.append([])
        try:
            self.run(_parse(script))
        except (_ParseError, _Exit):
            self.stdout[-1].append(UNKNOWN)
        return "".join(self.stdout.pop()).rstrip("\n")


# commands that print nothing a tag could be made of
_SILENT = frozenset({"set", "shopt", "cd", "mkdir", "true", "false", ":", "unset", "shift", "trap"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
# a parameter (core/dockerfile/parameters.py, shared with the Dockerfile's reader) or a $( ) beside it
_PARAMETER = re.compile(rf"{parameters.PARAMETER_PATTERN}|\$\((?P<command>(?:[^()]|\([^()]*\))*)\)")


def _cut(args: list[str], text: str) -> str:
    joined = " ".join(args)
    delimiter = re.search(r"-d\s*(['\"]?)(.)\1", joined)
    fields = re.search(r"-f\s*([\d,\-]+)", joined)
    if delimiter is None or fields is None:
        return UNKNOWN + "\n"
    sep = delimiter.group(2)
    wanted = _field_numbers(fields.group(1))
    lines = [
        sep.join(p for n, p in enumerate(line.split(sep), 1) if n in wanted)
        for line in text.splitlines()
    ]
    return "\n".join(lines) + "\n"


def _field_numbers(spec: str) -> set[int]:
    numbers: set[int] = set()
    for part in spec.split(","):
        low, _, high = part.partition("-")
        start = int(low or 1)
        numbers.update(range(start, int(high) + 1) if high else [start])
        if part.endswith("-"):
            numbers.update(range(start, 100))
    return numbers


def _word_parts(word: str) -> list[tuple[str, str]]:
    """A word's pieces with their quoting: '' none, "'" single, '"' double."""
    parts, at = [], 0
    while at < len(word):
        char = word[at]
        if char in "'\"":
            end = _closing(word, at)
            parts.append((word[at + 1 : end], char))
            at = end + 1
        else:
            end = at
            while end < len(word) and word[end] not in "'\"":
                end = _past_nested(word, end)
            parts.append((word[at:end], ""))
            at = end
    return parts


def _closing(word: str, at: int) -> int:
    quote, end = word[at], at + 1
    while end < len(word) and word[end] != quote:
        if quote == '"' and word.startswith(("$(", "${"), end):
            end = _past_nested(word, end)
            continue
        end += 2 if quote == '"' and word[end] == "\\" else 1
    return end


def _past_nested(word: str, at: int) -> int:
    """The index after the character at `at`, or after the $( ) or ${ } that starts there."""
    if not word.startswith(("$(", "${"), at):
        return at + 1
    opening, close = word[at + 1], ")" if word[at + 1] == "(" else "}"
    depth, end = 1, at + 2
    while end < len(word) and depth:
        depth += {opening: 1, close: -1}.get(word[end], 0)
        end += 1
    return end


@dataclass
class _TestReader:
    """The expression of `[ ]`, `[[ ]]` or `test`: -n, -z, = == != =~, !, -a -o && ||."""

    shell: _Shell
    words: list[str]
    at: int = 0

    def _peek(self) -> str:
        return self.words[self.at] if self.at < len(self.words) else ""

    def either(self) -> bool:
        value = self.both()
        while self._peek() in ("-o", "||"):
            self.at += 1
            value = self.both() or value
        return value

    def both(self) -> bool:
        value = self.one()
        while self._peek() in ("-a", "&&"):
            self.at += 1
            value = self.one() and value
        return value

    def one(self) -> bool:
        word = self._peek()
        self.at += 1
        if word == "!":
            return not self.one()
        if word == "(":
            value = self.either()
            self.at += 1
            return value
        if word in ("-n", "-z") and self.at < len(self.words):
            operand = self.shell._expand_one(self._peek())
            self.at += 1
            return bool(operand) == (word == "-n")
        return self._binary(word)

    def _binary(self, left_word: str) -> bool:
        left = self.shell._expand_one(left_word)
        operator = self._peek()
        if operator not in ("=", "==", "!=", "=~"):
            return bool(left)
        right_word = self.words[self.at + 1] if self.at + 1 < len(self.words) else ""
        self.at += 2
        right = self.shell._expand_one(right_word)
        if operator == "=~":
            return re.search(right, left) is not None
        quoted = right_word[:1] in "'\""
        equal = left == right if quoted else fnmatch.fnmatchcase(left, right)
        return equal == (operator != "!=")


def _parse(script: str) -> list[_Node]:
    parser = _Parser(_tokens(script))
    nodes = parser.statements()
    if parser.at < len(parser.tokens):
        raise _ParseError(f"unexpected {parser.tokens[parser.at].text!r}")
    return nodes


@dataclass(frozen=True)
class StepRun:
    """What a run step wrote to $GITHUB_OUTPUT, or why it could not be read."""

    outputs: Mapping[str, str]
    problem: str | None = None


def run_step(script: str, env: Mapping[str, str]) -> StepRun:
    """The outputs `script` writes, run in bash's way with `env` (its `${{ }}` already filled)."""
    shell = _Shell(env={**env, "GITHUB_OUTPUT": OUTPUT_FILE})
    try:
        nodes = _parse(script)
    except (_ParseError, LookupError, RecursionError) as error:
        return StepRun({}, f"its script is beyond what init reads ({error})")
    try:
        shell.run(nodes)
    except _Exit:
        pass
    except (_ParseError, LookupError, ValueError, re.error, RecursionError) as error:
        return StepRun({}, f"its script is beyond what init reads ({error})")
    return StepRun(output_values("".join(shell.output)))


def output_values(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT's lines as GitHub reads them: `name=value`, or `name<<DELIMITER` then
    lines up to the delimiter."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        heredoc = re.match(r"^([\w-]+)<<(.+)$", line)
        if heredoc:
            body = []
            for inner in lines:
                if inner == heredoc.group(2):
                    break
                body.append(inner)
            values[heredoc.group(1)] = "\n".join(body)
        elif "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
    return values
