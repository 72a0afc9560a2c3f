"""Pure: each variant's inputs from the config and the command line (secrets, SSH, contexts,
attestations), checked before a build starts, and what the Dockerfile's target asks for (its
declared arguments, its secret and SSH mounts)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from buildcache.core.build_inputs import (
    CONTEXT_SCHEMES,
    Attest,
    BuildInputs,
    ProvenanceMode,
    Secret,
    VariantInputs,
    parse_context,
    parse_secret,
    parse_ssh,
)
from buildcache.core.config.model import AttestConfig, Config, VariantConfig
from buildcache.core.dockerfile.stages import Dockerfile, Needed, Stage, needed, read_dockerfile
from buildcache.core.plan.ci import RunContext
from buildcache.errors import ConfigError, UsageError


def check_inputs(
    given: Iterable[VariantInputs], env: Mapping[str, str], exists: Callable[[Path], bool]
) -> list[str]:
    """What must be there before a build starts: every required secret (only its presence is
    checked, the value is never read), the agent of an SSH entry without keys, every context
    folder. A secret that may be missing is a note."""
    secrets = dict.fromkeys(s for inputs in given for s in inputs.secrets)
    notes = [note for secret in secrets if (note := _missing_secret(secret, env, exists))]
    for inputs in given:
        _check_agent(inputs.ssh, env)
        _check_contexts(inputs.contexts, exists)
    return notes


def _missing_secret(
    secret: Secret, env: Mapping[str, str], exists: Callable[[Path], bool]
) -> str | None:
    """None where the secret is there; a note where it may be missing; else a usage error."""
    present = (secret.env in env) if secret.env else exists(secret.file or Path())
    if present:
        return None
    where = (
        f"the environment variable {secret.env} is not set"
        if secret.env
        else f"the file {secret.file} does not exist"
    )
    if secret.required:
        raise UsageError(
            f"the secret {secret.id!r} is missing: {where}",
            hint="set it, or mark the secret required = false to build without it",
        )
    return f"the secret {secret.id!r} is left out: {where}"


def _check_agent(ssh: Iterable[str], env: Mapping[str, str]) -> None:
    for entry in ssh:
        if "=" not in entry and not env.get("SSH_AUTH_SOCK"):
            raise UsageError(
                f"--ssh {entry} forwards the SSH agent, and SSH_AUTH_SOCK is not set",
                hint="start one (eval $(ssh-agent) && ssh-add), or give keys: ID=PATH",
            )


def _check_contexts(contexts: Mapping[str, str], exists: Callable[[Path], bool]) -> None:
    for name, value in contexts.items():
        if not value.startswith(CONTEXT_SCHEMES) and not exists(Path(value)):
            raise UsageError(
                f"the build context {name}, {value}, does not exist",
                hint="a folder in the config is relative to the config file",
            )


# What the Dockerfile asks for


def declared_args(dockerfile: Dockerfile, needed: Needed) -> set[str]:
    """Every ARG the target's stages (and the global ones) declare."""
    return _declared(dockerfile, needed.stages)


def _declared(dockerfile: Dockerfile, stages: Iterable[Stage]) -> set[str]:
    names = set(dockerfile.meta_args)
    for stage in stages:
        for step in stage.steps:
            names.update(step.args)
    return names


# ARGs BuildKit reads without a declaration: the proxies (docker's predefined ARGs), its own
# settings, and SOURCE_DATE_EPOCH
PREDEFINED_ARGS = frozenset(
    {
        *(n for name in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY")
          for n in (name, name.lower())),
        "SOURCE_DATE_EPOCH",
    }
)  # fmt: skip


@dataclass(frozen=True)
class UndeclaredArg:
    """A build argument no ARG declares where it is given: it changes nothing, and a misspelt
    switch (CCC_VARAINT) builds the wrong variant with exit 0."""

    where: str  # the config key (build-args.X, variants.full.build-args.X) or --build-arg X
    name: str
    variant: str
    meant: str | None  # the nearest declared name

    def sentence(self) -> str:
        """What is wrong, without where (an error names the key)."""
        guess = f" (did you mean {self.meant}?)" if self.meant else ""
        return f"no ARG of {self.variant}'s Dockerfile declares it, so it changes nothing{guess}"

    def note(self) -> str:
        return f"{self.where}: {self.sentence()}"


def undeclared_args(
    dockerfile: Dockerfile, target: Needed, variant: str, given: Mapping[str, Iterable[str]]
) -> list[UndeclaredArg]:
    """The build arguments of `given` (where -> names) that no ARG declares: those given for
    every variant (`build-args`) anywhere in the Dockerfile, a variant's own and the run's in
    the stages its target needs. BuildKit's own (proxies, BUILDKIT_*) are never counted."""
    everywhere = _declared(dockerfile, dockerfile.stages)
    in_target = declared_args(dockerfile, target)
    found = []
    for where, names in given.items():
        declared = everywhere if where == "build-args" else in_target
        for name in sorted(set(names) - declared - PREDEFINED_ARGS):
            if not name.startswith("BUILDKIT_"):
                close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.7)
                key = f"--build-arg {name}" if where.startswith("--") else f"{where}.{name}"
                found.append(UndeclaredArg(key, name, variant, close[0] if close else None))
    return found


def builtin_args(
    declared: set[str], *, version: str, revision: str | None, variant: str
) -> dict[str, str]:
    """BUILDCACHE_VERSION/REVISION/VARIANT, for a Dockerfile that declares them; an undeclared
    one is not passed, so it changes no cache key."""
    values = {
        "BUILDCACHE_VERSION": version,
        "BUILDCACHE_REVISION": revision or "",
        "BUILDCACHE_VARIANT": variant,
    }
    return {name: value for name, value in values.items() if name in declared}


def unmet_mounts(needed: Needed, secrets: Iterable[Secret], ssh: Iterable[str]) -> list[str]:
    """Notes for each secret or SSH mount of the target's steps that the build is not given:
    BuildKit runs such a step without it (or fails it, with required=true)."""
    given = {"secret": {s.id for s in secrets}, "ssh": {entry.partition("=")[0] for entry in ssh}}
    how = {"secret": "[secrets] or --secret", "ssh": "ssh = [...] or --ssh"}
    return [
        f"`{step.text}` mounts the {kind} {mount_id!r}, which this build "
        f"is not given ({how[kind]}): BuildKit runs the step without it"
        for stage in needed.stages
        for step in stage.steps
        for kind, mount_id in step.mounts
        if mount_id not in given[kind]
    ]


# One variant's inputs, from the config and the command line


def attest_of(
    config: AttestConfig, run: BuildInputs, *, push: bool, context: RunContext
) -> Attest | None:
    """The attestations of a pushed image: provenance as build-push-action sets it (max on a
    public repository when the CI says so, min otherwise) unless the config or --provenance
    says; an SBOM when asked. A build that pushes nothing makes none."""
    if not push:
        return None
    mode, reason = _provenance(config, run, context)
    return Attest(
        provenance=mode,
        sbom=config.sbom if run.sbom is None else run.sbom,
        reason=reason,
        builder_id=context.run_url,  # the CI run that built it, where the CI names one
        sbom_generator=config.sbom_generator,
    )


def _provenance(
    config: AttestConfig, run: BuildInputs, context: RunContext
) -> tuple[ProvenanceMode, str]:
    """The provenance mode, and why."""
    mode = run.provenance or config.provenance
    if mode != "auto":
        return mode, "--provenance" if run.provenance else "[attest] provenance"
    if context.public and context.ci is not None:
        return "max", "a public repository (as build-push-action)"
    return "min", "buildx's default"


def variant_inputs(
    config: Config,
    variant: VariantConfig,
    run: BuildInputs,
    *,
    cwd: Path,
    attest: Attest | None,
) -> VariantInputs:
    """The command line adds to the config: a secret or context of the same name replaces it."""
    secrets = {s.id: s for s in (*config.secrets, *variant.secrets)}
    secrets.update((s.id, s) for s in (parse_secret(text, cwd) for text in run.secrets))
    contexts = {**config.contexts, **variant.contexts}
    contexts.update(parse_context(text, cwd) for text in run.contexts)
    ssh = dict.fromkeys([*config.ssh, *variant.ssh, *(parse_ssh(text, cwd) for text in run.ssh)])
    return VariantInputs(
        secrets=tuple(secrets.values()),
        ssh=tuple(ssh),
        contexts=contexts,
        attest=attest,
        no_cache=run.no_cache,
        pull=run.pull,
    )


def target_needs(
    text: str | None, target: str | None, build_args: Mapping[str, str]
) -> tuple[Dockerfile, Needed] | None:
    """The Dockerfile and what the target needs; None when it cannot be read (the build says
    why, with BuildKit's own words)."""
    if text is None:
        return None
    try:
        dockerfile = read_dockerfile(text)
        return dockerfile, needed(dockerfile, target, build_args)
    except ConfigError:
        return None
