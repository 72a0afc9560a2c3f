"""errors.py: a message stays readable whatever value it quotes."""

from __future__ import annotations

from buildcache.errors import ConfigError, UsageError


def test_a_long_quoted_value_is_cut_and_its_length_said() -> None:
    huge = "v" * 100_000
    error = UsageError(f"{huge!r} is not a valid Docker tag", hint=f"not {huge!r}")
    assert len(error.message) < 200
    assert error.message.endswith("' (100,000 characters) is not a valid Docker tag")
    assert error.hint is not None
    assert len(error.hint) < 200
    short = UsageError("'feature/x' is not a valid Docker tag")
    assert short.message == "'feature/x' is not a valid Docker tag"


def test_a_config_error_names_the_file_and_key_and_cuts_the_value() -> None:
    error = ConfigError(f"{'x' * 5000!r} is not a platform", source="/r/b.toml", key="platforms")
    assert error.message.startswith("/r/b.toml: platforms: 'xxx")
    assert "(5,000 characters)" in error.message
