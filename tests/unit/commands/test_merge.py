from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.commands.conftest import Run


def test_merge_refuses_a_result_of_a_failed_build_before_touching_docker(
    repo: Path, cli: Run
) -> None:
    result = repo / "arm64.json"
    result.write_text(
        json.dumps({"version": "1", "push_by_digest": True, "ok": False, "error": "boom"})
    )
    code, out, err = cli("merge", str(result))
    assert code == 2
    assert "is from a build that failed: boom" in err
    assert out == ""


def test_merge_of_nothing_readable_is_a_usage_error(repo: Path, cli: Run) -> None:
    code, _, err = cli("merge", str(repo / "missing.json"))
    assert code == 2
    assert "cannot read" in err


def test_a_runner_image_that_cannot_be_read_fails_the_merge_before_anything_is_written() -> None:
    """A registry that keeps answering 500 to the runner's manifest: tried again, then the merge
    stops with one sentence (BuildFailed, exit 1), not an uncaught registry error."""
    from buildcache.commands.merge import _read_runners
    from buildcache.core.publish.merge import MergeInput
    from buildcache.core.publish.writes import Retrier, RetryPolicy, VariantTags
    from buildcache.core.reference import ImageRef
    from buildcache.errors import BuildFailed
    from buildcache.registry.publish import Registries
    from tests.unit.registry.memory import MemoryRegistries

    memory = MemoryRegistries()
    image = ImageRef("one.example", "acme/widget")
    digest = memory.push_index(image, ("amd64",), {"dev.buildcache.variant": "slim"})
    merged = MergeInput(
        version="1.0",
        variants=[VariantTags("slim", True, (image.with_tag("1.0"),))],
        sources={"slim": [image.with_digest(digest)]},
        platforms={"slim": ["linux/amd64"]},
        runner_platforms={"slim": [("linux/amd64",)]},
    )
    memory.faults = {f"GET one.example/acme/widget/manifests/{digest}": [500] * 3}
    with Registries(memory.connect) as registries, pytest.raises(BuildFailed) as failed:
        _read_runners(registries, merged, Retrier(RetryPolicy(attempts=2, backoff=0)))
    assert "500" in failed.value.message
    assert failed.value.hint == "nothing was merged or tagged: run the same merge again"
    assert not [c for c in memory.calls if c.startswith("PUT")]
    memory.faults = {}
    with Registries(memory.connect) as registries:
        read = _read_runners(registries, merged, Retrier(RetryPolicy(attempts=2, backoff=0)))
    assert [r.platforms for r in read["slim"]] == [("linux/amd64",)]


def test_a_runner_image_built_as_another_variant_is_refused_before_anything_is_written() -> None:
    """Two runners' results with slim and full swapped: slim's digest is an image whose config
    says it was built as full. Refused (exit 2), naming it, before any write."""
    import pytest

    from buildcache.commands.merge import _read_runners
    from buildcache.core.publish.merge import MergeInput
    from buildcache.core.publish.writes import Retrier, RetryPolicy, VariantTags
    from buildcache.core.reference import ImageRef
    from buildcache.errors import UsageError
    from buildcache.registry.publish import Registries
    from tests.unit.registry.memory import MemoryRegistries

    memory = MemoryRegistries()
    image = ImageRef("one.example", "acme/widget")
    full = memory.push_index(image, ("arm64",), {"dev.buildcache.variant": "full"})
    merged = MergeInput(
        version="1.0",
        variants=[VariantTags("slim", True, (image.with_tag("1.0"),))],
        sources={"slim": [image.with_digest(full)]},
        platforms={"slim": ["linux/arm64"]},
        runner_platforms={"slim": [("linux/arm64",)]},
    )
    with Registries(memory.connect) as registries, pytest.raises(UsageError) as refused:
        _read_runners(registries, merged, Retrier(RetryPolicy(attempts=1, backoff=0)))
    assert refused.value.message == (
        f"{image.with_digest(full)}: the result says slim, but the image for linux/arm64 was "
        "built as full: nothing was merged"
    )
    assert refused.value.exit_code == 2
    assert not [c for c in memory.calls if c.startswith("PUT")]


def test_merge_without_a_config_refuses_to_write_anywhere(
    tmp_path: Path, cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a config the results alone would say where to write (another project's
    repositories, say): merge refuses before it reads them."""
    monkeypatch.chdir(tmp_path)
    result = tmp_path / "amd64.json"
    result.write_text(json.dumps({"version": "1", "push_by_digest": True, "ok": True}))
    code, out, err = cli("merge", str(result))
    assert code == 2
    assert "no config found" in err
    assert out == ""
