"""core/bake: the bake file's text."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from buildcache.core.bake import bake_definition, bake_file_text, dry_run_text, hcl_literal
from buildcache.core.config.load import parse_config
from tests.unit.plans import plan_run

CONFIG = """\
images = ["ghcr.io/acme/widget"]
build-args = { GREETING = '${upper("x")}' }
labels = { note = "%{x}" }
[variants.slim]
"""


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('${upper("x")}', '$${upper("x")}'),
        ("%{ if true }y%{ endif }", "%%{ if true }y%%{ endif }"),
        ("$${kept}", "$$${kept}"),
        ("$HOME and 100%", "$HOME and 100%"),
        (["${a}", {"k": "%{b}"}, 3, True], ["$${a}", {"k": "%%{b}"}, 3, True]),
    ],
)
def test_a_value_is_written_so_that_bake_reads_it_back_as_it_was(
    value: object, written: object
) -> None:
    assert hcl_literal(value) == written


def test_the_bake_file_escapes_every_template_a_user_wrote_and_the_definition_keeps_it() -> None:
    config = parse_config(tomllib.loads(CONFIG), {}, path=Path("/r/b.toml"), root=Path("/r"))
    plan = plan_run(config, version="1.0", push=True)
    target = bake_definition(plan)["target"]["slim"]
    assert target["args"]["GREETING"] == '${upper("x")}'
    written = json.loads(bake_file_text(plan))["target"]["slim"]
    assert written["args"]["GREETING"] == '$${upper("x")}'
    assert written["labels"]["note"] == "%%{x}"
    assert '$${upper(\\"x\\")}' in dry_run_text(plan)
