from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from buildcache.core.bake import bake_command, bake_definition
from buildcache.core.config.load import parse_config
from buildcache.core.config.model import Config
from buildcache.core.plan.ci import GitFacts
from buildcache.errors import ConfigError, UsageError
from tests.unit.plans import make_plan, plan_run

CONFIG = """\
images = ["ghcr.io/acme/widget", "acme/widget"]
platforms = ["linux/amd64", "linux/arm64"]
build-args = { PYTHON_VERSION = "3.12", VARIANT = "none" }

[cache]
options = { image-manifest = "true" }

[variants.slim]
default = true
build-args = { VARIANT = "slim" }

[variants.full]
build-args = { VARIANT = "full" }
target = "full"
dockerfile = "Dockerfile.full"
"""


def _config(text: str = CONFIG) -> Config:
    return parse_config(tomllib.loads(text), {}, path=Path("/r/buildcache.toml"), root=Path("/r"))


def _tags(plan, variant: str) -> list[str]:
    return [str(t) for t in next(v for v in plan.variants if v.name == variant).tags]


def test_default_variant_gets_version_and_latest_others_get_suffixes() -> None:
    plan = make_plan(_config(), version="1.2.3")
    assert _tags(plan, "slim") == [
        "ghcr.io/acme/widget:1.2.3",
        "docker.io/acme/widget:1.2.3",
        "ghcr.io/acme/widget:latest",
        "docker.io/acme/widget:latest",
    ]
    assert _tags(plan, "full") == [
        "ghcr.io/acme/widget:1.2.3-full",
        "docker.io/acme/widget:1.2.3-full",
        "ghcr.io/acme/widget:full",
        "docker.io/acme/widget:full",
    ]


def test_no_latest_stays_out_of_the_release_namespace_and_extra_tags_follow_the_suffix_rule() -> (
    None
):
    plan = make_plan(_config(), version="test", latest=False, extra_tags=["edge"])
    assert [t.split(":")[-1] for t in _tags(plan, "slim")] == ["test", "test", "edge", "edge"]
    assert [t.split(":")[-1] for t in _tags(plan, "full")] == [
        "test-full",
        "test-full",
        "edge-full",
        "edge-full",
    ]


def test_variant_settings_merge_over_the_shared_ones() -> None:
    plan = make_plan(_config(), version="1")
    slim, full = plan.variants
    assert slim.build_args == {"PYTHON_VERSION": "3.12", "VARIANT": "slim"}
    assert full.build_args == {"PYTHON_VERSION": "3.12", "VARIANT": "full"}
    assert (slim.target, full.target) == (None, "full")
    assert (slim.dockerfile, full.dockerfile) == (Path("/r/Dockerfile"), Path("/r/Dockerfile.full"))


def test_cache_refs_are_stable_per_variant_and_written_only_when_pushing() -> None:
    for version in ("1.0.0", "2.0.0"):
        plan = make_plan(_config(), version=version)
        assert [v["cache_from"] for v in plan.to_json()["variants"]] == [
            ["type=registry,ref=ghcr.io/acme/widget:buildcache-slim"],
            ["type=registry,ref=ghcr.io/acme/widget:buildcache-full"],
        ]
        assert all(v.cache_to is None for v in plan.variants)
    pushed = make_plan(_config(), version="1", push=True)
    assert pushed.to_json()["variants"][0]["cache_to"] == [
        "type=registry,ref=ghcr.io/acme/widget:buildcache-slim,mode=max,image-manifest=true,ignore-error=true",
    ]
    assert (
        make_plan(_config(), version="1", push=True, cache_write=False).variants[0].cache_to is None
    )
    assert make_plan(_config(), version="1", cache_write=True).variants[0].cache_to is not None


def test_selection_and_platform_narrowing() -> None:
    plan = make_plan(_config(), version="1", selected=["full"], platforms=["linux/arm64"])
    assert [(v.name, v.platforms) for v in plan.variants] == [("full", ("linux/arm64",))]
    with pytest.raises(UsageError, match="unknown variant 'fat'; the config has slim, full"):
        make_plan(_config(), version="1", selected=["fat"])
    with pytest.raises(UsageError, match="not one of the configured platforms"):
        make_plan(_config(), version="1", platforms=["linux/s390x"])


def test_a_variant_not_built_for_the_asked_platform_is_left_out_with_a_note() -> None:
    config = _config(CONFIG + 'platforms = ["linux/amd64"]\n')  # full: amd64 only
    plan = make_plan(config, version="1", platforms=["linux/arm64"])
    assert [v.name for v in plan.variants] == ["slim"]
    assert plan.notes == ("variant full is left out: it is not built for linux/arm64",)


@pytest.mark.parametrize("bad", ["feature/x", ".hidden", "-x", "a" * 129, "sp ace"])
def test_a_version_that_is_not_a_docker_tag_is_refused(bad: str) -> None:
    with pytest.raises(UsageError, match="not a valid Docker tag"):
        make_plan(_config(), version=bad)


def test_load_takes_one_platform_and_not_push() -> None:
    with pytest.raises(UsageError, match="--load loads one platform"):
        make_plan(_config(), version="1", load=True)
    with pytest.raises(UsageError, match="cannot be combined"):
        make_plan(_config(), version="1", load=True, push=True, platforms=["linux/amd64"])
    assert make_plan(_config(), version="1", load=True, platforms=["linux/amd64"]).load


def test_load_without_a_platform_builds_the_hosts() -> None:
    plan = make_plan(_config(), version="1", load=True, host_platform="linux/arm64")
    assert {v.platforms for v in plan.variants} == {("linux/arm64",)}
    # a host the variants are not built for: --platform must say which
    with pytest.raises(UsageError, match="--load loads one platform"):
        make_plan(_config(), version="1", load=True, host_platform="linux/s390x")


def _run(env: dict[str, str], version: str | None = None, **git: str | None) -> tuple[str, str]:
    plan = plan_run(_config(), env=env, git=GitFacts(**git), version=version)
    return plan.version, plan.version_source


def test_version_comes_from_flag_env_then_the_ci_tag_and_never_from_a_git_tag_at_head() -> None:
    assert _run({"BUILDCACHE_VERSION": "2"}, version="1") == ("1", "--version")
    assert _run({"BUILDCACHE_VERSION": "2"})[0] == "2"
    github = {"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v4"}
    assert _run(github)[0] == "v4"
    assert _run({"GITLAB_CI": "true", "CI_COMMIT_TAG": "v5"})[0] == "v5"
    # a branch run (here a manual one) is tagged by its branch, not by a git tag at HEAD
    branch = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_REF_NAME": "main",
    }
    assert _run(branch) == ("main", "the branch main")
    with pytest.raises(UsageError, match="no version") as caught:
        _run({})  # a laptop on a detached HEAD: nothing to name the images after
    assert "--version" in (caught.value.hint or "")


def test_plan_json_has_the_documented_shape() -> None:
    data = json.loads(json.dumps(make_plan(_config(), version="1.0").to_json()))
    assert set(data) == {"version", "version_source", "variants", "latest", "notes"}
    assert set(data["variants"][0]) == {
        "name",
        "default",
        "tags",
        "images",
        "tag_rules",
        "floating",
        "release_tags",
        "held",
        "platforms",
        "build_args",
        "target",
        "dockerfile",
        "context",
        "cache_from",
        "cache_to",
        "labels",
        "annotations",
        "secrets",
        "ssh",
        "contexts",
        "attest",
        "no_cache",
        "pull",
    }


def test_the_bake_file_has_one_target_per_variant_in_one_group() -> None:
    plan = make_plan(_config(), version="1", push=True)
    bake = bake_definition(plan)
    assert bake["group"] == {"default": {"targets": ["slim", "full"]}}
    full = bake["target"]["full"]
    assert full == {
        "context": "/r",
        "dockerfile": "/r/Dockerfile.full",
        "platforms": ["linux/amd64", "linux/arm64"],
        "args": {"PYTHON_VERSION": "3.12", "VARIANT": "full"},
        "tags": [],  # the tags are written after the push, through the registry API
        "cache-from": ["type=registry,ref=ghcr.io/acme/widget:buildcache-full"],
        "cache-to": [
            "type=registry,ref=ghcr.io/acme/widget:buildcache-full,mode=max,image-manifest=true,ignore-error=true"
        ],
        # every registry by digest, in the one bake
        "output": [
            'type=image,"name=ghcr.io/acme/widget,docker.io/acme/widget",push=true,'
            "push-by-digest=true,name-canonical=true"
        ],
        "target": "full",
    }
    assert "target" not in bake["target"]["slim"]


def test_without_push_or_load_nothing_is_exported_or_tagged() -> None:
    bake = bake_definition(make_plan(_config(), version="1"))
    assert bake["target"]["slim"]["output"] == ["type=cacheonly"]
    assert bake["target"]["slim"]["tags"] == []
    loaded = bake_definition(
        make_plan(_config(), version="1", load=True, platforms=["linux/arm64"])
    )
    assert loaded["target"]["slim"]["output"] == ["type=docker"]


def test_the_bake_command() -> None:
    assert bake_command(Path("b.json"), Path("m.json"), "rawjson") == [
        "docker",
        "buildx",
        "bake",
        "--file",
        "b.json",
        "--progress",
        "rawjson",
        "--metadata-file",
        "m.json",
        "default",
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (CONFIG + "[variants.latest]\n", "'latest' is the default variant's moving tag"),
        (CONFIG + "[variants.v2]\n", "reads as a version"),
        (CONFIG + '[variants."slim\\n"]\n', "not a valid variant name"),
        ('images = ["a/b"]\nbuild-args = { "FOO\\n" = "x" }\n', "not a valid build argument name"),
    ],
)
def test_names_that_would_collide_or_break_are_refused(text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        _config(text)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"version": "latest"}, "is a moving tag"),
        ({"version": "1", "extra_tags": ["latest"], "latest": False}, "is a moving tag"),
        ({"version": "1", "extra_tags": ["full"]}, "is a moving tag"),
    ],
)
def test_a_tag_two_variants_would_write_is_refused(options: dict, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        make_plan(_config(), **options)


def test_a_build_arg_named_like_a_secret_is_a_note() -> None:
    text = CONFIG.replace('VARIANT = "none" }', 'VARIANT = "none", NPM_TOKEN = "x" }')
    plan = make_plan(_config(text), version="1")
    assert any("NPM_TOKEN looks like a secret" in note for note in plan.notes)


def test_a_reproducible_build_hands_buildkit_the_commit_time_and_labels_it_created() -> None:
    reproducible = _config(CONFIG + "\n[build]\nreproducible = true\n")
    plan = plan_run(reproducible, env={}, git=GitFacts(commit_time=1700000000), version="1")
    for variant in plan.variants:
        assert variant.build_args["SOURCE_DATE_EPOCH"] == "1700000000"
        created = variant.labels["org.opencontainers.image.created"]
        assert (created.value, created.origin) == ("2023-11-14T22:13:20Z", "SOURCE_DATE_EPOCH")
    # the environment's SOURCE_DATE_EPOCH wins over the commit's time
    given = plan_run(
        reproducible, env={"SOURCE_DATE_EPOCH": "86400"}, git=GitFacts(commit_time=1), version="1"
    )
    assert given.variants[0].build_args["SOURCE_DATE_EPOCH"] == "86400"
    # not asked for, or no commit to take it from: BuildKit's own times, nothing added
    plain = plan_run(_config(), env={}, git=GitFacts(commit_time=1700000000), version="1")
    assert "SOURCE_DATE_EPOCH" not in plain.variants[0].build_args
    outside_git = plan_run(reproducible, env={}, git=GitFacts(), version="1")
    assert "SOURCE_DATE_EPOCH" not in outside_git.variants[0].build_args


# Where the checkout changes the plan: a note


SHALLOW = "shallow clone: latest decided without the repository's tags; fetch tags (fetch-depth: 0)"
DIRTY = "the working tree has uncommitted changes: the revision label names HEAD, not what is built"


def _checkout_plan(*, shallow: bool, dirty: bool = False, **request: object) -> list[str]:
    """The notes of SHALLOW and DIRTY in a plan of this checkout (the repository tagged 1.0.0)."""
    plan = plan_run(
        _config(),
        git=GitFacts(branch="main", default_branch="main", sha="b" * 40, dirty=dirty),
        known_versions=lambda: ("1.0.0",),
        shallow=lambda: shallow,
        **request,
    )
    return [n for n in plan.notes if n in (SHALLOW, DIRTY)]


def test_a_shallow_clone_is_a_note_where_latest_is_decided_by_the_repositorys_tags() -> None:
    assert _checkout_plan(shallow=True, version="2.0.0") == [SHALLOW]
    assert _checkout_plan(shallow=False, version="2.0.0") == []


@pytest.mark.parametrize(
    "request_",
    [{}, {"version": "2.0.0", "no_latest": True}, {"version": "2.0.0-rc.1"}],
    ids=["not a release", "--no-latest", "a pre-release"],
)
def test_a_shallow_clone_is_no_note_where_no_tag_decides_latest(
    request_: dict[str, object],
) -> None:
    assert _checkout_plan(shallow=True, **request_) == []


def test_a_dirty_tree_is_a_note_where_the_revision_label_is_written() -> None:
    assert _checkout_plan(shallow=False, dirty=True) == [DIRTY]
    assert _checkout_plan(shallow=False, dirty=False) == []


@pytest.mark.parametrize("suffix", ["full", "full-cuda-12-4-ubuntu-2404"])
def test_a_long_branch_is_cut_to_fit_every_variant_s_tag(suffix: str) -> None:
    """150 characters of branch: each variant's tag (`<branch>-<variant>`, the tags' prefix
    and suffix around it) is at most 128 characters, a suffixed variant's as the default's."""
    text = CONFIG.replace("[variants.full]", f"[variants.{suffix}]") + '[tags]\nsuffix = "-x"\n'
    git = GitFacts(branch="feature-" * 18 + "abcdef", default_branch="main", sha="b" * 40)
    plan = plan_run(_config(text), git=git)
    tags = [t.tag or "" for v in plan.variants for t in v.tags]
    assert tags
    assert all(len(tag) <= 128 for tag in tags)
    # one slug for every variant: <slug>-x, <slug>-x-<variant>
    assert {tag.removesuffix(f"-{suffix}").removesuffix("-x") for tag in tags} == {
        tags[0].removesuffix("-x")
    }


# A variant's own images and tags (issue 36)

OWN = """\
images = ["ghcr.io/acme/widget"]
[tags]
rules = ["type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}"]

[variants.alpine]
dockerfile = "Dockerfile.alpine"
[variants.alpine.tags]
flavor = ["suffix=-alpine,onlatest=true"]

[variants.debian]
[variants.debian.tags]
flavor = ["latest=auto"]

[variants.ee]
images = ["ghcr.io/acme/widget-ee", "quay.io/acme/widget-ee"]
context = "ee"
platforms = ["linux/arm/7"]
build-args = { EDITION = "ee" }
target = "ee"
"""


def _by_name(plan) -> dict:
    return {v.name: v for v in plan.variants}


def test_the_variant_the_rules_give_no_suffix_is_bare_not_the_first_listed() -> None:
    """alpine is listed first; its flavor's suffix keeps it off the bare tags, which debian's
    rules (no suffix) make."""
    config = _config(OWN)
    assert [v.name for v in config.variants if v.default] == ["debian", "ee"]
    plan = plan_run(config, version="1.2.3")
    assert [t.split(":")[-1] for t in _tags(plan, "alpine")] == [
        "1.2.3-alpine",
        "1.2-alpine",
        "latest-alpine",
    ]
    assert [t.split(":")[-1] for t in _tags(plan, "debian")] == ["1.2.3", "1.2", "latest"]


def test_a_variant_with_its_own_images_is_pushed_there_with_its_own_inputs() -> None:
    plan = plan_run(_config(OWN), version="1.2.3")
    ee = _by_name(plan)["ee"]
    assert _tags(plan, "ee") == [
        "ghcr.io/acme/widget-ee:1.2.3",
        "quay.io/acme/widget-ee:1.2.3",
        "ghcr.io/acme/widget-ee:1.2",
        "quay.io/acme/widget-ee:1.2",
        "ghcr.io/acme/widget-ee:latest",
        "quay.io/acme/widget-ee:latest",
    ]
    assert [str(i) for i in ee.images] == ["ghcr.io/acme/widget-ee", "quay.io/acme/widget-ee"]
    assert (ee.context, ee.target, ee.platforms) == (Path("/r/ee"), "ee", ("linux/arm/v7",))
    assert ee.build_args["EDITION"] == "ee"
    # its cache lives in the first of its own images; the others' in the config's
    assert str(ee.cache_ref) == "ghcr.io/acme/widget-ee:buildcache-ee"
    assert str(_by_name(plan)["alpine"].cache_ref) == "ghcr.io/acme/widget:buildcache-alpine"
    assert _config(OWN).registries == ["ghcr.io", "quay.io"]


def test_the_bake_file_pushes_each_variant_to_its_own_images() -> None:
    plan = plan_run(_config(OWN), version="1.2.3", push=True)
    targets = bake_definition(plan)["target"]
    assert "name=ghcr.io/acme/widget-ee,quay.io/acme/widget-ee" in targets["ee"]["output"][0]
    assert "name=ghcr.io/acme/widget," in targets["alpine"]["output"][0]
    assert targets["ee"]["cache-to"][0].startswith("type=registry,ref=ghcr.io/acme/widget-ee:")


def test_two_variants_that_would_write_the_same_tag_in_one_image_are_refused() -> None:
    """debian and alpine both bare (alpine's flavor has no suffix): one sentence, exit 2."""
    text = OWN.replace('flavor = ["suffix=-alpine,onlatest=true"]', 'flavor = ["latest=auto"]')
    with pytest.raises(UsageError) as caught:
        plan_run(_config(text), version="1.2.3")
    assert caught.value.message == (
        "the variants alpine and debian would both write ghcr.io/acme/widget:1.2.3: whichever "
        "ran last would win"
    )
    assert caught.value.exit_code == 2


def test_a_suffix_not_on_latest_leaves_two_variants_writing_latest() -> None:
    """metadata-action's flavor: a suffix is not on latest unless onlatest=true."""
    text = OWN.replace("suffix=-alpine,onlatest=true", "suffix=-alpine")
    with pytest.raises(UsageError, match=r"would both write ghcr\.io/acme/widget:latest"):
        plan_run(_config(text), version="1.2.3")


def test_default_true_is_still_the_shorthand_for_the_bare_variant() -> None:
    text = 'images = ["ghcr.io/acme/w"]\n[variants.alpine]\n[variants.debian]\ndefault = true\n'
    plan = plan_run(_config(text), version="1.2.3")
    assert [t.split(":")[-1] for t in _tags(plan, "debian")] == ["1.2.3", "latest"]
    assert [t.split(":")[-1] for t in _tags(plan, "alpine")] == ["1.2.3-alpine", "alpine"]


def test_variants_in_images_of_their_own_are_each_bare() -> None:
    """One image per package of a monorepo: neither is suffixed, in its own image."""
    text = (
        'images = ["ghcr.io/acme/api"]\n[variants.api]\n'
        '[variants.worker]\nimages = ["ghcr.io/acme/worker"]\ncontext = "worker"\n'
    )
    plan = plan_run(_config(text), version="1.2.3")
    assert _tags(plan, "api") == ["ghcr.io/acme/api:1.2.3", "ghcr.io/acme/api:latest"]
    assert _tags(plan, "worker") == ["ghcr.io/acme/worker:1.2.3", "ghcr.io/acme/worker:latest"]


DEV_BRANCH = {"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "dev"}


def test_a_variant_s_own_rules_may_not_write_a_release_tag_outside_a_release() -> None:
    text = OWN.replace('flavor = ["latest=auto"]', 'rules = ["type=raw,value=2.0"]')
    text = text.replace(
        '["type=semver,pattern={{version}}", "type=semver', '["type=ref,event=branch", "type=semver'
    )
    with pytest.raises(UsageError, match=r"'2\.0' .* reads as a release"):
        plan_run(_config(text), env=DEV_BRANCH)
