"""buildkit/rawjson.py: BuildKit's rawjson stream split into objects line by line, past what is
not JSON, and BuildKit's nanosecond times read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from buildcache.buildkit.rawjson import RawJsonDecoder, parse_time


def test_the_decoder_reads_pretty_printed_objects_and_skips_what_it_cannot_read() -> None:
    decoder = RawJsonDecoder()
    text = (
        "WARNING: something buildx said\n"
        '{"vertexes": [{"digest": "a", "name": "x"}]}\n'  # one line
        "{\n"
        '  "vertexes": [\n'
        '    {"digest": "b", "name": "cut short"\n'  # truncated: a new object starts
        "{\n"
        '  "logs": []\n'
        "}\n"
        "{\n"
        "  not json at all\n"
        "}\n"
        "{\n"
        '  "statuses": []\n'
        "}\n"
    )
    objects = [obj for line in text.splitlines(keepends=True) for obj in decoder.feed(line)]
    assert objects == [{"vertexes": [{"digest": "a", "name": "x"}]}, {"logs": []}, {"statuses": []}]
    assert decoder.dropped == 2
    assert list(decoder.other_lines) == ["WARNING: something buildx said"]


def test_an_object_left_open_when_the_stream_ends_is_dropped() -> None:
    decoder = RawJsonDecoder()
    assert list(decoder.feed("{\n")) == []
    assert list(decoder.feed('  "vertexes": []\n')) == []
    decoder.close()
    assert decoder.dropped == 1
    # a JSON value that is not an object is not an update
    assert list(decoder.feed("[1, 2]\n")) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # BuildKit writes nanoseconds; the microseconds are kept
        ("2026-01-01T00:00:02.000000001Z", datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC)),
        ("2026-01-01T00:00:00.5Z", datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2026-01-01T12:30:00Z", datetime(2026, 1, 1, 12, 30, tzinfo=UTC)),
        (
            "2026-01-01T12:30:00.123456789+02:00",
            datetime(2026, 1, 1, 12, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2026-01-01 12:30:00Z", None),
        ("yesterday", None),
        (None, None),
        (1767225600, None),
    ],
)
def test_buildkit_s_times_are_read_to_the_microsecond(
    text: object, expected: datetime | None
) -> None:
    assert parse_time(text) == expected
