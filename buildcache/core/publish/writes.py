"""Publishing to several registries, so that a tag is at every moment its old digest or the new
image, and a re-run finishes what a fault left.

The bake pushes every variant to every registry by digest (core/bake.py) and writes no tag. Then
each tag is one PUT of the variant's index, the same bytes on every registry: the version tags
first, everywhere; then, decided once for all registries, whether a higher release holds each
moving tag (`latest`, a variant's alias, `1.2`, `1`); then the moving tags that are free, and
only for a variant whose version tags are everywhere. No child manifest is ever written under a
tag.

Transient registry failures are retried with exponential backoff and jitter; authentication and
permission errors are not. What to run is pure (`publish_steps`); running it takes the tag write,
the hold decision and the sleep as functions, so every ordering and retry rule is tested
without a registry.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from buildcache.core.plan.model import BuildPlan
from buildcache.core.reference import ImageRef
from buildcache.errors import PublishError

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


# ...and those of a registry that is not there at all: down, a wrong address, a certificate it
# cannot show. A tag write retries them (the registry answered a moment ago: it may be
# restarting); a bake does not (four bakes long, for a registry that is not coming back)
_UNREACHABLE = re.compile(
    r"connection refused|no such host|x509:|\btls: |network is unreachable|no route to host",
    re.IGNORECASE,
)


def is_unreachable(error: str) -> bool:
    """A registry that refused the connection, has no address, or failed TLS."""
    return bool(_UNREACHABLE.search(error))


def is_auth_error(error: str) -> bool:
    """A registry that refused who we are: another try will not help, a login will."""
    return bool(_PERMANENT.search(error))


def retry_after(error: str) -> float | None:
    match = _RETRY_AFTER.search(error)
    return float(match.group(1)) if match else None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    backoff: float = 2.0  # seconds before the second try; doubled each time, with jitter
    max_wait: float = 60.0

    def wait(self, attempt: int, asked: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed try number `attempt` (1-based); `asked`: the registry's
        Retry-After, a floor (capped at max_wait: a registry cannot hold a release for hours)."""
        base: float = self.backoff * 2.0 ** (attempt - 1)
        # jitter spreads runners that failed together apart
        jittered = base * (0.5 + rng.random())
        return min(self.max_wait, max(jittered, asked or 0.0))


@dataclass(frozen=True)
class Retrier:
    """A registry call tried again after a transient failure (never an auth or permission
    error), with the policy's backoff; each wait announced through `on_event`."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = field(default=lambda seconds: None)
    on_event: Callable[[str], None] = field(default=lambda message: None)
    rng: random.Random = field(default_factory=random.Random)

    def retried(self, call: Callable[[], None], what: str) -> tuple[str | None, int]:
        """`call`, tried again after a transient failure: why it failed in the end (None: it
        did not), and after how many tries."""
        for attempt in range(1, self.policy.attempts + 1):
            try:
                call()
            except PublishError as error:
                if not is_transient(error.reason) or attempt == self.policy.attempts:
                    tries = f" (after {attempt} tries)" if attempt > 1 else ""
                    return f"{error.reason}{tries}", attempt
                self._wait(attempt, error, what)
                continue
            return None, attempt
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, attempt: int, error: PublishError, what: str) -> None:
        """The policy's wait after failed try number `attempt`, announced (with the registry's
        Retry-After, where it asked for one)."""
        wait = self.policy.wait(attempt, error.retry_after, self.rng)
        asked = (
            f", as the registry asked (Retry-After: {error.retry_after:g}s)"
            if error.retry_after
            else ""
        )
        self.on_event(
            f"{what}: {error.reason}; trying again in {wait:.1f}s{asked} "
            f"({attempt}/{self.policy.attempts})"
        )
        self.sleep(wait)


@dataclass(frozen=True)
class PublishStep:
    variant: str
    image: ImageRef  # registry/repository that gets the tags
    tags: tuple[str, ...]
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
    @property
    def floating(self) -> frozenset[str]: ...
    @property
    def release_tags(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class VariantTags:
    name: str
    default: bool
    tags: tuple[ImageRef, ...]
    floating: frozenset[str] = frozenset()  # the tags that only move forward (latest, 1.2, 1)
    release_tags: Mapping[str, str] = field(default_factory=dict)  # own tag -> its version


@dataclass(frozen=True)
class ReleaseShape:
    """Where a variant's tags carry the release's version: `<prefix><version><suffix>` (v1.2.3,
    1.2.3-alpine-full). Higher releases are found, and a series' tag read, between the same
    prefix and suffix."""

    version: str
    prefix: str = ""
    suffix: str = ""


def release_shape(variant: Tagged, version: str) -> ReleaseShape:
    """From the variant's own release tag; without one (not a release), the run's version and
    the variant's own suffix."""
    for tag, carried in variant.release_tags.items():
        prefix, found, suffix = tag.partition(carried)
        if found:
            return ReleaseShape(carried, prefix, suffix)
    return ReleaseShape(version, "", "" if variant.default else f"-{variant.name}")


def split_tags(chosen: Tagged) -> tuple[dict[ImageRef, list[str]], dict[ImageRef, list[str]]]:
    """Per image, in the config's order: the version tags and the moving ones (those the plan
    says follow the releases, `floating`: latest or the variant's own name, 1.2, 1)."""
    floating = chosen.floating
    version: dict[ImageRef, list[str]] = {}
    moving: dict[ImageRef, list[str]] = {}
    for reference in chosen.tags:
        image, tag = reference.bare(), reference.tag or ""
        version.setdefault(image, [])
        moving.setdefault(image, [])
        (moving if tag in floating else version)[image].append(tag)
    return version, moving


def images_of(variant: Tagged) -> list[ImageRef]:
    """Every registry's image of the variant (no tag), in the config's order."""
    return list(dict.fromkeys(reference.bare() for reference in variant.tags))


def moving_tags(variant: Tagged) -> frozenset[str]:
    _, moving = split_tags(variant)
    return frozenset(tag for tags in moving.values() for tag in tags)


def publish_steps(variants: Sequence[Tagged]) -> list[PublishStep]:
    """Every tag of every variant on every image, in order: the version tags, then the moving
    ones."""
    steps: list[PublishStep] = []
    moving_steps: list[PublishStep] = []
    for variant in variants:
        version, moving = split_tags(variant)
        steps += _steps_of(variant.name, version, moving=False)
        moving_steps += _steps_of(variant.name, moving, moving=True)
    return steps + moving_steps


def _steps_of(
    variant: str, tags: Mapping[ImageRef, list[str]], *, moving: bool
) -> list[PublishStep]:
    """A step per image with tags to write."""
    return [PublishStep(variant, image, tuple(t), moving=moving) for image, t in tags.items() if t]


def version_refs(plan: BuildPlan) -> dict[str, tuple[ImageRef, ...]]:
    """Each variant's exact release tag (1.2.3, 1.2.3-full) on every image, the first image's
    first: the tag an earlier run of the same release wrote, if one did. Every registry is
    asked: a run that failed half-way may have written it on the second registry only."""
    refs = {}
    for variant in plan.variants:
        own = next((r.tag for r in variant.tags if r.tag in variant.release_tags), None)
        exact = tuple(r for r in variant.tags if r.tag == own)
        if exact:
            refs[variant.name] = exact
    return refs


def published_note(
    name: str, version: str, own: Sequence[ImageRef], held: Sequence[tuple[ImageRef, str]]
) -> str:
    """What a run of a release published before does, in its words: where the release is,
    what goes where it is missing, and which image goes back where two differ (a --force that
    stopped half-way)."""
    digest = held[0][1]
    again = "not building it again (--force rebuilds and replaces it everywhere)"
    if len({d for _, d in held}) > 1:
        where = ", ".join(f"{d[:19]} on {ref.registry}" for ref, d in held)
        return (
            f"{name} {version} is published already, but not as one image ({where}; a --force "
            f"that stopped half-way?): {digest[:19]}, the first registry's, goes back under every "
            f"tag; {again}"
        )
    missing = [ref.registry for ref in own if ref not in {r for r, _ in held}]
    if missing:
        return (
            f"{name} {version} is published already ({digest[:19]}) on "
            f"{', '.join(ref.registry for ref, _ in held)}: publishing it on {', '.join(missing)}, "
            f"{again}"
        )
    return (
        f"{name} {version} is published already ({digest[:19]}): publishing that image "
        f"where it is missing, {again}"
    )


# writes one step's tags; raises PublishError
Put = Callable[[PublishStep], None]
# a variant and its moving tags -> those a higher release holds on some registry, with why;
# raises PublishError
Hold = Callable[[str, Sequence[str]], Mapping[str, str]]


@dataclass(frozen=True)
class Decision:
    """A variant's moving tags: those a higher release holds (with why), or why that could not
    be told (then none moves: a moving tag is never written on a guess)."""

    held: Mapping[str, str]
    failure: str | None = None
    attempts: int = 1

    def moves(self, tag: str) -> bool:
        return self.failure is None and tag not in self.held

    def results(self, step: PublishStep) -> list[TagResult]:
        """The step's tags that do not move, as results."""
        if self.failure is not None:
            why = f"cannot tell whether a higher release holds it: {self.failure}"
            return _each(step, step.tags, "failed", why, self.attempts)
        return [
            TagResult(step.variant, step.image, t, "kept", self.held[t])
            for t in step.tags
            if t in self.held
        ]


class PublishInterrupted(Exception):
    """Ctrl-C or SIGTERM while publishing: every tag's result, in the order of the steps (the
    writes under way were waited for; those not started say so)."""

    def __init__(self, results: list[TagResult]) -> None:
        super().__init__("interrupted while publishing")
        self.results = results


@dataclass
class Publisher:
    put: Put
    retrier: Retrier = field(default_factory=Retrier)
    hold: Hold = field(default=lambda variant, tags: {})
    workers: int = 8  # registry calls at once

    def run(self, steps: Sequence[PublishStep]) -> list[TagResult]:
        """The version-tag steps, all at once; then, per variant whose version tags are
        everywhere, one hold decision for every registry; then its free moving tags, all at
        once. Results come back in the order of the steps; on Ctrl-C or SIGTERM, in a
        PublishInterrupted."""
        done: dict[int, list[TagResult]] = {}  # each step's results, as it ends
        try:
            self._run(steps, done)
            interrupted = False
        except KeyboardInterrupt:
            interrupted = True
        results = [r for step in steps for r in _with_unstarted(step, done.get(id(step), []))]
        if interrupted:
            raise PublishInterrupted(results)
        return results

    def _run(self, steps: Sequence[PublishStep], done: dict[int, list[TagResult]]) -> None:
        version = [s for s in steps if not s.moving]
        self._run_all({id(s): s for s in version}, done)
        missing = _missing_version_tags([r for s in version for r in done[id(s)]])
        free = self._free_moving_tags(steps, missing, done)
        ran: dict[int, list[TagResult]] = {}
        try:
            self._run_all(free, ran)
        finally:  # on a signal too: a moving tag written is reported written
            for key, results in ran.items():
                done[key] = [*results, *done[key]]

    def _free_moving_tags(
        self,
        steps: Sequence[PublishStep],
        missing: Mapping[str, str],
        done: dict[int, list[TagResult]],
    ) -> dict[int, PublishStep]:
        """The moving tags to write: none of a variant whose version tags are missing, and
        none a higher release holds (decided once per variant). The others' results go into
        `done`."""
        decisions = self._decide_all(steps, missing)
        free: dict[int, PublishStep] = {}
        for step in (s for s in steps if s.moving):
            if step.variant in missing:
                why = "a version tag is missing on " + missing[step.variant]
                done[id(step)] = _each(step, step.tags, "skipped", why)
                continue
            decision = decisions[step.variant]
            done[id(step)] = decision.results(step)
            free |= _free_part(step, decision)
        return free

    def _decide_all(
        self, steps: Sequence[PublishStep], missing: Mapping[str, str]
    ) -> dict[str, Decision]:
        """Each variant's decision (of those whose version tags are all written), the variants
        asked at once: each asks every registry for its releases."""
        moving = {s.variant: s for s in steps if s.moving and s.variant not in missing}
        if not moving:
            return {}
        # each variant's moving tags, on any image
        tags = {
            v: sorted({t for s in steps if s.moving and s.variant == v for t in s.tags})
            for v in moving
        }
        with ThreadPoolExecutor(max_workers=min(self.workers, len(moving))) as pool:
            decided = pool.map(lambda variant: self._decide(variant, tags[variant]), moving)
            return dict(zip(moving, decided, strict=True))

    def _decide(self, variant: str, tags: Sequence[str]) -> Decision:
        """Which moving tags a higher release holds, on any registry: decided once, applied on
        every registry."""
        held: Mapping[str, str] = {}

        def decide() -> None:
            nonlocal held
            held = self.hold(variant, tags)

        reason, attempts = self.retrier.retried(decide, f"{variant}: reading the releases")
        return Decision(held, reason, attempts)

    def _run_all(self, steps: Mapping[int, PublishStep], done: dict[int, list[TagResult]]) -> None:
        """Every step at once (bounded), each one's results into `done` under its key
        (registries are independent: one after the other would only add up their round trips).
        A signal lands in this thread only, so the writes run in others: on Ctrl-C or SIGTERM,
        those under way are waited for (a write is short; one stopped halfway helps nobody),
        those not started do not start, and the KeyboardInterrupt goes on up."""
        if not steps:
            return
        stopping = threading.Event()
        settled = threading.Event()

        def run(key: int, step: PublishStep) -> None:
            if not stopping.is_set():
                done[key] = self._run_step(step)

        def run_every_step() -> None:
            try:
                with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(steps)))) as pool:
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
        reason, attempts = self.retrier.retried(lambda: self.put(step), str(step.image))
        if reason is None:
            return _each(step, step.tags, "done", None, attempts)
        return _each(step, step.tags, "failed", reason, attempts)


def failed_results(variant: Tagged, reason: str, attempts: int) -> list[TagResult]:
    """Every tag of a variant none of whose tags is written, as failed results."""
    return [
        TagResult(variant.name, ref.bare(), ref.tag or "", "failed", reason, attempts)
        for ref in variant.tags
    ]


def _each(
    step: PublishStep,
    tags: Sequence[str],
    status: Status,
    reason: str | None = None,
    attempts: int = 1,
) -> list[TagResult]:
    return [TagResult(step.variant, step.image, tag, status, reason, attempts) for tag in tags]


def _with_unstarted(step: PublishStep, results: Sequence[TagResult]) -> list[TagResult]:
    """A step's results in the order of its tags, each tag with none (its write never started:
    a signal came first) `skipped`."""
    by_tag = {result.tag: result for result in results}
    not_started = "interrupted before it was written"
    return [
        by_tag.get(tag) or TagResult(step.variant, step.image, tag, "skipped", not_started, 0)
        for tag in step.tags
    ]


def _free_part(step: PublishStep, decision: Decision) -> dict[int, PublishStep]:
    """The step with only the tags the decision moves, keyed by the step; none if none is left."""
    left = tuple(t for t in step.tags if decision.moves(t))
    if not left:
        return {}
    return {id(step): PublishStep(step.variant, step.image, left, moving=True)}


def _missing_version_tags(results: Sequence[TagResult]) -> dict[str, str]:
    """Per variant, the version tags not written (the first three, named)."""
    failed: dict[str, list[str]] = {}
    for result in results:
        if result.status != "done":
            failed.setdefault(result.variant, []).append(str(result.ref))
    return {
        variant: ", ".join(refs[:3]) + (" ..." if len(refs) > 3 else "")
        for variant, refs in failed.items()
    }


# the labels that say which run built an image: its version, its commit, its moment
RUN_LABELS = (
    "org.opencontainers.image.version",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.created",
)


def run_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Of a run's labels, those that tell its image from another run's (the version, the commit
    and `.created`, one moment per run)."""
    return {key: labels[key] for key in RUN_LABELS if key in labels}


def foreign_image(
    expected: Mapping[str, str], found: Mapping[str, Mapping[str, str]]
) -> str | None:
    """Why an image read back is not the one this run built (each platform's config must carry
    every label in `expected`), None where it is."""
    if not found:
        return "it lists no platform's image"
    for platform, labels in found.items():
        wrong = [key for key, value in expected.items() if labels.get(key) != value]
        if wrong:
            key = wrong[0]
            where = f" ({platform})" if platform else ""
            said = labels.get(key)
            return (
                f"its image{where} says {key.rsplit('.', 1)[-1]} "
                f"{said if said is not None else 'nothing'}, not {expected[key]}"
            )
    return None
