"""core/redact.py: a build argument named like a secret is shown as ***, warned about, hidden in
BuildKit's own text, and kept in a cache's record only as a hash."""

from __future__ import annotations

import hashlib
import json

import pytest

from buildcache.core.redact import (
    kept_value,
    looks_secret,
    redactor,
    secret_looking_args,
    shown_args,
)


@pytest.mark.parametrize(
    ("name", "secret"),
    [("API_TOKEN", True), ("db_password", True), ("NPM_AUTH_KEY", True), ("AWS_SECRET", True),
     ("PASSWD", True), ("GIT_CREDENTIALS", True), ("VERSION", False), ("PYTHON_VERSION", False),
     ("BUILDCACHE_REVISION", False)],
)  # fmt: skip
def test_a_name_looks_secret_by_its_words_in_any_case(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


def test_secret_looking_values_are_hidden_in_buildkit_s_own_text() -> None:
    redact = redactor([{"API_TOKEN": 'hun"ter2', "PIN": "1234", "SHORT_TOKEN": "ab"}, {}])
    line = json.dumps({"name": 'RUN login hun"ter2 1234'}) + ' hun"ter2 ab'
    assert redact(line) == json.dumps({"name": "RUN login *** 1234"}) + " *** ab"
    assert redactor([{"VERSION": "1.2.3"}])("1.2.3") == "1.2.3"


KEY, OTHER_KEY = "00" * 16, "01" * 16


def test_a_record_keeps_a_secret_looking_value_only_as_a_short_keyed_hash() -> None:
    kept = kept_value("API_TOKEN", "hunter2", KEY)
    assert kept is not None
    assert kept.startswith("hmac16:")
    assert len(kept) == len("hmac16:") + 4  # 16 bits: tells a change, cannot confirm a guess
    assert "hunter2" not in kept
    # the same key and value, the same text: comparable with the record it was keyed by
    assert kept == kept_value("API_TOKEN", "hunter2", KEY)
    assert kept != kept_value("API_TOKEN", "hunter3", KEY)
    # no unsalted hash: another record's key gives another text, and none is sha256's
    assert kept != kept_value("API_TOKEN", "hunter2", OTHER_KEY)
    assert hashlib.sha256(b"hunter2").hexdigest()[:4] != kept.removeprefix("hmac16:")
    assert kept_value("VERSION", "1.2.3", KEY) == "1.2.3"
    assert kept_value("API_TOKEN", None, KEY) is None


def test_a_guess_at_a_kept_secret_cannot_be_confirmed() -> None:
    """Of 100,000 candidates, about 1 in 65,536 match the kept text whatever the secret: the
    record leaves a brute force with a crowd, never the value."""
    kept = kept_value("API_TOKEN", "hunter2", KEY)
    matching = [n for n in range(100_000) if kept_value("API_TOKEN", f"guess{n}", KEY) == kept]
    assert len(matching) < 10


def test_secret_looking_arguments_are_warned_about_once_each_in_order() -> None:
    warnings = secret_looking_args(["VERSION", "NPM_TOKEN", "API_KEY", "NPM_TOKEN"])
    assert [w.split(" looks like")[0] for w in warnings] == [
        "the build argument API_KEY",
        "the build argument NPM_TOKEN",
    ]
    assert "pass secrets with [secrets] or --secret" in warnings[0]


def test_shown_arguments_hide_a_secret_looking_value() -> None:
    assert shown_args({"API_TOKEN": "hunter2", "VERSION": "1"}) == {
        "API_TOKEN": "***",
        "VERSION": "1",
    }
