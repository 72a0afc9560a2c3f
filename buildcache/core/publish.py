"""Publishing to several registries, so that a fault leaves a clear state and a re-run finishes.

The build pushes once, to the first image of `images`, with the version tags only. Then, by
digest, every other registry gets the same multi-platform index (`buildx imagetools create`), so
every registry serves byte-identical digests. The moving tags (`latest`, a variant's alias) come
last, and only once every registry has every version tag: `latest` never points at an image that
is missing somewhere.

Transient registry failures are retried with exponential backoff and jitter; authentication and
permission errors are not. What to run is pure (`publish_steps`); running it takes the copy and
the sleep as functions, so every ordering and retry rule is tested without a registry.
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from buildcache.core.plan.model import BuildPlan
from buildcache.core.plan.tags import LATEST
from buildcache.core.reference import ImageRef
from buildcache.errors import BuildFailed, CopyError

# kept: a moving tag left where it is on purpose (a higher release holds it)
Status = Literal["done", "failed", "skipped", "kept"]

# Words registries and buildx use for failures worth another try (rate limits, overload, network).
_TRANSIENT = re.compile(
    r"\b(429|500|502|503|504)\b|too ?many ?requests|toomanyrequests|rate limit|service unavailable|"
    r"bad gateway|gateway time-?out|internal server error|connection reset|connection refused|"
    r"broken pipe|unexpected eof|\beof\b|i/o timeout|timed? ?out|deadline exceeded|temporar",
    re.IGNORECASE,
)
# ...and those that another try cannot fix.
_PERMANENT = re.compile(
    r"\b(401|403)\b|unauthori[sz]ed|authentication required|denied|forbidden|insufficient_scope|"
    r"no basic auth credentials|invalid username/password",
    re.IGNORECASE,
)
_RETRY_AFTER = re.compile(r"retry[- ]after[:= ]+(\d+)", re.IGNORECASE)


def is_transient(error: str) -> bool:
    """Whether a registry error is worth another try: never an auth or permission error."""
    if _PERMANENT.search(error):
        return False
    return bool(_TRANSIENT.search(error))


def retry_after(error: str) -> float | None:
    match = _RETRY_AFTER.search(error)
    return float(match.group(1)) if match else None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    backoff: float = 2.0  # seconds before the second try; doubled each time, with jitter
    max_wait: float = 60.0

    def wait(self, attempt: int, error: str, rng: random.Random) -> float:
        """Seconds to wait after failed try number `attempt` (1-based)."""
        base: float = self.backoff * 2.0 ** (attempt - 1)
        # jitter spreads runners that failed together apart; a Retry-After, where given, is a floor
        jittered = base * (0.5 + rng.random())
        asked = retry_after(error)
        return min(self.max_wait, max(jittered, asked or 0.0))


@dataclass(frozen=True)
class PublishStep:
    variant: str
    image: ImageRef  # registry/repository that gets the tags
    tags: tuple[str, ...]
    sources: tuple[ImageRef, ...]  # image@digest references the index is made from
    moving: bool

    @property
    def targets(self) -> list[ImageRef]:
        return [self.image.with_tag(tag) for tag in self.tags]


@dataclass
class TagResult:
    variant: str
    image: ImageRef
    tag: str
    status: Status
    reason: str | None = None
    attempts: int = 0

    @property
    def ref(self) -> ImageRef:
        return self.image.with_tag(self.tag)

    def to_json(self) -> dict[str, Any]:
        return {
            "image": str(self.image),
            "tag": self.tag,
            "status": self.status,
            "reason": self.reason,
            "attempts": self.attempts,
        }


class Tagged(Protocol):
    """A variant's name and every tag it gets (a VariantPlan, or a variant read back from JSON)."""

    @property
    def name(self) -> str: ...
    @property
    def default(self) -> bool: ...
    @property
    def tags(self) -> tuple[ImageRef, ...]: ...


@dataclass(frozen=True)
class VariantTags:
    name: str
    default: bool
    tags: tuple[ImageRef, ...]


def split_tags(chosen: Tagged) -> tuple[dict[ImageRef, list[str]], dict[ImageRef, list[str]]]:
    """Per image, in the config's order: the version tags and the moving ones (`latest` or the
    variant's own name, and where the plan says so `1.2` and `1`: `floating`)."""
    floating = getattr(chosen, "floating", None) or {LATEST if chosen.default else chosen.name}
    version: dict[ImageRef, list[str]] = {}
    moving: dict[ImageRef, list[str]] = {}
    for reference in chosen.tags:
        image, tag = reference.bare(), reference.tag or ""
        version.setdefault(image, [])
        moving.setdefault(image, [])
        (moving if tag in floating else version)[image].append(tag)
    return version, moving


def publish_steps(
    variants: Sequence[Tagged], sources: Mapping[str, Sequence[ImageRef]], *, first_done: bool
) -> list[PublishStep]:
    """Everything after the build's own push, in order: the version tags on every other image
    (or on every image, where the first has not got them: a merge), then every moving tag."""
    steps: list[PublishStep] = []
    moving_steps: list[PublishStep] = []
    for variant in variants:
        version, moving = split_tags(variant)
        images = list(version)
        source = tuple(sources[variant.name])
        for n, image in enumerate(images):
            if n == 0 and first_done:
                continue
            if version[image]:
                steps.append(
                    PublishStep(variant.name, image, tuple(version[image]), source, moving=False)
                )
        for image in images:
            if moving[image]:
                moving_steps.append(
                    PublishStep(variant.name, image, tuple(moving[image]), source, moving=True)
                )
    return steps + moving_steps


def steps_after_push(
    plan: BuildPlan, sources: Mapping[str, Sequence[ImageRef]]
) -> list[PublishStep]:
    """What publishing copies by digest after the build's own push: every step but those whose
    tags that push already wrote (all of them, where there is only one image)."""
    pushed = {ref for v in plan.variants for ref in v.push_tags}
    return [
        step
        for step in publish_steps(plan.variants, sources, first_done=True)
        if not set(step.targets) <= pushed
    ]


def copy_sources(plan: BuildPlan, digests: Mapping[str, str | None]) -> dict[str, list[ImageRef]]:
    """Each variant's pushed image by digest: what the copies are made from."""
    sources = {}
    for variant in plan.variants:
        digest = digests.get(variant.name)
        if not digest:
            raise BuildFailed(f"buildx reported no digest for {variant.name}; nothing was copied")
        sources[variant.name] = [variant.pushed_image.with_digest(digest)]
    return sources


VERSION_RULES = ("version", "semver {{version}}", "pep440 {{version}}")


def version_refs(plan: BuildPlan) -> dict[str, ImageRef]:
    """Each variant's exact release tag on the first image (1.2.3, 1.2.3-full): the tag an earlier
    run of the same release has pushed, if one did."""
    refs = {}
    for variant in plan.variants:
        exact = [
            r for r in variant.push_tags if variant.tag_rules.get(r.tag or "") in VERSION_RULES
        ]
        if exact:
            refs[variant.name] = exact[0]
    return refs


def pushed_results(plan: BuildPlan) -> list[TagResult]:
    """The tags the build's own push wrote, as results."""
    return [
        TagResult(v.name, ref.bare(), ref.tag or "", "done", None, 1)
        for v in plan.variants
        for ref in v.push_tags
    ]


# (sources, target refs); raises CopyError
Copy = Callable[[Sequence[ImageRef], Sequence[ImageRef]], None]


class PublishInterrupted(Exception):
    """Ctrl-C or SIGTERM while publishing: every tag's result, in the order of the steps (the
    copies under way were waited for; those not started say so)."""

    def __init__(self, results: list[TagResult]) -> None:
        super().__init__("interrupted while publishing")
        self.results = results


@dataclass
class Publisher:
    copy: Copy
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = field(default=lambda seconds: None)
    on_event: Callable[[str], None] = field(default=lambda message: None)
    rng: random.Random = field(default_factory=random.Random)
    # the moving tags of a step that must stay where they are (a higher release holds them),
    # with why
    hold: Callable[[PublishStep], Mapping[str, str]] = field(default=lambda step: {})

    def run(
        self, steps: Sequence[PublishStep], previous: Sequence[TagResult] = ()
    ) -> list[TagResult]:
        """Run the version-tag steps, all at once, then the moving-tag steps of the variants
        whose version tags are everywhere, all at once. `previous` are the results of an earlier
        phase, which count too. Results come back in the order of the steps; on Ctrl-C or SIGTERM,
        in a PublishInterrupted."""
        done: dict[int, list[TagResult]] = {}  # each step's results, as it ends
        kept: dict[int, list[TagResult]] = {}  # the moving tags a higher release holds
        try:
            self._run(steps, previous, done, kept)
            interrupted = False
        except KeyboardInterrupt:
            interrupted = True

        def outcome(step: PublishStep) -> list[TagResult]:
            held = kept.get(id(step), [])
            if id(step) in done:
                return [*done[id(step)], *held]
            why = "interrupted before it was copied"
            rest = [t for t in step.tags if t not in {r.tag for r in held}]
            return [TagResult(step.variant, step.image, t, "skipped", why) for t in rest] + held

        results = [r for step in steps for r in outcome(step)]
        if interrupted:
            raise PublishInterrupted(results)
        return results

    def _run(
        self,
        steps: Sequence[PublishStep],
        previous: Sequence[TagResult],
        done: dict[int, list[TagResult]],
        kept: dict[int, list[TagResult]],
    ) -> None:
        version = [s for s in steps if not s.moving]
        self._run_all({id(s): s for s in version}, done)
        results = [r for step in version for r in done[id(step)]]
        moving: dict[int, PublishStep] = {}
        for step in (s for s in steps if s.moving):
            failed = sorted(
                {
                    str(r.ref)
                    for r in (*previous, *results)
                    if r.variant == step.variant and r.status != "done"
                }
            )
            if failed:
                reason = (
                    "a version tag is missing on "
                    + ", ".join(failed[:3])
                    + (" ..." if len(failed) > 3 else "")
                )
                done[id(step)] = [
                    TagResult(step.variant, step.image, tag, "skipped", reason) for tag in step.tags
                ]
                continue
            held = self.hold(step)
            kept[id(step)] = [
                TagResult(step.variant, step.image, tag, "kept", held[tag])
                for tag in step.tags
                if tag in held
            ]
            rest = tuple(t for t in step.tags if t not in held)
            if rest:
                moving[id(step)] = dataclasses.replace(step, tags=rest)
            else:
                done[id(step)] = []
        self._run_all(moving, done)

    def _run_all(self, steps: Mapping[int, PublishStep], done: dict[int, list[TagResult]]) -> None:
        """Every step at once, each one's results into `done` under its key (registries are
        independent: one after the other would only add up their round trips). A signal lands
        in this thread only, so the copies run in others: on Ctrl-C or SIGTERM, those under way
        are waited for (a copy is short; one stopped halfway helps nobody), those not started
        do not start, and the KeyboardInterrupt goes on up."""
        if not steps:
            return
        stopping = threading.Event()
        settled = threading.Event()

        def run(key: int, step: PublishStep) -> None:
            if not stopping.is_set():
                done[key] = self._run_step(step)

        def run_every_step() -> None:
            try:
                with ThreadPoolExecutor(max_workers=max(1, min(8, len(steps)))) as pool:
                    list(pool.map(run, steps.keys(), steps.values()))
            finally:
                settled.set()

        try:
            threading.Thread(target=run_every_step, name="publish", daemon=True).start()
            settled.wait()
        except KeyboardInterrupt:
            stopping.set()
            settled.wait()
            raise

    def _run_step(self, step: PublishStep) -> list[TagResult]:
        for attempt in range(1, self.policy.attempts + 1):
            try:
                self.copy(step.sources, step.targets)
            except CopyError as error:
                if not is_transient(error.reason) or attempt == self.policy.attempts:
                    why = (
                        error.reason if attempt == 1 else f"{error.reason} (after {attempt} tries)"
                    )
                    return [
                        TagResult(step.variant, step.image, tag, "failed", why, attempt)
                        for tag in step.tags
                    ]
                wait = self.policy.wait(attempt, error.reason, self.rng)
                self.on_event(
                    f"{step.image}: {error.reason}; trying again in {wait:.1f}s ({attempt}/{self.policy.attempts})"
                )
                self.sleep(wait)
                continue
            return [
                TagResult(step.variant, step.image, tag, "done", None, attempt) for tag in step.tags
            ]
        raise AssertionError("unreachable")  # pragma: no cover
