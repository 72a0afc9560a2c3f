"""commands/publish.py on registries in memory: every tag of every variant on every registry,
the same digest everywhere, and a resumed release copied to the registry that lacks it."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from buildcache.commands.publish import publish_tags
from buildcache.core.publish.writes import RetryPolicy, VariantTags
from buildcache.core.reference import ImageRef
from tests.unit.registry.memory import MemoryRegistries

ONE, TWO = ImageRef("one.example", "acme/widget"), ImageRef("two.example", "acme/widget")


def _variant(name: str, default: bool, tags: list[str]) -> VariantTags:
    """The variant's tags on both registries; the last one follows the releases (as the plan
    says of latest, or of a variant's alias)."""
    refs = tuple(i.with_tag(t) for t in tags for i in (ONE, TWO))
    return VariantTags(name, default, refs, floating=frozenset(tags[-1:]))


def _publish(memory: MemoryRegistries, digests: dict[str, str], copy: tuple[str, ...] = ()):
    variants = [
        _variant("slim", True, ["1.0.0", "latest"]),
        _variant("full", False, ["1.0.0-full", "full"]),
    ]
    console = Console(file=io.StringIO(), markup=False)
    return publish_tags(
        variants,
        {name: ONE.with_digest(digest) for name, digest in digests.items()},
        version="1.0.0",
        console=console,
        policy=RetryPolicy(attempts=2, backoff=0),
        copy=copy,
        connect=memory.connect,
    )


def test_every_tag_of_every_variant_is_on_every_registry_with_one_digest() -> None:
    memory = MemoryRegistries()
    digests = {}
    for name, platform in (("slim", "amd64"), ("full", "arm64")):
        digests[name] = memory.push_index(ONE, (platform,))
        memory.push_index(TWO, (platform,))  # the bake pushed it to both, by digest
    results = _publish(memory, digests)
    assert {r.status for r in results} == {"done"}
    for image in (ONE, TWO):
        assert memory.tag(image, "latest") == memory.tag(image, "1.0.0") == digests["slim"]
        assert memory.tag(image, "full") == memory.tag(image, "1.0.0-full") == digests["full"]
    # the version tags were written on both registries before any moving tag
    puts = [c.split("/manifests/")[1].split("?")[0] for c in memory.calls if c.startswith("PUT")]
    assert max(puts.index(t) for t in ("1.0.0", "1.0.0-full")) < min(
        puts.index(t) for t in ("latest", "full")
    )


def test_a_resumed_release_is_copied_where_it_is_missing_then_tagged() -> None:
    memory = MemoryRegistries()
    digests = {name: memory.push_index(ONE, (name,)) for name in ("slim", "full")}
    results = _publish(memory, digests, copy=("slim", "full"))
    assert {r.status for r in results} == {"done"}
    assert memory.tag(TWO, "latest") == digests["slim"]
    assert (
        memory.blobs[("two.example", "acme/widget")] == memory.blobs[("one.example", "acme/widget")]
    )


def test_a_variant_whose_index_cannot_be_read_fails_its_tags_and_writes_none() -> None:
    memory = MemoryRegistries()
    digests = {"slim": memory.push_index(ONE, ("amd64",)), "full": "sha256:" + "0" * 64}
    memory.push_index(TWO, ("amd64",))
    results = _publish(memory, digests)
    full = [r for r in results if r.variant == "full"]
    assert {r.status for r in full} == {"failed"}
    assert memory.tag(ONE, "full") is None
    assert memory.tag(TWO, "1.0.0-full") is None
    assert {r.status for r in results if r.variant == "slim"} == {"done"}


def test_a_variant_without_a_digest_fails_its_tags_rather_than_leave_a_gap() -> None:
    memory = MemoryRegistries()
    digests = {"slim": memory.push_index(ONE, ("amd64",))}
    memory.push_index(TWO, ("amd64",))
    results = _publish(memory, digests)
    full = [r for r in results if r.variant == "full"]
    assert len(full) == 4
    assert {(r.status, r.reason) for r in full} == {("failed", "buildx reported no digest for it")}


def test_a_staged_variant_another_build_overtook_on_one_registry_is_copied_there() -> None:
    """The docker driver pushes by a local tag: a second build on the engine can move it between
    the export and the push, so one registry receives that build's image instead of this one."""
    memory = MemoryRegistries()
    digests = {name: memory.push_index(TWO, (name,)) for name in ("slim", "full")}
    for name in ("slim", "full"):
        memory.push_index(ONE, (f"{name}-of-another-build",))
    results = _publish(memory, digests, copy=("slim", "full"))
    assert {r.status for r in results} == {"done"}
    for image in (ONE, TWO):
        assert memory.tag(image, "latest") == memory.tag(image, "1.0.0") == digests["slim"]
        assert memory.tag(image, "full") == digests["full"]


def test_a_staged_variant_no_registry_holds_fails_its_tags_and_says_so() -> None:
    memory = MemoryRegistries()
    digests = {"slim": memory.push_index(ONE, ("amd64",)), "full": "sha256:" + "1" * 64}
    memory.push_index(TWO, ("amd64",))
    results = _publish(memory, digests, copy=("slim", "full"))
    full = [r for r in results if r.variant == "full"]
    assert {r.status for r in full} == {"failed"}
    assert all("no registry holds sha256:1111" in str(r.reason) for r in full)
    assert memory.tag(TWO, "full") is None
    assert {r.status for r in results if r.variant == "slim"} == {"done"}


# A release's plan, published and run again: `build --push` asks published_before, then publish


def _release_plan(version: str):
    from tests.unit.plans import rules_config, tag_build

    return tag_build(rules_config(f"{ONE}", f"{TWO}"), version)


def _own(plan, name: str) -> dict[str, str]:
    """The labels a variant's image of this plan carries (as the bake writes them)."""
    variant = next(v for v in plan.variants if v.name == name)
    return {key: described.value for key, described in variant.labels.items()}


def test_a_release_published_before_is_found_and_completed_not_replaced() -> None:
    from buildcache.commands.publish import publish, published_before

    memory = MemoryRegistries()
    policy = RetryPolicy(attempts=1, backoff=0)
    plan = _release_plan("v1.2.0")
    console = Console(file=io.StringIO(), markup=False)
    assert published_before(plan, console, policy, memory.connect) == {}
    built = {
        "slim": memory.push_index(ONE, labels=_own(plan, "slim")),
        "full": memory.push_index(ONE, ("arm64",), _own(plan, "full")),
    }
    results = publish(plan, built, console=console, policy=policy, connect=memory.connect)
    assert {r.status for r in results} == {"done"}
    for image in (ONE, TWO):
        assert memory.tag(image, "1.2.0") == built["slim"]
        assert memory.tag(image, "1.2-full") == built["full"]
    # run again: each variant is found by its own release tag on the first registry
    stream = io.StringIO()
    again = published_before(plan, Console(file=stream, markup=False), policy, memory.connect)
    assert again == built
    assert "slim 1.2.0 is published already" in stream.getvalue()


def test_a_release_written_on_the_second_registry_only_is_found_and_completed_there_first() -> None:
    """A run whose release tag was refused on the first registry but written on the second
    (fault seed 118): run again, it is published already, from the second registry's image,
    and copied to the first; never built again and replaced on the second."""
    from buildcache.commands.publish import publish, published_before

    memory = MemoryRegistries()
    policy = RetryPolicy(attempts=1, backoff=0)
    plan = _release_plan("v1.2.0")
    slim = memory.push_index(TWO, labels=_own(plan, "slim"))
    memory.tag_as(TWO, "1.2.0", slim)  # the first registry refused its PUT
    stream = io.StringIO()
    found = published_before(plan, Console(file=stream, markup=False), policy, memory.connect)
    assert found == {"slim": slim}
    said = " ".join(stream.getvalue().split())
    assert (
        f"slim 1.2.0 is published already ({slim[:19]}) on two.example: publishing it on one.example"
        in said
    )
    full = memory.push_index(ONE, ("arm64",), _own(plan, "full"))
    digests = {**found, "full": full}
    console = Console(file=io.StringIO(), markup=False)
    publish(plan, digests, console=console, policy=policy, resumed=found, connect=memory.connect)
    assert memory.tag(ONE, "1.2.0") == memory.tag(TWO, "1.2.0") == slim


def test_a_release_two_registries_hold_as_two_images_says_which_goes_back() -> None:
    """A --force that stopped half-way: the plain re-run says what it puts back."""
    from buildcache.commands.publish import published_before

    memory = MemoryRegistries()
    plan = _release_plan("v1.2.0")
    labels = _own(plan, "slim")
    old, new = memory.push_index(ONE, labels=labels), memory.push_index(TWO, ("arm64",), labels)
    memory.tag_as(ONE, "1.2.0", old)
    memory.tag_as(TWO, "1.2.0", new)
    stream = io.StringIO()
    policy = RetryPolicy(attempts=1, backoff=0)
    found = published_before(plan, Console(file=stream, markup=False), policy, memory.connect)
    assert found == {"slim": old}
    said = " ".join(stream.getvalue().split())
    assert "is published already, but not as one image" in said
    assert f"{old[:19]}, the first registry's, goes back under every tag" in said


def test_an_image_another_run_built_is_never_tagged() -> None:
    """Two runs on one engine: the index a run is about to tag says (each platform's config)
    another version built it. The run stops before its first tag, on every registry."""
    from buildcache.commands.publish import publish
    from buildcache.errors import BuildFailed

    memory = MemoryRegistries()
    policy = RetryPolicy(attempts=1, backoff=0)
    plan = _release_plan("v1.2.0")
    other = {**_own(plan, "full"), "org.opencontainers.image.version": "1.2.1"}
    built = {
        "slim": memory.push_index(ONE, labels=_own(plan, "slim")),
        "full": memory.push_index(ONE, ("arm64",), other),
    }
    console = Console(file=io.StringIO(), markup=False)
    with pytest.raises(BuildFailed) as refused:
        publish(plan, built, console=console, policy=policy, connect=memory.connect)
    assert refused.value.message.startswith("full's image one.example/acme/widget@sha256:")
    assert "its image (linux/arm64) says version 1.2.1, not 1.2.0; no tag was written" in (
        refused.value.message
    )
    for image in (ONE, TWO):
        for tag in ("1.2.0", "1.2.0-full", "latest", "full"):
            assert memory.tag(image, tag) is None


@pytest.mark.parametrize(
    ("label", "value", "words"),
    [
        ("org.opencontainers.image.version", "1.2.1", "says version 1.2.1, not 1.2.0"),
        ("org.opencontainers.image.revision", "b" * 40, f"says revision {'b' * 40}, not"),
    ],
)
def test_a_release_tag_holding_another_build_s_image_is_a_conflict_never_published(
    label: str, value: str, words: str
) -> None:
    """The release tag holds an image another version (or another commit) built: a re-run
    neither calls it published nor builds over it; it stops, naming the conflict, --force."""
    from buildcache.commands.publish import published_before
    from buildcache.errors import BuildFailed

    memory = MemoryRegistries()
    plan = _release_plan("v1.2.0")
    own = _own(plan, "slim")
    assert "org.opencontainers.image.revision" in own
    other = memory.push_index(TWO, labels={**own, label: value})
    memory.tag_as(ONE, "1.2.0", memory.push_index(ONE, labels={**own, label: value}))
    memory.tag_as(TWO, "1.2.0", other)
    policy = RetryPolicy(attempts=1, backoff=0)
    with pytest.raises(BuildFailed) as conflict:
        published_before(plan, Console(file=io.StringIO()), policy, memory.connect)
    said = conflict.value.message
    assert said.startswith("one.example/acme/widget:1.2.0 is published already, but not from")
    assert words in said
    assert "--force" in (conflict.value.hint or "")
