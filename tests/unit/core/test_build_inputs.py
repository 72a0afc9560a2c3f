"""core/build_inputs.py: the values of build inputs as docker's flags write them (--build-arg,
--secret, --ssh, --build-context), parsed strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildcache.core.build_inputs import (
    Attest,
    Secret,
    parse_build_arg,
    parse_context,
    parse_key_values,
    parse_secret,
    parse_ssh,
)
from buildcache.errors import UsageError


def test_command_line_values_are_parsed_strictly() -> None:
    env = {"SHA": "abc", "TOKEN": "t"}
    assert parse_build_arg("REV=${SHA}-x", env) == ("REV", "abc-x")
    assert parse_build_arg("REV=$$SHA", env) == ("REV", "$SHA")
    assert parse_build_arg("SHA", env) == ("SHA", "abc")
    with pytest.raises(UsageError, match=r"names \$\{MISSING\}, which is not set"):
        parse_build_arg("REV=${MISSING}", env)
    with pytest.raises(UsageError, match="not a build argument's name"):
        parse_build_arg("A-B=1", env)
    assert parse_secret("id=t,env=TOKEN", Path("/w")) == Secret("t", env="TOKEN")
    assert parse_secret("id=t,src=tok", Path("/w")) == Secret("t", file=Path("/w/tok"))
    assert parse_secret("id=t,type=env,source=TOKEN", Path("/w")) == Secret("t", env="TOKEN")
    for bad in ("id=t", "id=t,env=A,src=b", "env=A", "id=t,env=A,mode=1"):
        with pytest.raises(UsageError, match="is not id=ID"):
            parse_secret(bad, Path("/w"))
    assert parse_ssh("default", Path("/w")) == "default"
    assert parse_ssh("git=k1,k2", Path("/w")) == "git=/w/k1,/w/k2"
    assert parse_context("shared=../s", Path("/w")) == ("shared", "/w/../s")
    assert parse_context("py=docker-image://python@sha256:1", Path("/w")) == (
        "py",
        "docker-image://python@sha256:1",
    )
    with pytest.raises(UsageError, match="is not NAME=VALUE"):
        parse_context("shared", Path("/w"))


def test_key_values_take_the_last_of_a_name_and_refuse_a_bare_word() -> None:
    assert parse_key_values("--label", ["a=1", "b=x=y", "a=2"]) == {"a": "2", "b": "x=y"}
    with pytest.raises(UsageError) as refused:
        parse_key_values("--label", ["a"])
    assert refused.value.exit_code == 2


def test_attestations_as_buildx_s_attest_flags() -> None:
    off = Attest(provenance="off", sbom=False, reason="attest.provenance")
    assert off.to_options() == ["type=provenance,disabled=true"]
    ci = Attest(
        provenance="max",
        sbom=True,
        reason="a public repository",
        builder_id="https://github.com/acme/widget/actions/runs/42",
        sbom_generator="docker/buildkit-syft-scanner:1",
    )
    assert ci.to_options() == [
        "type=provenance,mode=max,builder-id=https://github.com/acme/widget/actions/runs/42",
        "type=sbom,generator=docker/buildkit-syft-scanner:1",
    ]
    assert ci.to_json() == {"provenance": "max", "sbom": True, "reason": "a public repository"}
