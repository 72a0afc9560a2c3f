from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from buildcache.commands import cache
from buildcache.core.bases import RECORD_TYPE
from buildcache.core.cache import RECORD_SUFFIX
from buildcache.core.config.load import parse_config
from buildcache.errors import UsageError
from buildcache.registry.client import RegistryClient

CONFIG = """\
images = ["ghcr.io/acme/widget"]
[cache]
image = "ghcr.io/acme/widget-cache"
[variants.slim]
[variants.full]
"""


MINE = "ghcr.io/acme/widget"


class Registry:
    """A registry's HTTP API in memory: tags -> manifest digests; deletes recorded. A tag
    `<cache tag>.record` is the record beside that cache, written by the project `owners` names
    (this one where not named)."""

    def __init__(self, tags: dict[str, str], owners: dict[str, str | None] | None = None) -> None:
        self.tags = dict(tags)
        self.owners = owners or {}
        self.deleted: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/tags/list"):
            return httpx.Response(200, json={"tags": sorted(self.tags)})
        reference = path.rsplit("/", 1)[1]
        if request.method == "DELETE":
            self.deleted.append(reference)
            self.tags = {t: d for t, d in self.tags.items() if d != reference}
            return httpx.Response(202)
        if "/blobs/" in path:
            return httpx.Response(200, json=self._record(reference.removeprefix("sha256:r-")))
        digest = self.tags.get(reference)
        if digest is None:
            return httpx.Response(404)
        if reference.endswith(RECORD_SUFFIX):
            body = {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": RECORD_TYPE,
                "layers": [{"digest": f"sha256:r-{reference.removesuffix(RECORD_SUFFIX)}"}],
            }
            return httpx.Response(200, json=body, headers={"Docker-Content-Digest": digest})
        # a digest that starts with sha256:i is an image's index; any other a BuildKit cache
        listed = (
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "platform": {"os": "linux"}}
            if digest.startswith("sha256:i")
            else {"mediaType": "application/vnd.buildkit.cacheconfig.v0"}
        )
        body = {"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [listed]}
        return httpx.Response(200, json=body, headers={"Docker-Content-Digest": digest})

    def _record(self, cache_tag: str) -> dict[str, object]:
        return {
            "record": 1,
            "variant": cache_tag.removeprefix("buildcache-"),
            "written": "2026-11-30T00:00:00+00:00",
            "cache_digest": self.tags[cache_tag],
            "owner": self.owners.get(cache_tag, MINE),
        }

    def connect(self, host: str) -> RegistryClient:
        return RegistryClient(host, transport=httpx.MockTransport(self.handle))


def _console() -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream, width=200, markup=False, no_color=True), stream


def _config():
    return parse_config(tomllib.loads(CONFIG), {}, path=Path("/r/buildcache.toml"), root=Path("/r"))


def test_prune_deletes_the_orphan_and_keeps_what_shares_a_manifest_in_use() -> None:
    registry = Registry(
        {
            "buildcache-slim": "sha256:1",
            "buildcache-full-feature-x": "sha256:2",  # a branch ref of a variant: kept
            "buildcache-old": "sha256:3",  # a renamed variant's cache: an orphan
            "buildcache-alias": "sha256:1",  # an orphan, but the same manifest as slim's
            "buildcache-old.record": "sha256:4",  # goes with its cache tag
            "buildcache-slim.record": "sha256:5",  # stays with its cache tag
        }
    )
    console, stream = _console()
    cache.prune(_config(), yes=True, dry_run=False, console=console, connect=registry.connect)
    assert registry.deleted == ["sha256:3", "sha256:4"]
    text = stream.getvalue()
    assert "delete ghcr.io/acme/widget-cache:buildcache-old" in text
    assert "keep   ghcr.io/acme/widget-cache:buildcache-alias" in text
    assert "deleted 2 cache tag(s)" in text


def test_prune_dry_run_deletes_nothing() -> None:
    registry = Registry({"buildcache-old": "sha256:3"})
    console, stream = _console()
    cache.prune(_config(), yes=False, dry_run=True, console=console, connect=registry.connect)
    assert registry.deleted == []
    assert "(dry run: nothing deleted)" in stream.getvalue()


def test_ls_json_lists_every_variant_present_or_not_and_the_orphans(
    capsys: object,
) -> None:
    registry = Registry({"buildcache-slim": "sha256:1", "buildcache-old": "sha256:3"})
    console, _ = _console()
    cache.ls(
        _config(),
        as_json=True,
        console=console,
        connect=registry.connect,
        platform_layers=lambda ref: None,
    )
    data = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert data["cache_image"] == "ghcr.io/acme/widget-cache"
    assert [(r["variant"], r["present"]) for r in data["refs"]] == [
        ("slim", True),
        ("full", False),
    ]
    assert [o["ref"] for o in data["orphans"]] == ["ghcr.io/acme/widget-cache:buildcache-old"]


def test_ls_lists_caches_not_staging_images_or_records(capsys: object) -> None:
    """With the docker driver each variant's image goes to its registry under buildcache's
    staging tag; where the cache shares the image's repository, that image is no cache."""
    registry = Registry(
        {
            "buildcache-slim": "sha256:1",
            "buildcache-slim-image": "sha256:i1",  # the staging tag: an image
            "buildcache-full-feature-x": "sha256:2",  # a branch's cache: listed
            "buildcache-full-feature-x.record": "sha256:3",  # its record: beside it, not a cache
        }
    )
    cache.ls(
        _config(),
        as_json=True,
        console=_console()[0],
        connect=registry.connect,
        platform_layers=lambda ref: None,
    )
    data = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert [r["ref"].rsplit(":", 1)[1] for r in data["refs"]] == [
        "buildcache-slim",
        "buildcache-full",
        "buildcache-full-feature-x",
    ]
    assert data["orphans"] == []


def test_prune_never_touches_a_release_even_where_the_cache_shares_the_image_repository() -> None:
    config = parse_config(
        tomllib.loads('images = ["ghcr.io/acme/widget"]\n[variants.slim]\n'),
        {},
        path=Path("/r/buildcache.toml"),
        root=Path("/r"),
    )
    registry = Registry(
        {
            "latest": "sha256:i1",  # releases, in the same repository as the cache
            "v1": "sha256:i1",
            "buildcache-slim": "sha256:1",
            "buildcache-beta": "sha256:i2",  # shaped like a cache tag, but an image
            "buildcache-old": "sha256:c9",  # a renamed variant's cache: an orphan
            "buildcache-old.record": "sha256:c7",
            "buildcache-tmp": "sha256:c8",  # an orphan whose manifest a release tag also has
            "release-candidate": "sha256:c8",
        }
    )
    console, stream = _console()
    cache.prune(config, yes=True, dry_run=False, console=console, connect=registry.connect)
    assert registry.deleted == ["sha256:c9", "sha256:c7"]
    assert {"latest", "v1", "buildcache-beta", "release-candidate"} <= set(registry.tags)
    text = stream.getvalue()
    assert (
        "keep   ghcr.io/acme/widget:buildcache-beta (it is not a BuildKit cache (an image?))"
        in text
    )
    assert "deleted 2 cache tag(s)" in text


def test_prune_keeps_another_project_s_cache_and_one_no_record_claims_unless_named() -> None:
    """Two projects on one cache image: this one (slim, full) prunes only its own removed
    variant; the other's live cache is listed as kept with its owner."""
    registry = Registry(
        {
            "buildcache-slim": "sha256:1",
            "buildcache-gone": "sha256:2",  # this project's removed variant
            "buildcache-gone.record": "sha256:3",
            "buildcache-api": "sha256:4",  # another project's live cache
            "buildcache-api.record": "sha256:5",
            "buildcache-mystery": "sha256:6",  # no record at all
        },
        owners={"buildcache-api": "ghcr.io/acme/api"},
    )
    console, stream = _console()
    cache.prune(_config(), yes=True, dry_run=False, console=console, connect=registry.connect)
    assert registry.deleted == ["sha256:2", "sha256:3"]
    text = stream.getvalue()
    assert (
        "keep   ghcr.io/acme/widget-cache:buildcache-api (written by another project, ghcr.io/acme/api"
        in text
    )
    assert "keep   ghcr.io/acme/widget-cache:buildcache-mystery (no record says" in text

    cache.prune(
        _config(),
        yes=True,
        dry_run=False,
        console=console,
        named=["buildcache-mystery", "buildcache-api"],
        connect=registry.connect,
    )
    assert registry.deleted[2:] == ["sha256:6"]  # named: deleted; the other project's: still not
    assert "buildcache-api" in registry.tags


def test_prune_refuses_a_named_tag_that_is_not_an_orphan() -> None:
    registry = Registry({"buildcache-slim": "sha256:1"})
    console, _ = _console()
    with pytest.raises(UsageError, match="buildcache-slim: not a cache tag of a variant gone"):
        cache.prune(
            _config(),
            yes=True,
            dry_run=False,
            console=console,
            named=["buildcache-slim"],
            connect=registry.connect,
        )
    assert registry.deleted == []


def test_prune_json_says_what_was_deleted_and_what_was_kept_and_why(capsys) -> None:
    registry = Registry(
        {
            "buildcache-gone": "sha256:2",
            "buildcache-gone.record": "sha256:3",
            "buildcache-x": "sha256:4",
        }
    )
    console, _ = _console()
    cache.prune(
        _config(), yes=True, dry_run=False, console=console, as_json=True, connect=registry.connect
    )
    data = json.loads(capsys.readouterr().out)
    assert data["deleted"] == ["buildcache-gone", "buildcache-gone.record"]
    assert [k["tag"] for k in data["kept"]] == ["buildcache-x"]
    assert "no record says which project wrote it" in data["kept"][0]["reason"]


class Repositories:
    """Registries' repositories in memory, each a Registry of its own (by the request's path)."""

    def __init__(self, repositories: dict[str, Registry]) -> None:
        self.repositories = repositories

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v2/")
        name = next(r for r in self.repositories if path.startswith(r + "/"))
        return self.repositories[name].handle(request)

    def connect(self, host: str) -> RegistryClient:
        return RegistryClient(host, transport=httpx.MockTransport(self.handle))


OWN_IMAGE = """\
images = ["ghcr.io/acme/widget"]
[variants.slim]
[variants.ee]
images = ["ghcr.io/acme/widget-ee"]
"""


def test_a_variant_with_its_own_image_has_its_cache_listed_and_pruned_there(capsys) -> None:
    """ee's cache lives in its own image: listed there, present; the ee cache left in the
    config's image (before ee had an image of its own) is an orphan of that image."""
    widget = Registry(
        {
            "buildcache-slim": "sha256:1",
            "buildcache-ee": "sha256:2",
            "buildcache-ee.record": "sha256:4",  # this project's: an orphan prune may delete
        }
    )
    widget_ee = Registry({"buildcache-ee": "sha256:3"})
    repositories = Repositories({"acme/widget-ee": widget_ee, "acme/widget": widget})
    config = parse_config(
        tomllib.loads(OWN_IMAGE), {}, path=Path("/r/buildcache.toml"), root=Path("/r")
    )
    console, _ = _console()
    cache.ls(
        config,
        as_json=True,
        console=console,
        connect=repositories.connect,
        platform_layers=lambda ref: None,
    )
    data = json.loads(capsys.readouterr().out)
    assert data["cache_images"] == ["ghcr.io/acme/widget", "ghcr.io/acme/widget-ee"]
    assert [(r["ref"], r["present"]) for r in data["refs"]] == [
        ("ghcr.io/acme/widget:buildcache-slim", True),
        ("ghcr.io/acme/widget-ee:buildcache-ee", True),
    ]
    assert [o["ref"] for o in data["orphans"]] == ["ghcr.io/acme/widget:buildcache-ee"]
    cache.prune(config, yes=True, dry_run=False, console=console, connect=repositories.connect)
    assert (widget.deleted, widget_ee.deleted) == (["sha256:2", "sha256:4"], [])
