"""Pure: what a build did, per variant: its digest, its cache report, how it ended, what was
published; and the `build --json` object made of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from buildcache.buildkit.metadata import TargetMetadata
from buildcache.buildkit.report import CacheReport, VariantStatus
from buildcache.buildkit.tracker import Vertex
from buildcache.core.bases import MissCause
from buildcache.core.plan.model import BuildPlan, VariantPlan
from buildcache.core.publish import TagResult
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
