"""Pure: docker/metadata-action's tag rules (`[tags] rules` and `flavor`), in its own words.

Each rule is one line of metadata-action's `tags` input (`type=semver,pattern={{major}}.{{minor}}`,
`type=ref,event=pr`, `type=raw,value=edge,enable={{is_default_branch}}`, ...) and each flavor
line one of its `flavor` input (`latest=auto`, `prefix=x-,onlatest=true`); they give the tags
metadata-action gives for the same event: by priority, the first one the run's version, the rest
after it, `latest` last where the first rule that gave a tag says so. Its own test table is
ported as data (tests/unit/core/plan/data/metadata_action.json) and passes here.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from buildcache.errors import UsageError

KINDS = ("schedule", "semver", "pep440", "match", "edge", "ref", "raw", "sha")
PRIORITIES = {
    "schedule": 1000, "semver": 900, "pep440": 900, "match": 800, "edge": 700, "ref": 600,
    "raw": 200, "sha": 100,
}  # fmt: skip
# metadata-action's tags when no rule is given
DEFAULT_RULES = (
    "type=schedule",
    "type=ref,event=branch",
    "type=ref,event=tag",
    "type=ref,event=pr",
)
_SEMVER = re.compile(
    r"^[v=]?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_MUSTACHE = re.compile(r"\{\{\s*(?P<name>[A-Za-z_]\w*)(?P<args>[^}]*)\}\}")
_GIT_TAG = re.compile(r"\{\{\s*tag\s*\}\}")
_MOMENT_TOKENS = re.compile(r"YYYY|YY|MM|M|DD|D|HH|H|hh|mm|m|ss|s|SSS|SS|S|A|a|ZZ|Z")


@dataclass(frozen=True)
class Rule:
    kind: str
    attrs: Mapping[str, str]
    text: str  # as written, for the plan's "rule" column

    @property
    def priority(self) -> float:
        return float(self.attrs["priority"])


@dataclass(frozen=True)
class Flavor:
    latest: str = "auto"  # auto, true, false
    prefix: str = ""
    suffix: str = ""
    prefix_latest: bool = False
    suffix_latest: bool = False


@dataclass(frozen=True, kw_only=True)
class RuleEvent:
    """What the rules read of the run, as metadata-action's context holds it."""

    ref: str  # refs/heads/main, refs/tags/v1.2.3, refs/pull/15/merge; "" where there is none
    event: str  # push, pull_request, schedule, workflow_dispatch, ...
    sha: str = ""
    default_branch: str | None = None  # the repository's: edge's branch, is_default_branch
    base_ref: str | None = None  # a tag push's base_ref
    pr_base_ref: str | None = None  # a pull request's base branch
    now: datetime
    commit_date: datetime | None = None
    short_sha_length: int = 7


@dataclass(frozen=True)
class RuleTag:
    """One tag the rules gave: as written, its value before the prefix and suffix (what the
    release's version is found in), and its rule."""

    name: str
    bare: str
    rule: Rule


@dataclass
class RuleTags:
    """metadata-action's version: the first tag (its `version` output), the others, whether
    latest moves; each tag with the rule that made it."""

    tags: list[RuleTag] = field(default_factory=list)
    latest: bool | None = None

    @property
    def main(self) -> str | None:
        return self.tags[0].name if self.tags else None

    @property
    def partial(self) -> list[tuple[str, Rule]]:
        return [(tag.name, tag.rule) for tag in self.tags[1:]]

    def add(self, value: str, rule: Rule, latest: bool, bare: str = "") -> None:
        if not value:
            return
        value = sanitized(value)
        if value not in (tag.name for tag in self.tags):  # each tag once
            self.tags.append(RuleTag(value, sanitized(bare) or value, rule))
        if self.latest is None:
            self.latest = latest


def reads_git_tag(rule: Rule) -> bool:
    """A rule whose tag carries the git tag: `{{tag}}` in its value, prefix or suffix."""
    return any(_GIT_TAG.search(rule.attrs.get(key, "")) for key in ("value", "prefix", "suffix"))


def sanitized(tag: str) -> str:
    return re.sub(r"[^a-zA-Z0-9._-]+", "-", tag)


# Reading rules and flavors


def _fields(line: str) -> list[str]:
    """One CSV line, as metadata-action reads it (quotes keep commas)."""
    return next(csv.reader([line], skipinitialspace=True), [])


def input_lines(entries: Sequence[str]) -> list[str]:
    """metadata-action's reading of its `tags` and `flavor` inputs (actions-toolkit's
    `Util.getInputList` with `comment: '#'`, `ignoreComma`): each line one entry, a line whose
    first word starts with `#` a comment, empty lines left out. An entry of the config may hold
    several lines (a TOML multi-line string). A line of only spaces inside the input stops
    metadata-action (`e is not iterable`); here it is refused in one sentence. Quotes are read
    once, by the rule's reader, as metadata-action's own tests read them (the action reads the
    input's CSV twice: `"pattern=^v\\d{1,2}"` loses its quotes, and its comma, there)."""
    lines = []
    for entry in entries:
        for line in entry.strip().splitlines():
            if not line or line.lstrip().startswith("#"):
                continue
            if not line.strip():
                raise UsageError("tags: a line of only spaces, which metadata-action refuses")
            lines.append(line.strip())
    return lines


def parse_rule(line: str) -> Rule:
    """One `tags` line, with metadata-action's defaults. Raises UsageError."""
    attrs: dict[str, str] = {}
    kind = "raw"
    for item in _fields(line):
        key, sep, value = item.partition("=")
        if not sep:
            attrs["value"] = item.strip()
        elif key.strip().lower() == "type":
            kind = value.strip()
            if kind not in KINDS:
                raise UsageError(f"tags.rules: unknown tag type {kind!r} in {line!r}")
        else:
            attrs[key.strip().lower()] = value.strip()
    return Rule(kind, {**_defaults(kind, attrs, line), **attrs}, line)


def _defaults(kind: str, attrs: Mapping[str, str], line: str) -> dict[str, str]:
    needs = {"semver": "pattern", "pep440": "pattern", "match": "pattern", "ref": "event"}
    needs |= {"raw": "value"}
    if kind in needs and needs[kind] not in attrs:
        raise UsageError(f"tags.rules: {line!r} has no {needs[kind]}")
    if kind == "ref" and attrs["event"] not in ("branch", "tag", "pr"):
        raise UsageError(f"tags.rules: {line!r}: event is branch, tag or pr")
    defaults = {"enable": "true", "priority": str(PRIORITIES[kind])}
    defaults |= {
        "schedule": {"pattern": "nightly"},
        "semver": {"value": "", "match": ""},
        "pep440": {"value": "", "match": ""},
        "match": {"group": "0", "value": ""},
        "edge": {"branch": ""},
        "ref": {"prefix": "pr-"} if attrs.get("event") == "pr" else {},
        "sha": {"prefix": "sha-", "format": "short"},
    }.get(kind, {})
    return defaults


def parse_flavor(lines: Sequence[str]) -> Flavor:
    flavor = Flavor()
    for line in input_lines(lines):
        flavor = _with_flavor_line(flavor, line)
    if flavor.latest not in ("auto", "true", "false"):
        raise UsageError("tags.flavor: latest is auto, true or false")
    return flavor


def _with_flavor_line(flavor: Flavor, line: str) -> Flavor:
    """One `flavor` line: `latest=`, `prefix=` or `suffix=`, an `onlatest=` after either of
    the last two saying whether latest takes it too."""
    last = ""
    for item in _fields(line):
        key, sep, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or key not in ("latest", "prefix", "suffix", "onlatest"):
            raise UsageError(f"tags.flavor: {line!r} is not latest=, prefix=, suffix=, onlatest=")
        if key == "onlatest":
            flavor = _on_latest(flavor, last, value == "true", line)
        else:
            flavor, last = _set_flavor(flavor, key, value), key
    return flavor


def _set_flavor(flavor: Flavor, key: str, value: str) -> Flavor:
    if key == "latest":
        return dataclasses.replace(flavor, latest=value)
    if key == "prefix":
        return dataclasses.replace(flavor, prefix=value)
    return dataclasses.replace(flavor, suffix=value)


def _on_latest(flavor: Flavor, after: str, on: bool, line: str) -> Flavor:
    """`onlatest=` of the prefix or suffix just before it."""
    if after == "prefix":
        return dataclasses.replace(flavor, prefix_latest=on)
    if after == "suffix":
        return dataclasses.replace(flavor, suffix_latest=on)
    raise UsageError(f"tags.flavor: {line!r}: onlatest= follows a prefix= or suffix=")


# Evaluating


def rule_tags(rules: Sequence[str], flavor: Flavor, event: RuleEvent) -> RuleTags:
    """The run's tags by metadata-action's rules (its defaults where there are none)."""
    lines = input_lines(rules) or DEFAULT_RULES  # only comments: its defaults, as it has them
    parsed = sorted((parse_rule(r) for r in lines), key=lambda r: -r.priority)
    found = RuleTags()
    for rule in (r for r in parsed if _enabled(r, event)):
        value, latest = _KINDS[rule.kind](rule, flavor, event)
        if value is not None:
            found.add(_affixed(value, rule, flavor, event), rule, _latest(flavor, latest), value)
    found.latest = bool(found.latest)
    return found


def _enabled(rule: Rule, event: RuleEvent) -> bool:
    """The rule's `enable=` (`{{is_default_branch}}` and the like rendered)."""
    enabled = _render(rule.attrs["enable"], _globals(event))
    if enabled not in ("true", "false"):
        raise UsageError(f"tags.rules: enable is true or false, not {enabled!r}")
    return enabled == "true"


def latest_tag(flavor: Flavor) -> str:
    prefix = flavor.prefix if flavor.prefix_latest else ""
    suffix = flavor.suffix if flavor.suffix_latest else ""
    return sanitized(f"{prefix}latest{suffix}")


def _latest(flavor: Flavor, auto: bool) -> bool:
    return auto if flavor.latest == "auto" else flavor.latest == "true"


def _affixed(value: str, rule: Rule, flavor: Flavor, event: RuleEvent) -> str:
    helpers = _globals(event)
    prefix = rule.attrs.get("prefix", flavor.prefix)  # the rule's own, even empty, wins
    suffix = rule.attrs.get("suffix", flavor.suffix)
    return f"{_render(prefix, helpers)}{value}{_render(suffix, helpers)}"


def _schedule(rule: Rule, flavor: Flavor, event: RuleEvent) -> tuple[str | None, bool]:
    if "schedule" not in event.event:
        return None, False
    return _render(rule.attrs["pattern"], _dates(event)), False


def _tag_value(rule: Rule, event: RuleEvent) -> str | None:
    """The version a semver, pep440 or match rule reads: its value, else the git tag."""
    if rule.attrs["value"]:
        return _render(rule.attrs["value"], _globals(event))
    if event.ref.startswith("refs/tags/"):
        return event.ref.removeprefix("refs/tags/")
    return None


def _matched(raw: str, rule: Rule) -> str:
    if rule.attrs.get("match"):
        found = re.search(rule.attrs["match"], raw)
        if found:
            return found.group(1)
    return raw.replace("/", "-")


def _semver(rule: Rule, flavor: Flavor, event: RuleEvent) -> tuple[str | None, bool]:
    raw = _version_read(rule, event)
    parsed = _SEMVER.match(raw) if raw is not None else None
    if raw is None or parsed is None:
        return None, False
    fields = _semver_fields(raw, parsed)
    if parsed["pre"]:
        pattern = rule.attrs["pattern"] if _is_raw(rule.attrs["pattern"]) else "{{version}}"
        return _render(pattern, fields), False
    return _render(rule.attrs["pattern"], fields), True


def _version_read(rule: Rule, event: RuleEvent) -> str | None:
    """The version a semver or pep440 rule reads, its `match` applied."""
    raw = _tag_value(rule, event)
    return None if raw is None else _matched(raw, rule)


def _semver_fields(raw: str, parsed: re.Match[str]) -> dict[str, Helper]:
    """What a semver pattern may name: major, minor, patch, version, prerelease, raw, ..."""
    core = f"{parsed['major']}.{parsed['minor']}.{parsed['patch']}"
    version = f"{core}-{parsed['pre']}" if parsed["pre"] else core
    fields = {k: _constant(v) for k, v in parsed.groupdict(default="").items()}
    fields |= {"raw": _constant(raw), "version": _constant(version)}
    fields["prerelease"] = _constant(parsed["pre"] or "")
    return fields


def _pep440(rule: Rule, flavor: Flavor, event: RuleEvent) -> tuple[str | None, bool]:
    from packaging.version import InvalidVersion, Version

    raw = _version_read(rule, event)
    if raw is None:
        return None, False
    try:
        parsed = Version(raw)
    except InvalidVersion:
        return None, False
    if parsed.pre is not None or parsed.post is not None or parsed.dev is not None:
        return (raw if _is_raw(rule.attrs["pattern"]) else str(parsed)), False
    parts = [*parsed.release, 0, 0]
    fields = {"raw": _constant(raw), "version": _constant(str(parsed))}
    fields |= {name: _constant(str(parts[n])) for n, name in enumerate(("major", "minor", "patch"))}
    return _render(rule.attrs["pattern"], fields), True


def _match(rule: Rule, flavor: Flavor, event: RuleEvent) -> tuple[str | None, bool]:
    raw = _tag_value(rule, event)
    if raw is None:
        return None, False
    found = _compiled(rule.attrs["pattern"]).search(raw)
    value = _group(found, int(rule.attrs["group"]))
    return (value, True) if value is not None else (None, False)


def _group(found: re.Match[str] | None, group: int) -> str | None:
    """The match's group, where the pattern has it and it matched."""
    if found is None or group > (found.re.groups or 0):
        return None
    return found.group(group)


def _compiled(pattern: str) -> re.Pattern[str]:
    """A `type=match` pattern: a regular expression, or JavaScript's `/.../i` literal."""
    literal = re.fullmatch(r"/(.+)/([a-z]*)", pattern)
    if literal is None:
        return re.compile(pattern)
    return re.compile(literal.group(1), re.IGNORECASE if "i" in literal.group(2) else 0)


def _edge(rule: Rule, flavor: Flavor, event: RuleEvent) -> tuple[str | None, bool]:
    if not event.ref.startswith("refs/heads/"):
        return None, False
    branch = rule.attrs["branch"] or event.default_branch
    return ("edge" if event.ref.removeprefix("refs/heads/") == branch else None), False


def _ref(rule: Rule, flavor: Flavor, event: RuleEvent) -> tuple[str | None, bool]:
    where = {"branch": "refs/heads/", "tag": "refs/tags/", "pr": "refs/pull/"}[rule.attrs["event"]]
    if not event.ref.startswith(where):
        return None, False
    value = event.ref.removeprefix(where).removesuffix("/merge")
    return value, rule.attrs["event"] == "tag"


def _raw(rule: Rule, flavor: Flavor, event: RuleEvent) -> tuple[str | None, bool]:
    return _render(rule.attrs["value"], _globals(event)), False


def _sha(rule: Rule, flavor: Flavor, event: RuleEvent) -> tuple[str | None, bool]:
    if not event.sha:
        return None, False
    short = rule.attrs["format"] == "short"
    return (event.sha[: event.short_sha_length] if short else event.sha), False


_KINDS: dict[str, Callable[[Rule, Flavor, RuleEvent], tuple[str | None, bool]]] = {
    "schedule": _schedule,
    "semver": _semver,
    "pep440": _pep440,
    "match": _match,
    "edge": _edge,
    "ref": _ref,
    "raw": _raw,
    "sha": _sha,
}


# The handlebars expressions of metadata-action's values


Helper = Callable[..., str]


def _constant(value: str) -> Helper:
    return lambda *_, **__: value


def _is_raw(pattern: str) -> bool:
    return re.fullmatch(r"\{\{\s*raw\s*\}\}", pattern) is not None


def _render(template: str, helpers: Mapping[str, Helper]) -> str:
    def one(match: re.Match[str]) -> str:
        helper = helpers.get(match.group("name"))
        if helper is None:
            return ""
        positional, named = _arguments(match.group("args"))
        return helper(*positional, **named)

    return _MUSTACHE.sub(one, template)


def _arguments(text: str) -> tuple[list[str | None], dict[str, str]]:
    """`'YYYYMMDD' tz='Asia/Tokyo'` -> (["YYYYMMDD"], {"tz": "Asia/Tokyo"}); an unquoted word
    is a lookup that finds nothing, as handlebars has it (None)."""
    positional: list[str | None] = []
    named: dict[str, str] = {}
    for key, single, double, bare in re.findall(
        r"""(?:(\w+)=)?(?:'([^']*)'|"([^"]*)"|(\S+))""", text
    ):
        value = single or double
        if key:
            named[key] = value
        else:
            positional.append(None if bare else value)
    return positional, named


def _globals(event: RuleEvent) -> dict[str, Helper]:
    ref = event.ref

    def is_default() -> str:
        branch = ref.removeprefix("refs/heads/")
        if not branch:
            return "false"
        if event.default_branch == branch:
            return "true"
        always = ("create", "discussion", "issues", "schedule")
        return "true" if any(word in event.event for word in always) else "false"

    def base_ref() -> str:
        if ref.startswith("refs/tags/") and event.base_ref is not None:
            return event.base_ref.removeprefix("refs/heads/")
        if ref.startswith("refs/pull/") and event.pr_base_ref is not None:
            return event.pr_base_ref
        return ""

    return {
        "branch": lambda: ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else "",
        "tag": lambda: ref.removeprefix("refs/tags/") if ref.startswith("refs/tags/") else "",
        "sha": lambda: event.sha[: event.short_sha_length],
        "base_ref": base_ref,
        "is_default_branch": is_default,
        "is_not_default_branch": lambda: "false" if is_default() == "true" else "true",
        **_dates(event),
    }


def _dates(event: RuleEvent) -> dict[str, Helper]:
    return {
        "date": lambda fmt=None, tz="UTC": _moment(event.now, fmt, tz),
        "commit_date": lambda fmt=None, tz="UTC": _moment(event.commit_date or event.now, fmt, tz),
    }


def _moment(when: datetime, fmt: str | None, tz: str) -> str:
    """moment.js's format() for the tokens tag patterns use; no format: ISO 8601."""
    try:
        local = when.astimezone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"tags.rules: {tz!r} is not a time zone") from None
    if fmt is None:
        return local.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if tz == "UTC" else local.strftime("%z"))
    tokens = {
        "YYYY": "%Y", "YY": "%y", "MM": "%m", "DD": "%d", "HH": "%H", "hh": "%I", "mm": "%M",
        "ss": "%S", "A": "%p", "ZZ": "%z",
    }  # fmt: skip
    unpadded = {"M": local.month, "D": local.day, "H": local.hour, "m": local.minute}
    unpadded |= {"s": local.second}

    def token(match: re.Match[str]) -> str:
        name = match.group()
        if name in unpadded:
            return str(unpadded[name])
        if name.startswith("S"):  # fractions of a second
            return f"{local.microsecond:06d}"[: len(name)]
        return local.strftime(tokens[name]) if name in tokens else name

    return _MOMENT_TOKENS.sub(token, fmt)
