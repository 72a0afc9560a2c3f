"""What the engine keeps of pushes: the docker driver stores every image it pushes in the
engine's own image store too. The tests and the bench untag what they pushed to registries they
made (nothing else in the engine is touched); an image goes when its last tag does."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable


def remove_local_images(prefixes: Iterable[str], docker: str = "docker") -> None:
    """Untag every image in the engine's store whose name starts with one of `prefixes`."""
    starts = tuple(prefixes)
    if not starts:
        return
    listed = subprocess.run(
        [docker, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    ours = [name for name in listed.stdout.split() if name.startswith(starts)]
    for start in range(0, len(ours), 100):
        subprocess.run(
            [docker, "image", "rm", *ours[start : start + 100]], capture_output=True, check=False
        )
