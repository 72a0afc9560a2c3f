"""Pure: what a build hands BuildKit besides its context and Dockerfile: build arguments from the
run, secrets, SSH agents, named build contexts, attestations, and --no-cache/--pull.

Secrets are named, never read: the bake file says which environment variable or file holds one,
and BuildKit reads it. buildcache only checks that the variable is set (or the file is there)
before the build, so a missing token is one sentence instead of a step failing with a registry's
401 half-way through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, Literal

from buildcache.core.stages import Dockerfile, Needed, needed, read_dockerfile
from buildcache.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from buildcache.core.ci import RunContext
    from buildcache.core.config import AttestConfig, Config, VariantConfig

SECRET_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CONTEXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./:@-]*$")
# a context value that is not a folder of this repository: BuildKit resolves it itself
CONTEXT_SCHEMES = ("docker-image://", "oci-layout://", "target:", "https://", "http://", "git@")
BUILTIN_ARGS = ("BUILDCACHE_VERSION", "BUILDCACHE_REVISION", "BUILDCACHE_VARIANT")
Provenance = Literal["auto", "off", "min", "max"]


@dataclass(frozen=True)
class Secret:
    id: str
    env: str | None = None  # the variable BuildKit reads the value from
    file: Path | None = None  # or the file
    required: bool = True  # False: a missing one is a warning, and the build runs without it

    @property
    def source(self) -> str:
        return f"env {self.env}" if self.env else f"file {self.file}"

    def to_option(self) -> str:
        """bake's `secret` entry: where BuildKit finds the value (the value itself never)."""
        return f"id={self.id},env={self.env}" if self.env else f"id={self.id},src={self.file}"

    def to_json(self) -> dict[str, Any]:
        where = {"env": self.env} if self.env else {"file": str(self.file)}
        return {"id": self.id, **where, "required": self.required}


@dataclass(frozen=True)
class Attest:
    provenance: Literal["off", "min", "max"]
    sbom: bool
    reason: str  # why this provenance mode
    builder_id: str | None = None  # the CI run that built it, as build-push-action records
    sbom_generator: str | None = None  # the scanner image; None: BuildKit's own

    def to_options(self) -> list[str]:
        if self.provenance == "off":
            options = ["type=provenance,disabled=true"]
        else:
            provenance = f"type=provenance,mode={self.provenance}"
            if self.builder_id:
                provenance += f",builder-id={self.builder_id}"
            options = [provenance]
        if self.sbom:
            generator = f",generator={self.sbom_generator}" if self.sbom_generator else ""
            options.append("type=sbom" + generator)
        return options

    def to_json(self) -> dict[str, Any]:
        return {"provenance": self.provenance, "sbom": self.sbom, "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class RunInputs:
    """The command line's part, as typed (each is checked when the plan is made)."""

    build_args: Sequence[str] = ()  # K=V (V may say ${NAME}), or K: the environment's K
    secrets: Sequence[str] = ()  # id=ID,env=NAME or id=ID,src=PATH
    ssh: Sequence[str] = ()  # default, or ID=PATH
    contexts: Sequence[str] = ()  # NAME=VALUE
    provenance: Provenance | None = None
    sbom: bool | None = None
    no_cache: bool = False
    pull: bool = False


@dataclass(frozen=True, kw_only=True)
class VariantInputs:
    secrets: tuple[Secret, ...] = ()
    ssh: tuple[str, ...] = ()
    contexts: Mapping[str, str] = field(default_factory=dict)
    attest: Attest | None = None  # None: nothing pushed, so no attestation is made
    no_cache: bool = False
    pull: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "secrets": [s.to_json() for s in self.secrets],
            "ssh": list(self.ssh),
            "contexts": dict(self.contexts),
            "attest": self.attest.to_json() if self.attest else None,
        }
        return {**data, "no_cache": self.no_cache, "pull": self.pull}


# The command line's values


def _fields(flag: str, text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not value or key.strip() != key:
            raise UsageError(f"{flag} {text!r}: {part!r} is not KEY=VALUE")
        fields[key] = value
    return fields


def parse_secret(text: str, cwd: Path) -> Secret:
    """`--secret id=ID,env=NAME` or `id=ID,src=PATH` (docker's spelling: `source`, `type`)."""
    fields = _fields("--secret", text)
    secret_id = fields.pop("id", "")
    kind = fields.pop("type", None)
    env = fields.pop("env", None)
    src = fields.pop("src", None) or fields.pop("source", None)
    if kind == "env" and src and not env:
        env, src = src, None
    required = fields.pop("required", "true") != "false"
    if fields or not SECRET_ID.fullmatch(secret_id) or bool(env) == bool(src):
        raise UsageError(
            f"--secret {text!r} is not id=ID,env=NAME or id=ID,src=PATH",
            hint="e.g. --secret id=pypi_token,env=PYPI_TOKEN",
        )
    if env is not None and not ENV_NAME.fullmatch(env):
        raise UsageError(f"--secret {text!r}: {env!r} is not an environment variable's name")
    return Secret(secret_id, env=env, file=cwd / src if src else None, required=required)


def parse_ssh(text: str, cwd: Path) -> str:
    """`default` (the agent of SSH_AUTH_SOCK), `ID` or `ID=PATH[,PATH]` (keys or a socket)."""
    name, sep, paths = text.partition("=")
    if not SECRET_ID.fullmatch(name) or (sep and not paths):
        raise UsageError(f"--ssh {text!r} is not default, ID or ID=PATH", hint="e.g. --ssh default")
    if not sep:
        return name
    return name + "=" + ",".join(str(cwd / p) for p in paths.split(","))


def context_value(value: str, root: Path) -> str:
    """A named context's value as bake reads it: a folder relative to `root`, or as written."""
    return value if value.startswith(CONTEXT_SCHEMES) else str(root / value)


def parse_context(text: str, cwd: Path) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not value or not CONTEXT_NAME.fullmatch(name):
        raise UsageError(
            f"--build-context {text!r} is not NAME=VALUE",
            hint="e.g. --build-context shared=../shared or python:3.12-slim=docker-image://...",
        )
    return name, context_value(value, cwd)


def parse_build_arg(text: str, env: Mapping[str, str]) -> tuple[str, str]:
    """`K=V`, where V may name variables as ${NAME}; or `K` alone, for the environment's K (as
    docker's --build-arg K). A variable that is not set is an error, not an empty string."""
    name, sep, value = text.partition("=")
    if not ENV_NAME.fullmatch(name):
        raise UsageError(f"--build-arg {text!r}: {name!r} is not a build argument's name")
    if not sep:
        if name not in env:
            raise UsageError(f"--build-arg {name} takes its value from ${name}, which is not set")
        return name, env[name]
    missing = sorted(
        m.group("braced") or m.group("named")
        for m in Template.pattern.finditer(value)
        if (m.group("braced") or m.group("named"))
        and (m.group("braced") or m.group("named")) not in env
    )
    if missing:
        raise UsageError(
            f"--build-arg {text!r} names ${{{missing[0]}}}, which is not set",
            hint="set it, or write $$ for a literal $",
        )
    try:
        return name, Template(value).substitute(env)
    except ValueError:
        raise UsageError(f"--build-arg {text!r}: a '$' must start ${{NAME}} (or be $$)") from None


def check_inputs(
    given: Iterable[VariantInputs], env: Mapping[str, str], exists: Callable[[Path], bool]
) -> list[str]:
    """What must be there before a build starts: every required secret (only its presence is
    checked, the value is never read), the agent of an SSH entry without keys, every context
    folder. A secret that may be missing is a note."""
    notes = []
    for secret in dict.fromkeys(s for inputs in given for s in inputs.secrets):
        present = (secret.env in env) if secret.env else exists(secret.file or Path())
        if present:
            continue
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
        notes.append(f"the secret {secret.id!r} is left out: {where}")
    for inputs in given:
        for entry in inputs.ssh:
            if "=" not in entry and not env.get("SSH_AUTH_SOCK"):
                raise UsageError(
                    f"--ssh {entry} forwards the SSH agent, and SSH_AUTH_SOCK is not set",
                    hint="start one (eval $(ssh-agent) && ssh-add), or give keys: ID=PATH",
                )
        for name, value in inputs.contexts.items():
            if not value.startswith(CONTEXT_SCHEMES) and not exists(Path(value)):
                raise UsageError(
                    f"the build context {name}, {value}, does not exist",
                    hint="a folder in the config is relative to the config file",
                )
    return notes


# What the Dockerfile asks for


def declared_args(dockerfile: Dockerfile, needed: Needed) -> set[str]:
    """Every ARG the target's stages (and the global ones) declare."""
    names = set(dockerfile.meta_args)
    for stage in needed.stages:
        for step in stage.steps:
            names.update(step.args)
    return names


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
    given = {s.id for s in secrets}
    agents = {entry.partition("=")[0] for entry in ssh}
    notes = []
    for stage in needed.stages:
        for step in stage.steps:
            for kind, mount_id in step.mounts:
                if (kind == "secret" and mount_id not in given) or (
                    kind == "ssh" and mount_id not in agents
                ):
                    how = "[secrets] or --secret" if kind == "secret" else "ssh = [...] or --ssh"
                    notes.append(
                        f"`{step.text}` mounts the {kind} {mount_id!r}, which this build "
                        f"is not given ({how}): BuildKit runs the step without it"
                    )
    return notes


# One variant's inputs, from the config and the command line


def attest_of(
    config: AttestConfig, run: RunInputs, *, push: bool, context: RunContext, env: Mapping[str, str]
) -> Attest | None:
    """The attestations of a pushed image: provenance as build-push-action sets it (max on a
    public repository when the CI says so, min otherwise) unless the config or --provenance
    says; an SBOM when asked. A build that pushes nothing makes none."""
    if not push:
        return None
    mode = run.provenance or config.provenance
    if mode == "auto":
        public = context.public and context.ci is not None
        mode = "max" if public else "min"
        reason = "a public repository (as build-push-action)" if public else "buildx's default"
    else:
        reason = "--provenance" if run.provenance else "[attest] provenance"
    builder_id = None
    if context.ci == "github" and env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "").rstrip("/")
        builder_id = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    sbom = config.sbom if run.sbom is None else run.sbom
    return Attest(
        provenance=mode,
        sbom=sbom,
        reason=reason,
        builder_id=builder_id,
        sbom_generator=config.sbom_generator,
    )


def variant_inputs(
    config: Config,
    variant: VariantConfig,
    run: RunInputs,
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
