"""Pure: a starter config for `buildcache init`, written from what the Dockerfile says.

It reads the Dockerfile's stages and build arguments: several final stages (stages no other
stage builds on) become variants by target; an argument named like a variant switch (VARIANT,
FLAVOR, EDITION) becomes variants by build argument; otherwise there is one variant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

VARIANT_ARGS = ("VARIANT", "FLAVOR", "FLAVOUR", "EDITION", "TIER")

_FROM = re.compile(
    r"^FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)(?:\s+AS\s+(?P<name>\S+))?\s*$", re.IGNORECASE
)
_ARG = re.compile(r"^ARG\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=(?P<default>\S*))?", re.IGNORECASE)
_COPY_FROM = re.compile(r"--from=(?P<stage>\S+)", re.IGNORECASE)


@dataclass
class Dockerfile:
    stages: list[str] = field(default_factory=list)  # names, or their index for unnamed ones
    args: dict[str, str | None] = field(default_factory=dict)  # name -> default
    used_stages: set[str] = field(default_factory=set)  # stages another stage builds on

    @property
    def final_stages(self) -> list[str]:
        named = [s for s in self.stages if not s.isdigit()]
        return [s for s in named if s not in self.used_stages]


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append((current + stripped).strip())
        current = ""
    if current:
        lines.append(current.strip())
    return lines


def read_dockerfile(text: str) -> Dockerfile:
    result = Dockerfile()
    for line in _logical_lines(text):
        from_match = _FROM.match(line)
        if from_match:
            image = from_match["image"].lower()
            if image in (s.lower() for s in result.stages):
                result.used_stages.add(next(s for s in result.stages if s.lower() == image))
            result.stages.append(from_match["name"] or str(len(result.stages)))
            continue
        arg = _ARG.match(line)
        if arg:
            result.args.setdefault(arg["name"], arg["default"])
            continue
        for stage in _COPY_FROM.findall(line):
            if stage in result.stages:
                result.used_stages.add(stage)
    return result


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def starter_config(
    *, images: list[str], dockerfile_name: str, dockerfile: Dockerfile, platforms: list[str]
) -> str:
    lines = [
        "# buildcache: multi-platform builds with a registry cache per variant (see its README).",
        "# Written by `buildcache init`; check the variants it guessed from "
        + dockerfile_name
        + ".",
        f"images = {_toml_list(images)}",
        f"platforms = {_toml_list(platforms)}",
    ]
    if dockerfile_name != "Dockerfile":
        lines.append(f'dockerfile = "{dockerfile_name}"')
    lines += ["", "[cache]", 'mode = "max"  # keep every intermediate layer', ""]
    switch = next((a for a in VARIANT_ARGS if a in dockerfile.args), None)
    finals = dockerfile.final_stages
    if len(finals) > 1:
        lines.append(f"# one variant per final stage of {dockerfile_name}")
        for n, stage in enumerate(finals):
            lines += [f"[variants.{_variant_name(stage)}]"]
            if n == len(finals) - 1:
                lines.append("default = true")
            lines += [f'target = "{stage}"', ""]
    elif switch:
        default = dockerfile.args[switch] or "default"
        lines.append(f"# one variant per value of the {switch} build argument; add the others")
        lines += [
            f"[variants.{_variant_name(default)}]",
            "default = true",
            f'build-args = {{ {switch} = "{default}" }}',
            "",
        ]
        lines += ["# [variants.full]", f'# build-args = {{ {switch} = "full" }}', ""]
    else:
        lines += [
            "# one image; add [variants.<name>] tables with build-args or target for more",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _variant_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return name or "default"


MAKE_TARGET = """\
image:  ## build every variant for every platform, with the registry cache
\tbuildcache build

release:  ## build and push every variant to every registry
\tbuildcache build --push
"""

CI_STEP = """\
      - uses: docker/setup-qemu-action@v3      # arm64 under emulation
      - uses: docker/setup-buildx-action@v3    # a builder that can export a registry cache
      - run: pip install buildcache
      - run: buildcache login && buildcache build --push
        env:
          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}
          GITHUB_ACTOR: ${{ github.actor }}
          DOCKERHUB_USERNAME: ${{ vars.DOCKERHUB_USERNAME }}
          DOCKERHUB_TOKEN: ${{ secrets.DOCKERHUB_TOKEN }}
"""
