"""Pure: what a build did, per variant: its digest, its cache report, how it ended, what was
published; and the `build --json` object made of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from buildcache.buildkit.report import CacheReport, VariantStatus
from buildcache.buildkit.tracker import Vertex
from buildcache.core.bases import MissCause
from buildcache.core.plan.model import BuildPlan
from buildcache.core.publish import TagResult
from buildcache.errors import BuildFailed


@dataclass(kw_only=True)
class BuildResult:
    plan: BuildPlan
    reports: dict[str, CacheReport]
    metadata: dict[str, Any]
    statuses: dict[str, VariantStatus] = field(default_factory=dict)
    failed: list[Vertex] = field(default_factory=list)
    steps: list[Vertex] = field(default_factory=list)
    published: list[TagResult] = field(default_factory=list)
    error: BuildFailed | None = None
    causes: dict[str, MissCause] = field(default_factory=dict)  # why a variant's steps ran

    def digest(self, variant: str) -> str | None:
        value = self.metadata.get(variant, {}).get("containerimage.digest")
        return str(value) if value else None

    def to_json(self) -> dict[str, Any]:
        data = self.plan.to_json()
        for variant, chosen in zip(data["variants"], self.plan.variants, strict=True):
            variant["digest"] = self.digest(chosen.name)
            if self.plan.push_by_digest and variant["digest"]:
                # where `buildcache merge` finds this platform's image
                variant["digest_ref"] = str(chosen.pushed_image.with_digest(variant["digest"]))
            own = [r for r in self.published if r.variant == chosen.name]
            variant["pushed"] = [str(r.ref) for r in own if r.status == "done"]
            variant["publish"] = [r.to_json() for r in own]
            report = self.reports.get(chosen.name)
            variant["cache"] = report.to_json() if report else None
            cause = self.causes.get(chosen.name)
            if variant["cache"] is not None:
                variant["cache"]["miss_cause"] = cause.to_json() if cause else None
            status = self.statuses.get(chosen.name)
            variant["status"] = status.to_json() if status else None
        data["ok"] = self.error is None
        data["error"] = self.error.message if self.error else None
        return data
