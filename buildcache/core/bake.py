"""Pure: a BuildPlan -> the bake file that `docker buildx bake` runs, and that command's text.

One bake run builds every selected variant, so BuildKit shares the common layers between them and
runs them in parallel. The bake file is JSON (bake reads JSON, HCL or compose), but bake evaluates
`${...}` and `%{...}` in every JSON string as HCL templates: each string is written escaped
(`hcl_literal`), so a build argument `${HOME}` reaches the build as those characters.
`--dry-run` prints exactly the file that runs. This is where the plan's typed references become
the strings buildx reads.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from buildcache.core.bases import BaseUse
from buildcache.core.plan.metadata import csv_field
from buildcache.core.plan.model import BuildPlan, VariantPlan
from buildcache.core.publish.writes import publish_steps
from buildcache.core.redact import shown_args
from buildcache.core.reference import cache_source

GROUP = "default"
BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"


def output_of(plan: BuildPlan, variant: VariantPlan) -> str:
    if plan.export is not None:
        return plan.export.to_option()
    if plan.push:
        return push_output(variant, annotated=not plan.push_by_digest)
    if plan.load:
        return "type=docker"
    # Without --push or --load the result stays in the build cache: nothing is exported.
    return "type=cacheonly"


def push_output(variant: VariantPlan, *, annotated: bool) -> str:
    """One image exporter that pushes the variant to every registry, each layer once per
    registry, and writes no tag a user pulls: by digest, or (a builder that cannot push untagged)
    under buildcache's staging tag. The tags are written afterwards, through the registry API,
    once every registry holds the image (core/publish/writes.py). A --push-by-digest platform image
    gets no annotations: `buildcache merge` makes the index users pull."""
    names = ",".join(str(name) for name in variant.push_names)
    output = "type=image," + csv_field(f"name={names}") + ",push=true"
    if variant.staging_tag is None:
        output += ",push-by-digest=true,name-canonical=true"
    if annotated:
        output += annotation_options(variant) + base_annotations(variant)
    return output


def base_annotations(variant: VariantPlan) -> str:
    """The OCI base-image annotations (`org.opencontainers.image.base.name`/`.digest`) of the
    target's own base: on the index with its index digest, on each platform's manifest with
    that platform's digest. Written as exporter options, which every buildx driver honours."""
    base = next((b for b in variant.upstream.bases if b.final), None) if variant.upstream else None
    if base is None or base.use is None:
        return ""
    name = base.name.rsplit("@", 1)[0]
    options = []
    if makes_index(variant):
        options += [
            f"annotation-index.{BASE_NAME}={name}",
            f"annotation-index.{BASE_DIGEST}={base.use}",
        ]
    for platform in variant.platforms:
        options += _manifest_annotations(platform, name, base)
    return "," + ",".join(options)


def _manifest_annotations(platform: str, name: str, base: BaseUse) -> list[str]:
    """A platform's manifest: the base's name, and its digest for that platform (not known for
    a pinned base: the record keeps the index digest only)."""
    options = [f"annotation-manifest[{platform}].{BASE_NAME}={name}"]
    digest = base.current.platforms.get(platform) if not base.pinned else None
    if digest:
        options.append(f"annotation-manifest[{platform}].{BASE_DIGEST}={digest}")
    return options


def annotation_options(variant: VariantPlan) -> str:
    """The variant's annotations, on the index and on each platform's manifest (ghcr.io shows a
    multi-platform package's description from the index), quoted for buildx's CSV."""
    levels = ("index", "manifest") if makes_index(variant) else ("manifest",)
    options = [
        csv_field(f"annotation-{level}.{key}={described.value}")
        for key, described in variant.annotations.items()
        for level in levels
    ]
    return "".join("," + option for option in options)


def makes_index(variant: VariantPlan) -> bool:
    """A push makes an index when it has several platforms or any attestation; a single
    platform without one is a plain manifest, which BuildKit refuses index annotations for."""
    attest = variant.inputs.attest
    attested = attest is not None and (attest.provenance != "off" or attest.sbom)
    return len(variant.platforms) > 1 or attested


def base_contexts(variant: VariantPlan) -> dict[str, str]:
    """Every base resolved by tag is built on the digest of this run (or the one the cache was
    built on, when pinned): a named context overrides the FROM reference, so no platform or
    variant resolves the tag again, and the Dockerfile is not touched."""
    if variant.upstream is None:
        return {}
    return {
        b.context_key: f"docker-image://{b.name}@{b.use}"
        for b in variant.upstream.bases
        if b.use and "@" not in b.name
    }


def target_tags(plan: BuildPlan, variant: VariantPlan) -> list[str]:
    """A push names no tag (its exporter names the images: push_output); a load names them all;
    a cache-only build names none."""
    if plan.push:
        return []
    if plan.load or plan.export is not None:  # a docker or oci archive names its image so
        return [str(t) for t in variant.tags]
    return []


def bake_target(variant: VariantPlan, plan: BuildPlan) -> dict[str, Any]:
    target: dict[str, Any] = {
        "context": str(variant.context),
        "dockerfile": str(variant.dockerfile),
        "platforms": list(variant.platforms),
        "args": dict(variant.build_args),
        "tags": target_tags(plan, variant),
        "cache-from": [cache_source(ref) for ref in variant.cache_from],
        "cache-to": [variant.cache_to.to_option()] if variant.cache_to else [],
        "output": [output_of(plan, variant)],
    }
    if variant.target:
        target["target"] = variant.target
    if variant.labels:
        target["labels"] = {key: described.value for key, described in variant.labels.items()}
    # the user's named contexts win over a base pinned under the same name
    contexts = {**base_contexts(variant), **variant.inputs.contexts}
    if contexts:
        target["contexts"] = contexts
    return {**target, **input_attributes(variant)}


def input_attributes(variant: VariantPlan) -> dict[str, Any]:
    """Secrets (where BuildKit reads them, never their values), SSH agents, attestations,
    --no-cache and --pull, as bake's attributes."""
    given = variant.inputs
    attributes: dict[str, Any] = {}
    if given.secrets:
        attributes["secret"] = [secret.to_option() for secret in given.secrets]
    if given.ssh:
        attributes["ssh"] = list(given.ssh)
    if given.attest is not None:
        attributes["attest"] = given.attest.to_options()
    if given.no_cache:
        attributes["no-cache"] = True
    if given.pull:
        attributes["pull"] = True
    return attributes


def bake_definition(plan: BuildPlan) -> dict[str, Any]:
    return {
        "group": {GROUP: {"targets": [v.name for v in plan.variants]}},
        "target": {v.name: bake_target(v, plan) for v in plan.variants},
    }


def hcl_literal(value: Any) -> Any:
    """A bake file's value as bake reads it back literally: bake evaluates every JSON string as
    an HCL template, where `$${` stands for `${` and `%%{` for `%{`."""
    if isinstance(value, str):
        return value.replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, list):
        return [hcl_literal(item) for item in value]
    if isinstance(value, dict):
        return {key: hcl_literal(item) for key, item in value.items()}
    return value


def bake_file_text(plan: BuildPlan) -> str:
    return json.dumps(hcl_literal(bake_definition(plan)), indent=2) + "\n"


def bake_command(bake_file: Path, metadata_file: Path | None, progress: str) -> list[str]:
    """The `docker buildx bake` command line; engine.py runs the same through python-on-whales."""
    command = ["docker", "buildx", "bake", "--file", str(bake_file), "--progress", progress]
    if metadata_file is not None:
        command += ["--metadata-file", str(metadata_file)]
    return [*command, GROUP]


def dry_run_text(plan: BuildPlan) -> str:
    """What `build --dry-run` prints: the bake file, the bake command, and the tags written
    through the registry API once every registry holds the image (the digest shown as a
    placeholder: it is known only once built)."""
    path = Path("docker-bake.json")
    shown = bake_definition(plan)
    for target in shown["target"].values():
        target["args"] = shown_args(target["args"])
    lines = [f"# {path} (buildcache writes it to a temporary folder)\n"]
    lines.append(json.dumps(hcl_literal(shown), indent=2) + "\n")
    lines.append("# the command\n")
    lines.append(shlex.join(bake_command(path, Path("metadata.json"), "rawjson")) + "\n")
    if plan.push and not plan.push_by_digest:
        lines.append(
            "# then, through the registry API, each tag one PUT of its variant's index by digest:"
            " release tags first, moving tags last (unless a higher release holds them)\n"
        )
        for step in publish_steps(plan.variants):
            for target in step.targets:
                lines.append(f"PUT {target} <- <digest of {step.variant}>\n")
    return "".join(lines)
