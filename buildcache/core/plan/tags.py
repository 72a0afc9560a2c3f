"""Pure: the tags a run gets, from its event, each with the rule that made it.

docker/metadata-action's rules are the model. A release (a tag build in CI, or a version the user
gives with --version or BUILDCACHE_VERSION) is tagged with its version, and with `[tags] semver` or
`pep440` also `{{major}}.{{minor}}` and `{{major}}`; `latest` moves only for the highest final
release (`latest = "auto"`). A version that does not read as a release (`test`, `nightly`:
`reads_as_release`) tags the run as given and moves with every run, as a branch's tag does, and
never moves `latest`. Every other run is tagged by its event: a pull request `pr-<n>`, a
schedule `nightly` (or a `{{date 'YYYYMMDD'}}` pattern), a branch (push, manual run, laptop) its
name as a slug, and the default branch `edge` where asked. A version is never taken from a git
tag at HEAD unless the run is a tag build: a manual run on a tagged commit must not republish a
release.

For variant x other than the default one, every tag T becomes `T-x`, and `latest` becomes `x`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from buildcache.core.config.model import TagsConfig, VariantConfig
from buildcache.core.plan.ci import RunContext, branch_slug
from buildcache.core.reference import MAX_TAG, TAG, ImageRef, ReferenceError
from buildcache.errors import UsageError

if TYPE_CHECKING:
    from buildcache.core.plan.rules import Rule, RuleTag  # a config with tag rules only

LATEST = "latest"
SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)
# PEP 440's public versions (https://peps.python.org/pep-0440/), the forms release tags use
PEP440 = re.compile(
    r"^v?(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?"
    r"(?P<pre>(?:a|b|rc)\d+)?(?P<post>\.post\d+)?(?P<dev>\.dev\d+)?$"
)
# a release series or a version of more parts than semver's: 1.2, v2, 1.2.3.4
_SERIES = re.compile(r"^v?\d+(\.\d+)*$")
# a release's tag made by a rule that writes the git tag into it (type=raw,{{tag}}-{{sha}})
_GIT_TAG_LABEL = "git tag, "
# the rules a release run's own version tags come from (_version_names, and the tag rules
# that read the git tag: core/plan/rules.py)
_VERSION_RULES = ("semver ", "pep440 ", "version", "match ", "ref tag ", _GIT_TAG_LABEL)
_DATE = re.compile(r"\{\{\s*date\s+'(?P<format>[^']*)'\s*\}\}")
_DATE_TOKENS = {"YYYY": "%Y", "MM": "%m", "DD": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}


@dataclass(frozen=True)
class TagName:
    name: str
    rule: str  # what made it, shown by `plan` and in its JSON
    forward: bool = False  # a release series' tag a rule made (`{{major}}.{{minor}}`)
    # on the release's own version tag (1.2.3, v1.2.3-alpine), the version it carries (1.2.3):
    # written by that release once; a run of a release published before completes it and never
    # replaces it, and higher releases are found between the same prefix and suffix
    version: str | None = None

    @property
    def floating(self) -> bool:
        """A tag that follows the newest release (latest, 1.2, 1): it only ever moves forward,
        so it is written last, and never over a higher release (core/publish/writes.py)."""
        return self.forward or self.rule.startswith(("semver {{major}", "pep440 {{major}"))


@dataclass(frozen=True)
class RunTags:
    version: (
        str  # the release version as given (v1.2.3), or the event's tag: pr-12, nightly, a branch
    )
    source: str  # where it came from
    names: tuple[TagName, ...]  # every tag but latest
    latest: bool  # latest (and each variant's alias) moves to this run's image
    latest_reason: str
    release: bool  # a release version (not a branch, pull request or schedule run)
    latest_name: str = LATEST  # the default variant's moving tag (a flavor may affix it)
    latest_by_tags: bool = False  # decided against the repository's tags (the highest release?)
    # latest follows the releases (moved only forward, never over a higher one): buildcache's
    # own keys and metadata-action's latest=auto; latest=true moves with every run, as written
    latest_follows: bool = True
    # no rule gave this run a tag (metadata-action outputs none): where the run is from
    untagged: str | None = None


def given_tags(
    texts: Sequence[str], images: Sequence[ImageRef]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """--tag as build-push-action's `tags` takes it: a tag, or a full reference of a configured
    image as metadata-action outputs it (ghcr.io/acme/widget:1.2.3 -> 1.2.3). A tag named for
    several images is one tag, pushed to every image. A reference's `latest` is left to the
    release rules (latest moves only to the highest release) and said in a note. The tags and
    the notes."""
    tags: dict[str, None] = {}
    notes: dict[str, None] = {}
    for text in texts:
        tag = _given_tag(text.strip(), images)
        if tag == LATEST and text.strip() != LATEST:
            notes[
                f"--tag {text.strip()}: latest is left to buildcache's release rules, which move it "
                "only to a release above every earlier one"
            ] = None
        else:
            tags[tag] = None
    return tuple(tags), tuple(notes)


def _given_tag(text: str, images: Sequence[ImageRef]) -> str:
    """One --tag's tag: itself, or the tag of a reference to one of `images` (none: latest, as
    docker reads it)."""
    if "/" not in text and ":" not in text:
        return text  # a tag alone, checked with the run's other tags
    try:
        ref = ImageRef.parse(text)
    except ReferenceError as error:
        raise UsageError(
            f"--tag {text!r} is neither a tag nor an image reference: {error}"
        ) from None
    if ref.digest:
        raise UsageError(f"--tag {text!r} has a digest: give a tag, e.g. {ref.name}:1.2.3")
    if ref.bare() not in {image.bare() for image in images}:
        configured = ", ".join(image.name for image in images)
        raise UsageError(
            f"--tag {text!r} is a tag of {ref.name}, which is not an image of the config "
            f"({configured})",
            hint="add the image to images, or give the tag alone (--tag 1.2.3)",
        )
    return ref.tag or LATEST


def run_tags(
    tags: TagsConfig,
    *,
    context: RunContext,
    given: tuple[str, str] | None,
    extra: Sequence[str] = (),
    no_latest: bool = False,
    known_versions: Sequence[str] = (),
    now: datetime,
    variant_suffix: int = 16,
) -> RunTags:
    """The tags of this run. `given` is the version the user gave and where (flag or
    BUILDCACHE_VERSION), None where none was; `known_versions` are the repository's tags, so that an older release never moves latest;
    `variant_suffix` the longest `-<variant>` a tag of this run gets (a branch is cut to leave
    room for it).
    Where the config has metadata-action's rules (`[tags] rules`, `flavor`), they make them."""
    version, version_source = given or (None, "--version")
    if tags.rules or tags.flavor:
        return _by_rules(
            tags,
            context=context,
            version=version,
            version_source=version_source,
            extra=extra,
            no_latest=no_latest,
            now=now,
        )
    # a git tag's build is a release whatever its name (as metadata-action reads it); a
    # version given by hand is one only where it reads as one (--version test: a test image)
    by_hand = version is not None
    if version is None and context.event == "tag" and context.tag:
        version, version_source = context.tag, f"the tag build of {context.tag}"
    latest, reason = False, "not a release"
    if version is not None and by_hand and not reads_as_release(version):
        primary, names = version, [TagName(version, "version, not a release: it moves")]
        reason = f"{version} is not a release: it does not read as a version"
        version = None  # tagged as given, and moved by every run
    elif version is not None:
        names, final = _version_names(version, tags)
        latest, reason = _latest(version, final, tags, no_latest, known_versions)
        primary = version  # as given (v1.2.3): the tags say how it was spelled out
    else:
        primary, version_source, names = _event_names(tags, context, now, variant_suffix)
    # beside the version's or the event's: sha-<commit>, tags.raw and --tag
    names += _sha_names(tags, context)
    names += [TagName(raw, "raw (tags.raw)") for raw in tags.raw]
    names += _given_names(extra, version)
    unique = _valid(_first_of_each(_affixed(names, tags)))
    return RunTags(
        version=primary,
        source=version_source,
        names=unique,
        latest=latest,
        latest_reason=reason,
        release=version is not None,
        latest_by_tags=reason == HIGHEST or reason.startswith(NOT_HIGHEST),
        latest_follows=tags.latest == "auto",  # latest = true: every final release, as written
    )


def _given_names(extra: Sequence[str], release: str | None) -> list[TagName]:
    """--tag as given; on a release's run, the release's own version (1.2.3 on the tag build of
    v1.2.3) is its release tag, and a series of it (1.2, 1) moves only forward: the tags
    metadata-action's semver rules give, passed on as build-push-action's `tags`."""
    match = SEMVER.match(release) if release else None
    if match is None or match["build"]:
        return [TagName(tag, "--tag") for tag in extra]
    own = release.removeprefix("v") if release else ""
    series = () if match["pre"] else (f"{match['major']}.{match['minor']}", match["major"])
    names = []
    for tag in extra:
        if tag.removeprefix("v") == own:
            names.append(TagName(tag, "version (--tag, this release's)", version=own))
        elif tag.removeprefix("v") in series:
            names.append(TagName(tag, "version series (--tag, this release's)", forward=True))
        else:
            names.append(TagName(tag, "--tag"))
    return names


def _affixed(names: Sequence[TagName], tags: TagsConfig) -> list[TagName]:
    """Every name with `tags.prefix` and `tags.suffix`."""
    return [dataclasses.replace(n, name=f"{tags.prefix}{n.name}{tags.suffix}") for n in names]


def _sha_names(tags: TagsConfig, context: RunContext) -> list[TagName]:
    """`sha-<commit>` where `tags.sha` is on."""
    if not tags.sha:
        return []
    if not context.sha:
        raise UsageError(
            "tags.sha is on, but the commit is unknown (no git repository, and the CI names none)"
        )
    sha = context.sha if tags.sha_format == "long" else context.sha[:7]
    return [TagName(f"sha-{sha}", f"sha ({tags.sha_format})")]


def _valid(names: Sequence[TagName]) -> tuple[TagName, ...]:
    for name in names:
        if not TAG.fullmatch(name.name):
            raise UsageError(
                f"{name.name!r} ({name.rule}) is not a valid Docker tag (up to 128 letters, digits, "
                "'_', '.' and '-', not starting with '.' or '-')"
            )
    return tuple(names)


# metadata-action's event names for the run's kind (its rules test schedule and the default
# branch's events by name)
_EVENT_NAMES = {
    "pull_request": "pull_request",
    "schedule": "schedule",
    "manual": "workflow_dispatch",
}


def _by_rules(
    tags: TagsConfig,
    *,
    context: RunContext,
    version: str | None,
    version_source: str,
    extra: Sequence[str],
    no_latest: bool,
    now: datetime,
) -> RunTags:
    """The tags metadata-action's rules give this run; a version given is a tag build of it."""
    from buildcache.core.plan.rules import RuleEvent, latest_tag, parse_flavor, rule_tags

    ref, source = _rule_ref(context, version, version_source)
    event = RuleEvent(
        ref=ref,
        event=_EVENT_NAMES.get(context.event, "push"),
        sha=context.sha or "",
        default_branch=context.default_branch,
        base_ref=context.base_ref if context.event == "tag" else None,
        pr_base_ref=context.base_ref if context.event == "pull_request" else None,
        now=now,
        commit_date=context.commit_date,
    )
    flavor = parse_flavor(tags.flavor)
    found = rule_tags(tags.rules, flavor, event)
    if found.main is None:  # metadata-action outputs no tag: nothing to push
        return RunTags("", source, (), False, "no tag", release=False, untagged=source)
    # a git tag's build is a release, as metadata-action reads it (latest=auto moves latest
    # on `type=ref,event=tag`); a version given by hand that does not read as one (--version
    # test) is no release, whatever rule matched it (`type=match,pattern=^test$` would
    # otherwise publish test once, for good)
    by_hand = version is not None and not reads_as_release(version)
    release = ref.startswith("refs/tags/") and not by_hand
    carried = _Carried.of(ref.removeprefix("refs/tags/")) if release else None
    names = [_rule_name(tag, carried, release) for tag in found.tags]
    names += _given_names(extra, next((n.version for n in names if n.version), None))
    reason = f"tags.flavor latest={flavor.latest}"
    if found.latest and by_hand:
        reason = f"{found.main} is not a release: it does not read as a version"
    elif found.latest and no_latest:
        reason = "--no-latest"
    return RunTags(
        version=_identity(names, carried),
        source=source,
        names=_valid(_first_of_each(names)),
        latest=bool(found.latest) and not no_latest and not by_hand,
        latest_reason=reason,
        release=release,
        latest_name=latest_tag(flavor),
        # only latest=auto follows the releases; latest=true moves with every run, as written
        latest_follows=flavor.latest == "auto",
    )


def ref_version(git_tag: str) -> str:
    """The version a release's git tag carries: v1.2.3 -> 1.2.3, app/v1.5.0 -> 1.5.0,
    v2.0.0+build.7 -> 2.0.0, 1.0.0rc1 as it is; a tag that carries none is itself."""
    semver = _CARRIED_SEMVER.search(git_tag)
    if semver:
        return semver.group("version")
    pep440 = PEP440.match(git_tag)
    return git_tag.removeprefix("v") if pep440 else git_tag


# a semantic version at the end of a git tag, after a `v` or a word's end (app/v1.5.0)
_CARRIED_SEMVER = re.compile(
    r"(?:^|[^0-9A-Za-z.]|(?<=v))(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+[0-9A-Za-z.-]+)?$"
)


@dataclass(frozen=True)
class _Carried:
    """A release's git tag (as a Docker tag spells it) and the version it carries."""

    git_tag: str
    version: str

    @classmethod
    def of(cls, git_tag: str) -> _Carried:
        return cls(re.sub(r"[^a-zA-Z0-9._-]+", "-", git_tag), ref_version(git_tag))

    def spelled_by(self, value: str) -> bool:
        """A rule's value that is the release's own: the git tag, or its version (1.2.3,
        v1.2.3, 1.2.3_build.7)."""
        bare = re.split(r"[+_]", value.removeprefix("v"))[0]
        return value == self.git_tag or bare == self.version.removeprefix("v")

    def series(self, value: str) -> bool:
        """A rule's value that is a series of the release (1.2 or 1 of 1.2.3, v1)."""
        head = value.removeprefix("v") + "."
        return _SERIES.match(value) is not None and self.version.startswith(head)


def _rule_name(tag: RuleTag, carried: _Carried | None, release: bool) -> TagName:
    """A rule's tag as the plan holds it: on a release, the tag that spells its version is its
    own (published once), and a semver or pep440 rule's series of it (1.2, 1) follows the
    releases (moved only forward); any other tag moves with every run, as written."""
    label = _rule_label(tag.rule, release)
    if carried is None:
        return TagName(tag.name, label)
    if carried.spelled_by(tag.bare):
        return TagName(tag.name, label, version=tag.bare)
    follows = tag.rule.kind in ("semver", "pep440") and carried.series(tag.bare)
    return TagName(tag.name, label, forward=follows)


def _identity(names: Sequence[TagName], carried: _Carried | None) -> str:
    """The run's version (the image's version label): metadata-action's (the rules' first tag)
    where that is the release's own; on a release whose first tag is a series or no version
    (`{{major}}` first, a sha), the first tag that is its version, else the version its ref
    carries (v1.2.3 -> 1.2.3)."""
    if carried is None or names[0].version:
        return names[0].name
    return next((n.name for n in names if n.version), carried.version)


def _rule_ref(context: RunContext, version: str | None, source: str) -> tuple[str, str]:
    """The git ref the rules read, as GitHub names it, and where the run's version is from."""
    if version is not None:
        return f"refs/tags/{version}", source
    if context.event == "tag" and context.tag:
        return f"refs/tags/{context.tag}", f"the tag build of {context.tag}"
    if context.event == "pull_request" and context.pr_number:
        return f"refs/pull/{context.pr_number}/merge", "the pull request"
    if context.branch:
        return f"refs/heads/{context.branch}", f"the branch {context.branch}"
    return "", "this run (no branch, tag or pull request)"


def _rule_label(rule: Rule, release: bool) -> str:
    """The rule as `plan` shows it; on a release, one that writes the git tag into its tag
    (`{{tag}}`) says so: that tag is the release's own, as its version's are."""
    from buildcache.core.plan.rules import reads_git_tag

    kind = f"ref {rule.attrs['event']}" if rule.kind == "ref" else rule.kind
    label = f"{kind} ({rule.text})"
    return f"{_GIT_TAG_LABEL}{label}" if release and reads_git_tag(rule) else label


def _event_names(
    tags: TagsConfig, context: RunContext, now: datetime, variant_suffix: int
) -> tuple[str, str, list[TagName]]:
    """A run that is not a release: its tags come from its event."""
    if context.event == "pull_request" and tags.pr and context.pr_number:
        name = f"pr-{context.pr_number}"
        return name, "the pull request", [TagName(name, "pull request")]
    if context.event == "schedule":  # tags.schedule with its {{date '...'}} filled in
        name = _DATE.sub(lambda m: now.strftime(_strftime(m.group("format"))), tags.schedule)
        return name, "the schedule", [TagName(name, f"schedule ({tags.schedule})")]
    if context.branch and tags.branch:
        return _branch_names(tags, context, context.branch, variant_suffix)
    raise UsageError(
        "no version to tag the images with: this run is not a tag build, and has no branch or "
        "pull request to name them after",
        hint="give one with --version V (e.g. --version test --no-latest) or BUILDCACHE_VERSION; "
        'a release from the tag at HEAD: --version "$(git describe --tags --exact-match)"',
    )


def _branch_names(
    tags: TagsConfig, context: RunContext, branch: str, variant_suffix: int
) -> tuple[str, str, list[TagName]]:
    """A branch's slug, and edge where the branch is the default one and `tags.edge` is on.
    The slug is cut to leave room for the tags' prefix and suffix and every variant's own
    suffix (`<branch>-full`): each variant's tag fits, not only the default one's."""
    room = MAX_TAG - len(tags.prefix) - len(tags.suffix) - variant_suffix
    slug = branch_slug(branch, room)
    names = [TagName(slug, "branch")]
    if tags.edge and context.on_default_branch:
        names.append(TagName("edge", f"edge (the default branch, {context.default_branch})"))
    return slug, f"the branch {branch}", names


def _first_of_each(names: Sequence[TagName]) -> list[TagName]:
    by_name: dict[str, TagName] = {}
    for name in names:
        by_name.setdefault(name.name, name)
    return list(by_name.values())


def _strftime(pattern: str) -> str:
    for token, directive in _DATE_TOKENS.items():
        pattern = pattern.replace(token, directive)
    return pattern


def _version_names(version: str, tags: TagsConfig) -> tuple[list[TagName], bool]:
    """A release's tag names, and whether it is final (not a pre-release)."""
    semver = SEMVER.match(version) if tags.semver else None
    if semver:
        return _semver_names(semver)
    if tags.semver and not tags.pep440:
        raise UsageError(
            f"{version!r} is not a semantic version (like 1.2.3 or v1.2.3-rc.1), and tags.semver is on",
            hint="give --version X.Y.Z, or turn tags.semver off",
        )
    if tags.pep440:
        return _pep440_names(version)
    return [TagName(version, "version", version=version)], not _pre_release(version)


def _pre_release(version: str) -> bool:
    """A pre-release by either reading (1.3.0-rc.1, 1.3.0rc1, 1.3.0.dev2): its own tag only,
    never latest, whether or not the semver/pep440 series are on."""
    semver, pep440 = SEMVER.match(version), PEP440.match(version)
    return bool((semver and semver["pre"]) or (pep440 and (pep440["pre"] or pep440["dev"])))


def _semver_names(match: re.Match[str]) -> tuple[list[TagName], bool]:
    core = f"{match['major']}.{match['minor']}.{match['patch']}"
    # Docker tags cannot hold '+': build metadata is kept after '_'
    build = f"_{match['build']}" if match["build"] else ""
    if match["pre"]:
        pre = f"{core}-{match['pre']}{build}"
        return [TagName(pre, "semver {{version}}", version=pre)], False
    return [
        TagName(core + build, "semver {{version}}", version=core + build),
        TagName(f"{match['major']}.{match['minor']}", "semver {{major}}.{{minor}}"),
        TagName(match["major"], "semver {{major}}"),
    ], True


def _pep440_names(version: str) -> tuple[list[TagName], bool]:
    match = PEP440.match(version)
    if not match:
        raise UsageError(
            f"{version!r} is not a PEP 440 version (like 1.2.3 or 1.3.0rc1), and tags.pep440 is on",
            hint="give --version X.Y.Z, or turn tags.pep440 off",
        )
    bare = version.removeprefix("v")
    exact = TagName(bare, "pep440 {{version}}", version=bare)
    if match["pre"] or match["dev"]:
        return [exact], False
    names = [exact]
    if match["minor"] is not None:
        names.append(TagName(f"{match['major']}.{match['minor']}", "pep440 {{major}}.{{minor}}"))
    names.append(TagName(match["major"], "pep440 {{major}}"))
    return _first_of_each(names), True  # 1, 1, 1 is one tag


def version_names(
    version: str, *, semver: bool, pep440: bool = False, sha: str | None = None
) -> tuple[list[str], bool]:
    """A release's tag names (and sha-<7 hex> where `sha` is given), and whether it is final."""
    names, final = _version_names(version, TagsConfig(semver=semver, pep440=pep440))
    return [n.name for n in names] + ([f"sha-{sha[:7]}"] if sha else []), final


def release_key(version: str) -> tuple[int, ...] | None:
    """A final release's numbers, to compare (v1.10.0 > v1.9.2); None for anything else, a
    date among them (20261128, a nightly's tag: it would hold latest above every release)."""
    if _DATE_TAG.fullmatch(version):
        return None
    semver = SEMVER.match(version)
    if semver and not semver["pre"]:
        return _numbers(semver)
    pep440 = PEP440.match(version)
    if pep440 and not (pep440["pre"] or pep440["dev"]):
        return _numbers(pep440)
    return None


# a date as nightly tags spell it: YYYYMMDD, YYMMDD (one number of six or more digits)
_DATE_TAG = re.compile(r"v?\d{6,}")


def _numbers(match: re.Match[str]) -> tuple[int, ...]:
    """major, minor, patch (0 where a PEP 440 version leaves one out)."""
    return tuple(int(match[k] or 0) for k in ("major", "minor", "patch"))


# the reasons of a latest decided against the repository's tags
HIGHEST = "the highest release"
NOT_HIGHEST = "not the highest release"


def _latest(
    version: str, final: bool, tags: TagsConfig, no_latest: bool, known: Sequence[str]
) -> tuple[bool, str]:
    if no_latest:
        return False, "--no-latest"
    if tags.latest == "false":
        return False, "tags.latest = false"
    if not final:
        return False, "a pre-release"
    if tags.latest == "true":
        return True, "tags.latest = true"
    mine = release_key(version)
    if mine is None:
        return True, "a release"
    higher = [k for k in known if (key := release_key(k)) is not None and key > mine]
    if higher:
        top = max(higher, key=lambda k: release_key(k) or ())
        return False, f"{NOT_HIGHEST} ({top} is higher)"
    return True, HIGHEST


def reads_as_release(version: str) -> bool:
    """Whether a version is a release: semver, PEP 440 or a release series (1.2.3, v1.3.0-rc.1,
    1.3.0rc1, 2026.11, v2), published once and never replaced. `test`, `nightly` or `pr-12` is
    not: its tag moves with every run, and it never moves latest."""
    return any(p.match(version) for p in (SEMVER, PEP440, _SERIES))


def release_shaped(name: str) -> bool:
    """Whether a tag reads as a release or a release series (1.0.0, 1.0, v2, latest): the
    tags that only a release may write."""
    return name == LATEST or reads_as_release(name)


def may_write_a_release(rule: str) -> bool:
    """A rule whose release-shaped tags are this run's own: its version (or the git tag it
    reads), latest, or a date (a schedule's, `type=raw,value={{date 'YYYYMMDD'}}`: the usual
    nightly name, never a release's)."""
    return rule.startswith((*_VERSION_RULES, "latest", "schedule")) or bool(_DATED.search(rule))


# a rule whose value is a date: {{date 'YYYYMMDD'}}, {{commit_date 'YYYYMMDD'}}
_DATED = re.compile(r"\{\{\s*(commit_)?date\b")


def not_this_release(run: RunTags) -> list[TagName]:
    """The tags of `run` that read as a release but are not its own version's: a branch named
    1.0.0 (or 1.0, v2), a raw tag or --tag 2.0 outside the 2.0 release. Dates are not counted
    (may_write_a_release), nor a `latest` the user's own raw rule writes
    (`type=raw,value=latest,enable={{is_default_branch}}`)."""
    return [
        name
        for name in run.names
        if release_shaped(name.name)
        and not may_write_a_release(name.rule)
        and not written_latest(name, run)
    ]


def written_latest(name: TagName, run: RunTags) -> bool:
    """The run's latest written by a raw rule of the user's: it moves as the rule says (with
    the default branch, on every release), not only forward."""
    return name.name == run.latest_name and name.rule.startswith("raw (")


def moving_tag(variant: VariantConfig) -> str:
    """The tag that follows the newest release: its own `latest-tag`, else `latest` for the
    default variant and its name for the others."""
    return variant.latest_tag or (LATEST if variant.default else variant.name)


def variant_tags(variant: VariantConfig, run: RunTags) -> list[TagName]:
    """The tags of one variant: the run's tags (suffixed `-x` for variant x), then `latest` (or
    `x`) where the run moves it."""
    if variant.default:
        names = list(run.names)
    else:  # 1.2-full is a series' tag as 1.2 is, 1.2.3-full the release's own as 1.2.3 is
        names = [dataclasses.replace(n, name=f"{n.name}-{variant.name}") for n in run.names]
    if run.latest:  # moving_tag, where the default variant's may be affixed by a flavor
        moving = variant.latest_tag or (run.latest_name if variant.default else variant.name)
        if moving not in (n.name for n in names):  # a rule that wrote it (raw): as written
            names.append(
                TagName(moving, f"latest: {run.latest_reason}", forward=run.latest_follows)
            )
    return names
