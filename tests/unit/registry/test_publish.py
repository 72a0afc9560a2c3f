"""registry/publish.py against registries in memory: each tag one PUT of the index, the same
bytes everywhere; holds decided over every registry; two releases at once settled on the
higher; a resumed release copied only where it is missing."""

from __future__ import annotations

import tomllib
from pathlib import Path

from buildcache.core.config.load import parse_config
from buildcache.core.plan.ci import GitFacts
from buildcache.core.plan.model import BuildPlan
from buildcache.core.publish.writes import PublishStep, ReleaseShape, TagResult
from buildcache.core.reference import ImageRef
from buildcache.registry.publish import (
    Registries,
    TagWriter,
    copy_where_missing,
    planned_holds,
    planned_published,
    put_by_digest,
    read_manifest,
)
from tests.unit.plans import plan_run
from tests.unit.registry.memory import INDEX, MemoryRegistries

GHCR = ImageRef("ghcr.io", "acme/widget")
HUB = ImageRef("hub.example", "acme/widget")


def _writer(
    memory: MemoryRegistries, registries: Registries, digest: str, version: str
) -> TagWriter:
    return TagWriter(
        registries,
        {"slim": read_manifest(registries, GHCR, digest)},
        images={"slim": [GHCR, HUB]},
        shapes={"slim": ReleaseShape(version)},
    )


def _released(memory: MemoryRegistries, version: str) -> str:
    """A release on both registries: its index by digest, its version tag."""
    digest = memory.push_index(GHCR)
    with Registries(memory.connect) as registries:
        copy_where_missing(registries, GHCR.with_digest(digest), [GHCR, HUB])
    for image in (GHCR, HUB):
        memory.tag_as(image, version, digest)
    return digest


def test_each_tag_is_one_put_of_the_index_bytes_on_every_registry() -> None:
    memory = MemoryRegistries()
    digest = _released(memory, "1.0.0")
    with Registries(memory.connect) as registries:
        writer = _writer(memory, registries, digest, "1.0.0")
        calls = len(memory.calls)
        writer.put(PublishStep("slim", HUB, ("1.0", "1"), moving=False))
    # each tag read right after its write (registry/client): a write taken and lost shows there
    assert [c.split("?")[0] for c in memory.calls[calls:]] == [
        "PUT hub.example/acme/widget/manifests/1.0",
        "HEAD hub.example/acme/widget/manifests/1.0",
        "PUT hub.example/acme/widget/manifests/1",
        "HEAD hub.example/acme/widget/manifests/1",
    ]
    assert memory.tag(HUB, "1") == digest


def test_a_higher_release_on_any_registry_holds_the_tag_everywhere() -> None:
    memory = MemoryRegistries()
    mine = _released(memory, "1.0.0")
    higher = memory.push_index(HUB, ("s390x",))
    memory.tag_as(HUB, "1.1.0", higher)  # only the second registry has it (yet)
    with Registries(memory.connect) as registries:
        held = _writer(memory, registries, mine, "1.0.0").hold("slim", ["latest"])
    assert held == {"latest": "1.1.0, a higher release than 1.0.0, is published: it takes latest"}


def test_a_lower_release_that_wrote_latest_first_hands_it_to_the_higher_one() -> None:
    memory = MemoryRegistries()
    mine = _released(memory, "1.0.0")
    for image in (GHCR, HUB):
        memory.tag_as(image, "latest", mine)  # written by this run...
    higher = memory.push_index(GHCR, ("s390x",))
    with Registries(memory.connect) as registries:
        copy_where_missing(registries, GHCR.with_digest(higher), [HUB])
    for image in (GHCR, HUB):
        memory.tag_as(image, "1.1.0", higher)  # ...as a higher release wrote its version tags
    results = [TagResult("slim", image, "latest", "done", None, 1) for image in (GHCR, HUB)]
    with Registries(memory.connect) as registries:
        settled = _writer(memory, registries, mine, "1.0.0").settle(
            results, {"slim": frozenset({"latest"})}
        )
    assert [(r.status, r.reason) for r in settled] == [
        ("kept", "1.1.0, a higher release published at the same moment, took it")
    ] * 2
    assert memory.tag(GHCR, "latest") == memory.tag(HUB, "latest") == higher


def test_the_higher_release_writes_latest_again_when_a_lower_one_wrote_it_after() -> None:
    memory = MemoryRegistries()
    lower = _released(memory, "1.0.0")
    mine = _released(memory, "1.1.0")
    for image in (GHCR, HUB):
        memory.tag_as(image, "latest", lower)  # the lower release's write landed last
    results = [TagResult("slim", image, "latest", "done", None, 1) for image in (GHCR, HUB)]
    with Registries(memory.connect) as registries:
        settled = _writer(memory, registries, mine, "1.1.0").settle(
            results, {"slim": frozenset({"latest"})}
        )
    assert [r.status for r in settled] == ["done", "done"]
    assert memory.tag(GHCR, "latest") == memory.tag(HUB, "latest") == mine


def test_merge_s_index_goes_by_digest_to_every_registry_and_no_tag_is_written() -> None:
    memory = MemoryRegistries()
    data = b'{"schemaVersion":2,"mediaType":"' + INDEX.encode() + b'","manifests":[]}'
    with Registries(memory.connect) as registries:
        digest = put_by_digest(registries, [GHCR, HUB], data, INDEX)
    for image in (GHCR, HUB):
        assert memory.manifests[(image.registry, image.repository, digest)] == (data, INDEX)
    assert [c for c in memory.calls if c.startswith("PUT")] == [
        f"PUT ghcr.io/acme/widget/manifests/{digest}?",
        f"PUT hub.example/acme/widget/manifests/{digest}?",
    ]


def _release_plan(rules: str, version: str) -> BuildPlan:
    """A tag build of `version` under metadata-action's `rules`, on GHCR and HUB."""
    text = f'images = ["{GHCR}", "{HUB}"]\n[tags]\nrules = [{rules}]\n'
    config = parse_config(tomllib.loads(text), {}, path=Path("/r/buildcache.toml"), root=Path("/r"))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    env |= {"GITHUB_REF_NAME": version, "GITHUB_REF": f"refs/tags/{version}"}
    return plan_run(config, env=env, git=GitFacts(sha="b" * 40), push=True)


ISSUE_ORDER = (
    '"type=semver,pattern={{major}}", "type=semver,pattern={{major}}.{{minor}}", '
    '"type=semver,pattern={{major}}.{{minor}}.{{patch}}"'
)


def test_a_plan_shows_what_the_build_keeps_on_a_higher_release_in_its_words() -> None:
    memory = MemoryRegistries()
    digest = _released(memory, "1.3.0")
    for image in (GHCR, HUB):
        memory.tag_as(image, "latest", digest)
    holds, notes = planned_holds(_release_plan(ISSUE_ORDER, "v1.2.4"), memory.connect)
    assert holds == {
        "default": {
            "latest": "it stays on 1.3.0, a higher release than 1.2.4",
            "1": "1.3.0, a higher release than 1.2.4, is published: it takes 1",
        }
    }
    assert notes == []


def test_a_release_written_in_any_order_holds_nothing_of_its_own_series() -> None:
    # the build writes 1.2.3 first, then decides 1.2, 1 and latest: none is held by 1.2.3
    # itself (a plan of the release taken as `1` held 1.2 and latest on it)
    memory = MemoryRegistries()
    _released(memory, "1.2.3")
    plan = _release_plan(ISSUE_ORDER, "v1.2.3")
    assert planned_holds(plan, memory.connect) == ({"default": {}}, [])


def test_a_registry_that_cannot_be_read_is_a_note_of_the_plan() -> None:
    memory = MemoryRegistries()
    memory.faults["GET ghcr.io/acme/widget/tags/list"] = [401] * 8
    holds, notes = planned_holds(_release_plan(ISSUE_ORDER, "v1.2.3"), memory.connect)
    assert holds == {}
    assert notes[0].startswith("default: cannot tell yet whether a higher release holds 1, 1.2,")


def test_a_plan_says_what_the_build_says_of_a_release_published_before() -> None:
    memory = MemoryRegistries()
    digest = memory.push_index(GHCR)
    memory.tag_as(GHCR, "1.2.3", digest)  # an earlier run wrote it on the first registry only
    plan = _release_plan('"type=semver,pattern={{version}}"', "v1.2.3")
    assert planned_published(plan, memory.connect) == [
        f"default 1.2.3 is published already ({digest[:19]}) on ghcr.io: publishing it on "
        "hub.example, not building it again (--force rebuilds and replaces it everywhere)"
    ]
    assert planned_published(_release_plan('"type=semver,pattern={{version}}"', "v1.2.4"),
                             memory.connect) == []  # fmt: skip
