"""Pure: a starter config for `buildcache init`, from what the Dockerfile says.

The Dockerfile is read through its one model (core/dockerfile/stages.py, by BuildKit's parser rules),
so line continuations, heredocs, several ARGs on one line, quoted defaults and parser directives
read as docker reads them. Variants are found three ways, the first that finds any wins:

1. several final stages (named stages no other stage builds on) become variants by target;
2. a build argument that a RUN step compares with string literals (`if [ "$X" = "full" ]`,
   `case "$X" in full) ...`) becomes variants by build argument, one per literal and its default;
   so does an argument named like a switch (`*VARIANT*`, `*FLAVOR*`, `*EDITION*`);
3. otherwise there is one variant.

Another argument whose default holds the default variant's name (`/src[slim]`) is given per
variant with that name replaced (`/src[full]`). The config is written with a TOML writer, so no
value can break its quoting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import tomli_w

from buildcache.core.dockerfile import stages as dockerfile_model
from buildcache.core.dockerfile.stages import Stage, Step
from buildcache.errors import ConfigError, UsageError

SWITCH_NAME = re.compile(r"VARIANT|FLAVOU?R|EDITION", re.IGNORECASE)
_LITERAL = r"""["']?(?P<literal>[A-Za-z0-9][A-Za-z0-9_.-]*)["']?"""


@dataclass
class Dockerfile:
    stages: list[str] = field(default_factory=list)  # names, or their index for unnamed ones
    args: dict[str, str | None] = field(default_factory=dict)  # name -> default, first wins
    used_stages: set[str] = field(default_factory=set)  # stages another stage builds on
    compared: dict[str, list[str]] = field(default_factory=dict)  # ARG -> literals it is tested on
    # ARGs whose default is empty and that a RUN tests (`[ -n "$X" ]`, `${X:-...}`): an image
    # built without them takes the other branch
    tested_empty: list[str] = field(default_factory=list)

    @property
    def final_stages(self) -> list[str]:
        named = [s for s in self.stages if not s.isdigit()]
        return [s for s in named if s not in self.used_stages]

    def variant_switch(self) -> str | None:
        """The build argument that selects the variant, if one does."""
        compared = [a for a in self.args if self.compared.get(a)]
        named = [a for a in self.args if SWITCH_NAME.search(a)]
        both = [a for a in compared if a in named]
        return next(iter(both or compared or named), None)


def read_dockerfile(text: str) -> Dockerfile:
    """What init needs of a Dockerfile, from the one model of it (core/dockerfile/stages.py)."""
    try:
        model = dockerfile_model.read_dockerfile(text)
    except ConfigError as error:
        raise UsageError(error.message) from None
    result = Dockerfile(args=dict(model.meta_args))
    for stage in model.stages:
        _read_stage(result, stage)
    return result


def _read_stage(result: Dockerfile, stage: Stage) -> None:
    """The stage's name, the stage it builds on, and its steps."""
    if stage.base.lower() in result.stages:
        result.used_stages.add(stage.base.lower())
    result.stages.append(stage.name or str(stage.index))
    for step in stage.steps:
        _read_step(result, step)


def _read_step(result: Dockerfile, step: Step) -> None:
    """The arguments a stage declares, the stages a step copies or mounts from, and the values
    a RUN compares an argument with."""
    for name, default in zip(step.args, step.defaults, strict=True):
        result.args.setdefault(name, default)
    result.used_stages.update(stage for stage in step.uses if stage in result.stages)
    if step.instruction == "RUN":
        for name in result.args:
            literals = _compared_literals(step.text, name)
            if literals:
                known = result.compared.setdefault(name, [])
                known += [lit for lit in literals if lit not in known]
            unset = not result.args[name] and name not in result.tested_empty
            if unset and _tests_emptiness(step.text, name):
                result.tested_empty.append(name)


def _tests_emptiness(script: str, name: str) -> bool:
    """Whether a shell script branches on the variable `name` being empty: `[ -n "$X" ]`,
    `[ -z "${X}" ]`, `[ "$X" ]`, `"$X" != ""`, `${X:-default}`, `${X:+alternative}`."""
    variable = rf"""["']?\$\{{?{re.escape(name)}\}}?["']?"""
    tests = (
        rf"-[nz]\s+{variable}",
        rf"\[\s+{variable}\s+\]",
        rf"""{variable}\s+!?==?\s+(?:""|'')""",
        rf"\$\{{{re.escape(name)}:?[-+]",
    )
    return any(re.search(test, script) for test in tests)


def _compared_literals(script: str, name: str) -> list[str]:
    """String literals that a shell script compares the variable `name` with."""
    variable = rf"""["']?\$\{{?{re.escape(name)}\}}?["']?"""
    # a test compares with spaces around the operator: `variant=$VARIANT` is a word, not a test
    tests = (rf"{variable}\s+(?:==?|!=)\s+{_LITERAL}", rf"{_LITERAL}\s+(?:==?|!=)\s+{variable}")
    found = [m.group("literal") for test in tests for m in re.finditer(test, script)]
    found += _case_patterns(script, variable)
    return [f for f in dict.fromkeys(found) if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", f)]


def _case_patterns(script: str, variable: str) -> list[str]:
    """The patterns of `case $VARIABLE in a) ...;; b|c) ...;; esac`."""
    cases = re.finditer(rf"case\s+{variable}\s+in\b(?P<body>.*?)\besac\b", script, re.DOTALL)
    return [pattern for case in cases for pattern in _case_labels(case.group("body"))]


def _case_labels(body: str) -> list[str]:
    """`a) ...;; b|c) ...` -> a, b, c."""
    found = []
    for patterns in re.findall(r"(?:^|;;|\bin\b)\s*\(?([^()*;]+?)\)", body):
        found += [p.strip().strip("\"'") for p in patterns.split("|") if p.strip()]
    return found


# where a forge keeps the images of a repository: its web host -> its registry host
_FORGE_REGISTRIES = {"github.com": "ghcr.io", "gitlab.com": "registry.gitlab.com"}


def _host_and_path(repository_url: str | None) -> tuple[str, str] | None:
    """https://github.com/Acme/Widget -> (github.com, Acme/Widget)."""
    match = re.match(r"^https?://([^/]+)/(.+?)/*$", repository_url or "")
    return (match.group(1).lower(), match.group(2)) if match else None


def repository_path(repository_url: str | None) -> str | None:
    """The repository's owner/name (a GitLab group path) of its web URL."""
    found = _host_and_path(repository_url)
    return found[1] if found else None


def suggested_image(repository_url: str | None) -> str | None:
    """The image a repository on GitHub or GitLab publishes to its forge's own registry
    (https://github.com/Acme/Widget -> ghcr.io/acme/widget); None elsewhere."""
    found = _host_and_path(repository_url)
    if found is None or found[0] not in _FORGE_REGISTRIES:
        return None
    return f"{_FORGE_REGISTRIES[found[0]]}/{found[1].lower()}"


def image_names(answer: str) -> list[str]:
    """Image names as a person types them: separated by commas, spaces, or both."""
    return [name for name in re.split(r"[,\s]+", answer) if name]


def variant_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return name[:63] or "default"


def _variants(dockerfile: Dockerfile) -> tuple[dict[str, Any], str]:
    """The [variants] table, and a sentence on where it came from."""
    finals = dockerfile.final_stages
    if len(finals) > 1:  # a variant per final stage, the last the default
        table: dict[str, dict[str, Any]] = {variant_name(s): {"target": s} for s in finals}
        table[variant_name(finals[-1])]["default"] = True
        return table, f"one variant per final stage ({', '.join(finals)})"
    switch = dockerfile.variant_switch()
    if switch is None:
        return {}, "one image (add [variants.<name>] tables with build-args or target for more)"
    how = "its values" if dockerfile.compared.get(switch) else "its default (add the others)"
    return _by_switch(
        dockerfile, switch
    ), f"one variant per value of the build argument {switch}, from {how}"


def _by_switch(dockerfile: Dockerfile, switch: str) -> dict[str, dict[str, Any]]:
    """A variant per value of the switch (its default first), each with the switch and the
    arguments whose default holds the default's name (`/src[slim]` -> `/src[full]`)."""
    default = dockerfile.args.get(switch) or ""
    compared = dockerfile.compared.get(switch, [])
    values = list(dict.fromkeys(v for v in [default, *compared] if v)) or ["default"]
    follows = _following(dockerfile, switch, default)
    table: dict[str, dict[str, Any]] = {}
    for value in values:
        args = {switch: value} | {
            arg: text.replace(default, value) for arg, text in follows.items()
        }
        table[variant_name(value)] = {"build-args": args}
    table[variant_name(values[0])]["default"] = True
    return table


def _following(dockerfile: Dockerfile, switch: str, default: str) -> dict[str, str]:
    """The other arguments whose default holds the switch's default (3 letters at least, so
    that a default of `a` does not rewrite every word with an a in it)."""
    if len(default) < 3:
        return {}
    return {
        arg: text
        for arg, text in dockerfile.args.items()
        if arg != switch and text and default in text
    }


def unset_empty_args(dockerfile: Dockerfile, variants: dict[str, Any]) -> list[str]:
    """A note for each ARG whose default is empty, that a RUN tests, and that no variant sets:
    the images buildcache builds take its empty branch, where a team's build may set it."""
    given = {arg for table in variants.values() for arg in table.get("build-args", {})}
    return [
        f"{name}: its default is empty and a RUN tests it, and no variant sets it: every image "
        "takes the empty branch; if your builds set it (a build argument of the workflow or the "
        f'Makefile), give it under [variants.<name>] build-args = {{ {name} = "..." }}'
        for name in dockerfile.tested_empty
        if name not in given
    ]


def starter_notes(dockerfile: Dockerfile) -> list[str]:
    """What a starter config built from this Dockerfile leaves to the user."""
    return unset_empty_args(dockerfile, _variants(dockerfile)[0])


def starter_config(
    *, images: Sequence[str], dockerfile_name: str, dockerfile: Dockerfile, platforms: Sequence[str]
) -> str:
    """The text of a starter buildcache.toml."""
    config: dict[str, Any] = {"images": list(images), "platforms": list(platforms)}
    if dockerfile_name != "Dockerfile":
        config["dockerfile"] = dockerfile_name
    # ghcr.io keeps cache tags with no extra setting, and has no pull limits: the natural home
    ghcr = [image for image in images if image.lower().startswith("ghcr.io/")]
    config["cache"] = {"image": (ghcr or list(images))[0], "mode": "max"}
    variants, how = _variants(dockerfile)
    if variants:
        config["variants"] = variants
    header = (
        "# buildcache: multi-platform builds with a registry cache per variant (see its README).\n"
        f"# Written by `buildcache init` from {dockerfile_name}: {how}.\n"
    )
    notes = "".join(f"# note: {note}\n" for note in unset_empty_args(dockerfile, variants))
    return header + notes + tomli_w.dumps(config)


MAKE_TARGET = """\
image:  ## build every variant for every platform, with the registry cache
\tbuildcache build

release:  ## build and push every variant to every registry
\tbuildcache build --push
"""

CI_STEP = """\
# .github/workflows/image.yml
on:
  push:
    branches: [main]
    tags: ["v*"]
  pull_request:
  workflow_dispatch:
permissions:
  contents: read
  packages: write                          # push to ghcr.io with GITHUB_TOKEN
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
        with:
          fetch-depth: 0                   # the git tags: an older release never moves latest
      - uses: docker/setup-qemu-action@v4      # arm64 under emulation
      - uses: docker/setup-buildx-action@v4    # a builder that can export a registry cache
      - uses: OWNER/buildcache@v1              # installs buildcache, logs in, builds and pushes
        with:
          push: ${{ github.event_name != 'pull_request' }}
        env:
          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}
          GITHUB_ACTOR: ${{ github.actor }}
          DOCKERHUB_USERNAME: ${{ vars.DOCKERHUB_USERNAME }}
          DOCKERHUB_TOKEN: ${{ secrets.DOCKERHUB_TOKEN }}
"""
