"""core/config/declare.py: a config key declared once, as the dataclass field that holds it;
read back as a Setting keyed by its field's name (or its own key), in the fields' order."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

import pytest

from buildcache.core.config.declare import NO_DEFAULT, REQUIRED, Setting, declared, setting


@dataclass(frozen=True, kw_only=True)
class _Section:
    max_age: timedelta = setting("duration", "30d", typed=timedelta(days=30), doc="How long.")
    options: dict[str, str] = setting("options", {})
    sources: tuple[str, ...] = setting("refs", (), key="from")
    endpoint: str = setting("name", REQUIRED, env="BUILDCACHE_ENDPOINT")
    root: str = setting("path", ".", typed=NO_DEFAULT)
    name: str = "not a setting"


def test_each_field_declares_its_key_kind_toml_default_and_doc() -> None:
    assert declared(_Section, "base.") == (
        Setting("base.max-age", "duration", "30d", doc="How long.", field="max_age"),
        Setting("base.options", "options", {}, field="options"),
        Setting("base.from", "refs", (), field="sources"),
        Setting("base.endpoint", "name", None, "BUILDCACHE_ENDPOINT", True, field="endpoint"),
        Setting("base.root", "path", ".", field="root"),
    )


def test_the_field_s_own_default_is_the_typed_value() -> None:
    made = _Section(endpoint="x", root="/r")
    assert (made.max_age, made.options, made.sources) == (timedelta(days=30), {}, ())
    assert made.options is not _Section(endpoint="y", root="/r").options  # a fresh dict each
    # a required key, and one the reader always gives, have no default of their own
    with pytest.raises(TypeError):
        _Section(root="/r")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _Section(endpoint="x")  # type: ignore[call-arg]
    assert [f.name for f in dataclasses.fields(_Section)][-1] == "name"
