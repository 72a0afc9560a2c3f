"""Run buildcache in this process and, when it exits, write its own CPU time and peak RSS to a
file: `python bench/selfcost.py COSTS.json build --push ...`.

`getrusage(RUSAGE_SELF)` counts this process alone (every thread of it), not the docker processes
it starts, so the bench can tell buildcache's share of a run from docker buildx's.
"""

from __future__ import annotations

import atexit
import json
import resource
import sys
from pathlib import Path


def _write(path: Path) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    path.write_text(
        json.dumps(
            {"cpu_seconds": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}
        )
    )


if __name__ == "__main__":
    atexit.register(_write, Path(sys.argv[1]))
    from buildcache.cli.main import main

    main(sys.argv[2:])
