"""Pure: BuildKit's rawjson progress stream -> JSON objects, line by line, in bounded memory.

`docker buildx bake --progress rawjson` writes BuildKit's solve status as JSON objects (one per
update, pretty-printed over several lines) on stderr: `vertexes` with `name`, `started`,
`completed`, `cached` and `error`; `statuses`; `logs` with base64 data.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import Any

MAX_OBJECT_BYTES = 16 * 1024 * 1024
OTHER_LINES_KEPT = 50


class RawJsonDecoder:
    """Splits the rawjson stream into objects, line by line, and keeps going past bad input.

    buildx prints each object with its opening and closing brace alone at column 0. A line
    outside an object that is not JSON (a warning, a plain message) is kept in `other_lines`;
    an object cut short by a new one, or one that does not parse, is dropped and counted.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._size = 0
        self.dropped = 0
        self.other_lines: deque[str] = deque(maxlen=OTHER_LINES_KEPT)

    def feed(self, line: str) -> Iterator[dict[str, Any]]:
        stripped = line.rstrip("\r\n")
        if not self._lines:
            if stripped.startswith("{"):
                whole = _loads(stripped)
                if whole is not None:
                    yield whole
                    return
                self._start(stripped)
            elif stripped.strip():
                self.other_lines.append(stripped)
            return
        if stripped.startswith("{"):
            # A new object at column 0 while one was open: the open one was truncated.
            self.dropped += 1
            self._start(stripped)
            return
        self._lines.append(stripped)
        self._size += len(stripped)
        if stripped == "}":
            obj = self._close_object()
            if obj is not None:
                yield obj
        elif self._size > MAX_OBJECT_BYTES:
            self.dropped += 1
            self._lines = []
            self._size = 0

    def _close_object(self) -> dict[str, Any] | None:
        """The open object, ended by a `}` at column 0; None (counted dropped) if it is not JSON."""
        obj = _loads("\n".join(self._lines))
        self._lines = []
        self._size = 0
        if obj is None:
            self.dropped += 1
        return obj

    def _start(self, line: str) -> None:
        self._lines = [line]
        self._size = len(line)

    def close(self) -> None:
        if self._lines:
            self.dropped += 1
            self._lines = []


def _loads(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    # BuildKit writes nanoseconds; Python's parser takes at most microseconds.
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", value)
    if not match:
        return None
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    return datetime.fromisoformat(f"{match.group(1)}.{fraction}{zone}")
