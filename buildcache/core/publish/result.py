"""Pure: what a build did, per variant: its digest, its cache report, how it ended, what was
published; and the `build --json` object made of it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from buildcache.buildkit.metadata import TargetMetadata
from buildcache.buildkit.report import CacheReport, VariantStatus
from buildcache.buildkit.tracker import Vertex
from buildcache.core.bases import MissCause
from buildcache.core.plan.model import BuildPlan, VariantPlan
from buildcache.core.publish.writes import TagResult
from buildcache.errors import BuildFailed


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    plan: BuildPlan
    reports: Mapping[str, CacheReport]
    targets: Mapping[str, TargetMetadata]  # buildx's metadata: each variant's digest
    statuses: Mapping[str, VariantStatus] = field(default_factory=dict)
    failed: list[Vertex] = field(default_factory=list)
    steps: list[Vertex] = field(default_factory=list)
    published: list[TagResult] = field(default_factory=list)
    error: BuildFailed | None = None
    causes: Mapping[str, MissCause] = field(default_factory=dict)  # why a variant's steps ran

    def digest(self, variant: str) -> str | None:
        target = self.targets.get(variant)
        return target.digest if target else None

    def pushed(self, variant: str) -> list[str]:
        """The tags this run pushed of the variant."""
        return [str(r.ref) for r in self.published if r.variant == variant and r.status == "done"]

    def headline(self) -> str:
        """The run's last line, counting what happened: the variants built (failed, published
        before), and the tags written (those of a release published before written again over
        the same image, those a higher release keeps)."""
        states = Counter(self._state(v.name) for v in self.plan.variants)
        built = states["built"]
        parts = [f"built {built} variant(s)" if built else "built nothing"]
        parts += [words.format(states[key]) for key, words in _VARIANT_WORDS if states[key]]
        return ", ".join(parts + self._tags_written(built) + self._loaded())

    def _loaded(self) -> list[str]:
        """--load: the images the local store now holds, each with the platform loaded."""
        if not self.plan.load:
            return []
        return [
            f"loaded {variant.tags[0]} ({', '.join(variant.platforms)}) into the local image store"
            for variant in self.plan.variants
            if variant.tags and self._state(variant.name) == "built"
        ]

    def _state(self, variant: str) -> str:
        """built, failed (or cancelled) or published before."""
        status = self.statuses.get(variant)
        state = status.state if status else ("built" if self.error is None else "failed")
        return "failed" if state == "cancelled" else state

    def _tags_written(self, built: int) -> list[str]:
        """What was written of the tags: pushed, written again, kept, or by digest only."""
        # a tag written of a release published before is written `again`
        counts = Counter(
            "again"
            if r.status == "done" and self._state(r.variant) == "published before"
            else r.status
            for r in self.published
        )
        parts = [words.format(counts[key]) for key, words in _TAG_WORDS if counts[key]]
        if self.plan.push_by_digest and built:
            parts.append("pushed by digest (buildcache merge tags them)")
        elif self.plan.export is not None and built:
            parts.append(f"written to {self.plan.export.dest} (type={self.plan.export.kind})")
        elif self.plan.push and not counts["done"] + counts["again"]:
            parts.append("pushed no tag")
        return parts

    def to_json(self) -> dict[str, Any]:
        data = self.plan.to_json()
        for variant, chosen in zip(data["variants"], self.plan.variants, strict=True):
            variant.update(self._variant_json(chosen))
        data["ok"] = self.error is None
        data["error"] = self.error.message if self.error else None
        return data

    def _variant_json(self, chosen: VariantPlan) -> dict[str, Any]:
        """What the build made of one variant: its digest, tags pushed, cache report, status."""
        name = chosen.name
        found: dict[str, Any] = {"digest": self.digest(name)}
        if self.plan.push_by_digest and found["digest"]:
            # where `buildcache merge` finds this platform's image
            found["digest_ref"] = str(chosen.pushed_image.with_digest(found["digest"]))
        found["pushed"] = self.pushed(name)
        found["publish"] = [r.to_json() for r in self.published if r.variant == name]
        report, cause, status = (
            self.reports.get(name),
            self.causes.get(name),
            self.statuses.get(name),
        )
        found["cache"] = report.to_json() if report else None
        if found["cache"] is not None:
            found["cache"]["miss_cause"] = cause.to_json() if cause else None
        found["status"] = status.to_json() if status else None
        return found


_VARIANT_WORDS = (("failed", "{} failed"), ("published before", "{} published before"))
_TAG_WORDS = (
    ("done", "pushed {} tag(s)"),
    ("again", "wrote {} tag(s) of the release again (its image)"),
    ("kept", "kept {} on a higher release"),
)
