"""buildkit/metadata.py: the file `docker buildx bake --metadata-file` writes, read into each
target's digest, config digest, whether its cache was written, and its entry as buildx wrote it."""

from __future__ import annotations

import json
from pathlib import Path

from buildcache.buildkit.metadata import TargetMetadata, digests, parse_metadata

DATA = Path(__file__).parent.parent / "data"


def test_a_recorded_bake_s_metadata_is_read_target_by_target() -> None:
    """Recorded beside bake-two-variants.rawjson: full's cache registry refused the write
    (no cache.manifest), slim's took it."""
    data = json.loads((DATA / "bake-two-variants.metadata.json").read_text())
    targets = parse_metadata(data)
    assert sorted(targets) == ["full", "slim"]
    slim, full = targets["slim"], targets["full"]
    assert slim.digest == "sha256:c97d77fb14a5a36a484ce209d33e9706eda64a117a1870c54c3e0010a92ef11e"
    assert slim.cache_written
    assert not full.cache_written
    assert full.config_digest == data["full"]["containerimage.config.digest"]
    assert full.entry == data["full"]  # passed on whole, as build-push-action's `metadata`
    assert digests(targets) == {"full": full.digest, "slim": slim.digest}


def test_buildx_s_own_entries_and_a_target_without_an_image_are_kept_apart() -> None:
    targets = parse_metadata(
        {
            "buildx.build.warnings": [{"vertex": "sha256:x", "short": "SecretsUsedInArgOrEnv"}],
            "buildx.build.ref": "default/default/abc",
            "test": {"buildx.build.ref": "default/default/def"},  # a target that pushed nothing
        }
    )
    assert targets == {"test": TargetMetadata(entry={"buildx.build.ref": "default/default/def"})}
    assert digests(targets) == {"test": None}
