"""The options several commands share, declared once (typer's Annotated style)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from buildcache.core.build_inputs import BuildInputs
from buildcache.core.plan.request import PlanRequest

# choices as enums: typer lists them in --help and refuses anything else
CacheChoice = StrEnum("CacheChoice", ["auto", "rw", "ro", "off"])
ProgressChoice = StrEnum("ProgressChoice", ["auto", "tty", "plain", "quiet"])


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        help="Config file (default: ./buildcache.toml, else [tool.buildcache] in ./pyproject.toml).",
    ),
]
VariantsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="VARIANT...", help="Variants to build (default: all).", show_default=False
    ),
]
VersionOption = Annotated[
    str | None,
    typer.Option(
        "--version",
        "-V",
        metavar="VERSION",
        help="Release version (default: BUILDCACHE_VERSION, the tag of a tag build; else the run is "
        "tagged by its branch, pull request or schedule).",
    ),
]
NoLatestOption = Annotated[
    bool,
    typer.Option(
        "--no-latest", help="Leave out the moving tags: 'latest' and each variant's bare name."
    ),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tag",
        "-t",
        metavar="TAG",
        help="Another tag (T, and T-x for variant x), or a configured image's reference "
        "(ghcr.io/acme/widget:T, as metadata-action outputs); repeatable.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Write one JSON object to stdout.")]
CacheOption = Annotated[
    CacheChoice,
    typer.Option(
        "--cache",
        help="Registry cache: rw, ro (read only), off, or auto (write from the default branch, "
        "release tags and local --push runs; read elsewhere).",
    ),
]
RefreshBaseOption = Annotated[
    bool,
    typer.Option(
        "--refresh-base",
        help='Build on what each base tag resolves to now, even where [base] refresh = "cache" '
        "would keep the cache's base.",
    ),
]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        envvar="BUILDCACHE_OFFLINE",
        help="Ask no registry about the base images or the cache's record (nothing is pinned or "
        "predicted).",
    ),
]
BakeFileOption = Annotated[
    Path | None,
    typer.Option(
        "--bake-file",
        metavar="PATH",
        help="Build the targets of this bake file (docker-bake.hcl) as the variants "
        "(default: the config's bake-file).",
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="TARGET.KEY=VALUE",
        help="Override a bake file's target, as docker buildx bake --set; repeatable.",
    ),
]
ProvenanceChoice = StrEnum("ProvenanceChoice", ["min", "max", "off"])
BuildArgOption = Annotated[
    list[str] | None,
    typer.Option(
        "--build-arg",
        metavar="NAME=VALUE",
        help="A build argument over the config's; VALUE may name ${VARIABLE}s, NAME alone takes "
        "the environment's; repeatable.",
    ),
]
SecretOption = Annotated[
    list[str] | None,
    typer.Option(
        "--secret",
        metavar="id=ID,env=NAME|src=PATH",
        help="A build secret BuildKit reads from a variable or a file (never buildcache); repeatable.",
    ),
]
SshOption = Annotated[
    list[str] | None,
    typer.Option(
        "--ssh",
        metavar="default|ID=PATH",
        help="An SSH agent socket or keys for RUN --mount=type=ssh; repeatable.",
    ),
]
BuildContextOption = Annotated[
    list[str] | None,
    typer.Option(
        "--build-context",
        metavar="NAME=VALUE",
        help="A named build context: a folder, docker-image://REF, target:NAME; repeatable.",
    ),
]
LabelOption = Annotated[
    list[str] | None,
    typer.Option(
        "--label",
        metavar="KEY=VALUE",
        help="An image label over the config's (and the OCI defaults); repeatable.",
    ),
]
AnnotationOption = Annotated[
    list[str] | None,
    typer.Option(
        "--annotation",
        metavar="KEY=VALUE",
        help="An annotation of the index and each manifest, over the config's; repeatable.",
    ),
]
ProvenanceOption = Annotated[
    ProvenanceChoice | None,
    typer.Option(
        "--provenance",
        help="Provenance attestation of a pushed image (default: [attest] provenance, else max on "
        "a public repository in CI, min otherwise).",
        show_default=False,
    ),
]
SbomOption = Annotated[
    bool | None,
    typer.Option(
        "--sbom/--no-sbom",
        help="Attach an SBOM attestation to a pushed image (default: [attest] sbom).",
        show_default=False,
    ),
]
NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Run every step: use no cache, local or registry.")
]
PullOption = Annotated[
    bool, typer.Option("--pull", help="Pull every base image again, even when BuildKit has it.")
]


def plan_request(
    variants: VariantsArgument = None,
    version: VersionOption = None,
    no_latest: NoLatestOption = False,
    tag: TagOption = None,
    cache: CacheOption = CacheChoice.auto,
    bake_file: BakeFileOption = None,
    set_: SetOption = None,
    build_arg: BuildArgOption = None,
    secret: SecretOption = None,
    ssh: SshOption = None,
    build_context: BuildContextOption = None,
    label: LabelOption = None,
    annotation: AnnotationOption = None,
    provenance: ProvenanceOption = None,
    sbom: SbomOption = None,
    no_cache: NoCacheOption = False,
    pull: PullOption = False,
    refresh_base: RefreshBaseOption = False,
    offline: OfflineOption = False,
) -> PlanRequest:
    """The options `plan` and `build` share, declared once, as one request."""
    inputs = BuildInputs(
        build_args=tuple(build_arg or ()),
        secrets=tuple(secret or ()),
        ssh=tuple(ssh or ()),
        contexts=tuple(build_context or ()),
        labels=tuple(label or ()),
        annotations=tuple(annotation or ()),
        provenance=provenance.value if provenance else None,  # type: ignore[arg-type]
        sbom=sbom,
        no_cache=no_cache,
        pull=pull,
    )
    return PlanRequest(
        variants=tuple(variants or ()),
        version=version,
        no_latest=no_latest,
        tags=tuple(tag or ()),
        cache=cache.value,  # type: ignore[arg-type]
        inputs=inputs,
        bake_file=bake_file,
        sets=tuple(set_ or ()),
        offline=offline,
        refresh_base=refresh_base,
    )


Command = TypeVar("Command", bound=Callable[..., None])


def with_plan_request(command: Command) -> Command:
    """A typer command with plan_request's options after its own, called with the one
    PlanRequest they make as `request` (typer reads the signature given here)."""
    shared = inspect.signature(plan_request, eval_str=True).parameters
    own = inspect.signature(command, eval_str=True).parameters

    @functools.wraps(command)
    def wrapper(**options: object) -> None:
        request = plan_request(**{name: options.pop(name) for name in shared})  # type: ignore[arg-type]
        command(request=request, **options)

    parameters = [p for name, p in own.items() if name != "request"] + list(shared.values())
    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper  # type: ignore[return-value]
