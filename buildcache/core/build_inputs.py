"""Pure: what a build hands BuildKit besides its context and Dockerfile: build arguments from the
run, secrets, SSH agents, named build contexts, attestations, and --no-cache/--pull.

Secrets are named, never read: the bake file says which environment variable or file holds one,
and BuildKit reads it. buildcache only checks that the variable is set (or the file is there)
before the build, so a missing token is one sentence instead of a step failing with a registry's
401 half-way through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Literal

from buildcache.errors import UsageError

SECRET_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")  # a label's or an annotation's
CONTEXT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./:@-]*$")
# a context value that is not a folder of this repository: BuildKit resolves it itself
CONTEXT_SCHEMES = ("docker-image://", "oci-layout://", "target:", "https://", "http://", "git@")
Provenance = Literal["auto", "off", "min", "max"]
ProvenanceMode = Literal["off", "min", "max"]  # what "auto" becomes


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
    provenance: ProvenanceMode
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
class BuildInputs:
    """The command line's part, as typed (each is checked when the plan is made)."""

    build_args: Sequence[str] = ()  # K=V (V may say ${NAME}), or K: the environment's K
    secrets: Sequence[str] = ()  # id=ID,env=NAME or id=ID,src=PATH
    ssh: Sequence[str] = ()  # default, or ID=PATH
    contexts: Sequence[str] = ()  # NAME=VALUE
    labels: Sequence[str] = ()  # KEY=VALUE, over the config's
    annotations: Sequence[str] = ()  # KEY=VALUE, over the config's
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


def parse_key_values(flag: str, texts: Sequence[str]) -> dict[str, str]:
    """`--label KEY=VALUE` (or `--annotation`), each: the value is any text, the key a label's."""
    found = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not LABEL_KEY.fullmatch(key):
            raise UsageError(
                f"{flag} {text!r} is not KEY=VALUE", hint=f"e.g. {flag} org.example.team=web"
            )
        found[key] = value
    return found


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
    # the names its ${NAME} and $NAME stand for ($$ is a literal $)
    named = (m.group("braced") or m.group("named") for m in Template.pattern.finditer(value))
    missing = sorted({name for name in named if name} - set(env))
    if missing:
        raise UsageError(
            f"--build-arg {text!r} names ${{{missing[0]}}}, which is not set",
            hint="set it, or write $$ for a literal $",
        )
    try:
        return name, Template(value).substitute(env)
    except ValueError:
        raise UsageError(f"--build-arg {text!r}: a '$' must start ${{NAME}} (or be $$)") from None
