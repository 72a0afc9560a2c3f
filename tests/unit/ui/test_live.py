"""ui/live.py: the progress views, plain (one line per finished step, no control characters)
and live (a table that keeps finished steps and a failing step's log in view), chosen by mode."""

from __future__ import annotations

import io

from rich.console import Console

from buildcache.buildkit.tracker import BuildTracker
from buildcache.ui.console import make_console
from buildcache.ui.live import LiveView, PlainView, progress_view

T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:01.5Z", "2026-01-01T00:00:04Z"


def slim_tracker() -> BuildTracker:
    return BuildTracker(["slim"], {"slim": ["linux/amd64", "linux/arm64"]})


def feed_steps(tracker: BuildTracker, view: PlainView | LiveView) -> None:
    updates = [
        {
            "vertexes": [
                {
                    "digest": "i",
                    "name": "[slim] importing cache manifest from r/c:buildcache-slim",
                    "started": T0,
                    "completed": T0,
                }
            ]
        },
        {
            "vertexes": [
                {
                    "digest": "a1",
                    "name": "[slim linux/amd64 app 1/2] COPY deps /d",
                    "started": T0,
                    "completed": T0,
                    "cached": True,
                }
            ]
        },
        {
            "vertexes": [
                {"digest": "a2", "name": "[slim linux/amd64 app 2/2] RUN make", "started": T0}
            ]
        },
        {
            "logs": [{"vertex": "a2", "data": "Y29tcGlsaW5nIFtzdGVwIDFdCg=="}]
        },  # "compiling [step 1]"
        {
            "vertexes": [
                {
                    "digest": "a2",
                    "name": "[slim linux/amd64 app 2/2] RUN make",
                    "started": T0,
                    "completed": T1,
                }
            ]
        },
        {
            "vertexes": [
                {
                    "digest": "b2",
                    "name": "[slim linux/arm64 app 2/2] RUN make",
                    "started": T0,
                    "completed": T2,
                    "error": "process exited with code 2",
                }
            ]
        },
    ]
    for update in updates:
        view.handle(tracker.update(update))


def test_plain_progress_is_one_line_per_finished_step_without_control_characters() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False, no_color=True, width=160)
    tracker = slim_tracker()
    with PlainView(console) as view:
        feed_steps(tracker, view)
    text = stream.getvalue()
    assert "\x1b" not in text
    assert text.splitlines() == [
        "slim linux/amd64 1/2 COPY deps /d CACHED",
        "slim linux/amd64 2/2 RUN make 1.5s",
        "slim linux/arm64 2/2 RUN make ERROR: process exited with code 2",
    ]


def test_the_live_view_keeps_finished_steps_and_a_failing_steps_log_visible() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120, record=True)
    tracker = slim_tracker()
    tracker.update(
        {
            "vertexes": [
                {"digest": "b2", "name": "[slim linux/arm64 app 2/2] RUN make", "started": T0}
            ]
        }
    )
    tracker.update(
        {"logs": [{"vertex": "b2", "data": "bWFrZTogKioqIEVycm9yIDIK"}]}
    )  # "make: *** Error 2"
    with LiveView(console) as view:
        feed_steps(tracker, view)
    text = console.export_text()
    assert "✓ slim linux/amd64 1/2 COPY deps /d CACHED" in text
    assert "✓ slim linux/amd64 2/2 RUN make 1.5s" in text
    assert "✗ slim linux/arm64 2/2 RUN make: process exited with code 2" in text
    assert "│ make: *** Error 2" in text
    # the final table: a line per variant x platform, steps done, cached, time
    assert "slim linux/amd64" in text.split("variant / platform")[-1]
    assert "slim linux/arm64" in text.split("variant / platform")[-1]


def test_progress_modes() -> None:
    plain = make_console(plain=True)
    assert isinstance(progress_view("auto", plain), PlainView)
    assert isinstance(progress_view("plain", plain), PlainView)
    assert isinstance(progress_view("tty", plain), LiveView)
    assert not isinstance(progress_view("quiet", plain), PlainView | LiveView)
