"""core/plan/inputs.py: each variant's inputs in a plan (build arguments from the run, built-in
arguments, secrets, SSH, named contexts, attestations), checked before a build, and what the bake
file says of them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from buildcache.core.bake import bake_definition, dry_run_text
from buildcache.core.build_inputs import (
    BuildInputs,
)
from buildcache.core.config.load import parse_config
from buildcache.core.config.model import Config
from buildcache.core.plan.ci import GitFacts
from buildcache.core.plan.model import BuildPlan
from buildcache.errors import ConfigError, UsageError
from tests.unit.plans import plan_run

ROOT = Path("/r")
CONFIG = """\
images = ["ghcr.io/acme/widget", "acme/widget"]
build-args = { GIT_SHA = { env = "GIT_SHA", default = "dev" } }
ssh = ["deploy=keys/id"]

[secrets]
pypi = { env = "PYPI_TOKEN" }
netrc = { file = "netrc", required = false }

[contexts]
shared = "../shared"

[cache]
from = ["ghcr.io/acme/base:buildcache-slim"]

[variants.slim]
[variants.full]
contexts = { extra = "docker-image://ghcr.io/acme/extra:1" }
cache-from = ["ghcr.io/acme/widget:buildcache-slim"]
"""
DOCKERFILE = """\
ARG GIT_SHA
FROM busybox AS base
ARG API_TOKEN
ARG BUILDCACHE_VARIANT
ARG BUILDCACHE_REVISION
RUN --mount=type=secret,id=pypi --mount=type=secret,target=/run/secrets/npm true
RUN --mount=type=ssh true
"""
SHA = "a" * 40


def _config(text: str = CONFIG, env: dict[str, str] | None = None) -> Config:
    return parse_config(tomllib.loads(text), env or {}, path=ROOT / "buildcache.toml", root=ROOT)


def _plan(
    config: Config,
    env: dict[str, str],
    inputs: BuildInputs | None = None,
    *,
    push: bool = True,
    dockerfile: str = DOCKERFILE,
    missing: frozenset[Path] = frozenset(),
) -> BuildPlan:
    return plan_run(
        config,
        env=env,
        git=GitFacts(sha=SHA, branch="main"),
        version="1.0",
        push=push,
        inputs=inputs,
        read_text=lambda path: dockerfile,
        exists=lambda path: path not in missing,
        cwd=Path("/work"),
    )


def test_the_bake_file_names_where_secrets_are_never_their_values() -> None:
    env = {"PYPI_TOKEN": "s3cr3t", "SSH_AUTH_SOCK": "/tmp/agent"}
    inputs = BuildInputs(
        secrets=("id=npm,env=NPM_TOKEN",),
        ssh=("default",),
        contexts=("shared=/elsewhere",),
        no_cache=True,
        pull=True,
    )
    plan = _plan(_config(), {**env, "NPM_TOKEN": "n"}, inputs)
    full = bake_definition(plan)["target"]["full"]
    assert full["secret"] == [
        "id=pypi,env=PYPI_TOKEN",
        "id=netrc,src=/r/netrc",
        "id=npm,env=NPM_TOKEN",
    ]
    assert full["ssh"] == ["deploy=/r/keys/id", "default"]
    # the command line's context replaces the config's of the same name
    assert full["contexts"] == {
        "shared": "/elsewhere",
        "extra": "docker-image://ghcr.io/acme/extra:1",
    }
    assert full["no-cache"] is True
    assert full["pull"] is True
    assert full["cache-from"][-2:] == [
        "type=registry,ref=ghcr.io/acme/base:buildcache-slim",
        "type=registry,ref=ghcr.io/acme/widget:buildcache-slim",
    ]
    every_output = json.dumps(bake_definition(plan)) + json.dumps(plan.to_json())
    assert "s3cr3t" not in every_output
    assert "/tmp/agent" not in every_output


def test_a_missing_secret_stops_the_plan_unless_it_may_be_missing() -> None:
    with pytest.raises(UsageError, match="secret 'pypi' is missing: the environment variable"):
        _plan(_config(), {"SSH_AUTH_SOCK": "/a"})
    plan = _plan(_config(), {"PYPI_TOKEN": "x"}, missing=frozenset({ROOT / "netrc"}))
    assert any("secret 'netrc' is left out: the file /r/netrc" in n for n in plan.notes)
    with pytest.raises(UsageError, match="SSH_AUTH_SOCK is not set"):
        _plan(_config(), {"PYPI_TOKEN": "x"}, BuildInputs(ssh=("default",)))


def test_mounts_the_build_is_not_given_are_named_once() -> None:
    config = _config('images = ["ghcr.io/acme/widget"]\n[variants.a]\n[variants.b]\n')
    notes = _plan(config, {}).notes
    unmet = [n for n in notes if "which this build is not given" in n]
    assert len(unmet) == 3  # pypi and npm (by its target's name), and the ssh agent: once each
    assert any("the secret 'npm'" in n for n in unmet)
    assert any("the ssh 'default'" in n for n in unmet)


def test_builtin_args_reach_only_a_dockerfile_that_declares_them() -> None:
    env = {"PYPI_TOKEN": "x"}
    plan = _plan(_config(), env)
    assert plan.variants[1].build_args == {
        "BUILDCACHE_VARIANT": "full",
        "BUILDCACHE_REVISION": SHA,
        "GIT_SHA": "dev",
    }
    undeclared = _plan(_config(), env, dockerfile="ARG GIT_SHA\nFROM busybox\nRUN true\n")
    assert undeclared.variants[1].build_args == {"GIT_SHA": "dev"}
    # the config and the command line win over a built-in
    given = _plan(_config(), env, BuildInputs(build_args=("BUILDCACHE_VARIANT=mine",)))
    assert given.variants[1].build_args["BUILDCACHE_VARIANT"] == "mine"


def test_a_secret_looking_argument_is_hidden_everywhere_buildcache_prints_it() -> None:
    plan = _plan(
        _config(), {"PYPI_TOKEN": "x", "T": "hunter2"}, BuildInputs(build_args=("API_TOKEN=${T}",))
    )
    assert any("API_TOKEN looks like a secret" in n for n in plan.notes)
    assert plan.variants[0].build_args["API_TOKEN"] == "hunter2"  # BuildKit gets it
    assert "hunter2" not in json.dumps(plan.to_json()) + dry_run_text(plan)


def test_provenance_follows_build_push_action_unless_told(tmp_path: Path) -> None:
    env = {"PYPI_TOKEN": "x"}
    laptop = _plan(_config(), env).variants[0].inputs.attest
    assert laptop is not None
    assert (laptop.provenance, laptop.reason) == ("min", "buildx's default")
    event = tmp_path / "event.json"
    github = {
        **env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_REF_NAME": "main",
        "GITHUB_REPOSITORY": "acme/widget",
        "GITHUB_RUN_ID": "42",
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_EVENT_PATH": str(event),
    }
    event.write_text(json.dumps({"repository": {"private": False}}))
    public = _plan(_config(), github).variants[0].inputs.attest
    assert public is not None
    assert public.provenance == "max"
    assert public.to_options() == [
        "type=provenance,mode=max,builder-id=https://github.example/acme/widget/actions/runs/42"
    ]
    configured = _config(CONFIG + "\n[attest]\nprovenance = false\nsbom = true\n")
    off = _plan(configured, env).variants[0].inputs.attest
    assert off is not None
    assert off.to_options() == ["type=provenance,disabled=true", "type=sbom"]
    told = _plan(configured, env, BuildInputs(provenance="max", sbom=False)).variants[0]
    assert told.inputs.attest is not None
    assert told.inputs.attest.to_options() == ["type=provenance,mode=max"]
    # nothing pushed, nothing attested
    assert _plan(_config(), env, push=False).variants[0].inputs.attest is None


def test_a_single_platform_without_attestations_gets_no_index_annotations() -> None:
    env = {"PYPI_TOKEN": "x"}
    configured = _config(CONFIG + "\n[attest]\nprovenance = false\n")
    output = bake_definition(_plan(configured, env))["target"]["slim"]["output"][0]
    assert "annotation-manifest." in output
    assert "annotation-index." not in output
    attested = bake_definition(_plan(_config(), env))["target"]["slim"]["output"][0]
    assert "annotation-index." in attested


def test_a_build_argument_no_arg_declares_stops_the_plan_naming_the_one_meant() -> None:
    """A misspelt switch builds the wrong variant with exit 0: the plan stops it."""
    dockerfile = (
        "ARG BASE=python:3.12-slim\nFROM $BASE AS app\nARG CCC_VARIANT=slim\n"
        "ARG CCC_INSTALL_SPEC=\nRUN echo $CCC_VARIANT $CCC_INSTALL_SPEC\n"
        "FROM $BASE AS other\nARG ONLY_OTHER\n"
    )
    text = (
        'images = ["ghcr.io/acme/ccc"]\ntarget = "app"\nbuild-args = { HTTP_PROXY = "http://p", '
        'BUILDKIT_INLINE_CACHE = "1", BASE = "python:3.12", ONLY_OTHER = "1" }\n'
        '[variants.slim]\ndefault = true\n[variants.full.build-args]\nCCC_VARAINT = "full"\n'
    )
    with pytest.raises(ConfigError) as stopped:
        _plan(_config(text), {}, dockerfile=dockerfile, push=False)
    assert stopped.value.key == "variants.full.build-args.CCC_VARAINT"
    assert "(did you mean CCC_VARIANT?)" in stopped.value.message
    assert "check-build-args = false" in str(stopped.value.hint)

    # on purpose: a note instead; the proxies, BuildKit's own, those declared (a shared one
    # anywhere in the Dockerfile) are neither
    allowed = _config(text + "[build]\ncheck-build-args = false\n")
    notes = _plan(allowed, {}, dockerfile=dockerfile, push=False).notes
    assert [n for n in notes if "Dockerfile declares it" in n] == [
        "variants.full.build-args.CCC_VARAINT: no ARG of full's Dockerfile declares it, so it "
        "changes nothing (did you mean CCC_VARIANT?)"
    ]


def test_a_run_s_build_argument_must_be_declared_by_the_variant_s_target() -> None:
    dockerfile = "FROM busybox AS app\nARG A\nFROM busybox AS other\nARG B\n"
    text = 'images = ["ghcr.io/acme/ccc"]\ntarget = "app"\n'
    with pytest.raises(UsageError, match="--build-arg B: no ARG of default's Dockerfile"):
        _plan(
            _config(text), {}, BuildInputs(build_args=("B=1",)), dockerfile=dockerfile, push=False
        )
