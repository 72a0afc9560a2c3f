"""bases.py against a registry API in memory (httpx's MockTransport): resolving bases, the record
beside a cache, the files a step reads, and the plan they make."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from buildcache.buildkit.report import CacheExport, CacheReport, ExecutedStep
from buildcache.core.bake import bake_definition
from buildcache.core.bases import GIT_NOTE, GIT_NOTE_MOUNTED, CacheRecord, RecordedBase
from buildcache.core.config.load import parse_config
from buildcache.core.dockerfile.ignore import DockerIgnore
from buildcache.core.reference import ImageRef
from buildcache.registry.bases import (
    after_build,
    attach,
    dockerignore,
    hash_sources,
    read_record,
    resolve,
    write_record,
)
from buildcache.registry.client import RegistryClient
from tests.unit.plans import make_plan

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
INDEX = "application/vnd.oci.image.index.v1+json"


class Registry:
    """Manifests and blobs by repository, as distribution keeps them; uploads are monolithic."""

    def __init__(self) -> None:
        self.manifests: dict[tuple[str, str], bytes] = {}
        self.blobs: dict[str, bytes] = {}
        self.down: set[str] = set()

    def put(self, repo: str, tag: str, body: dict) -> str:
        data = json.dumps(body).encode()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.manifests[(repo, tag)] = self.manifests[(repo, digest)] = data
        return digest

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path.removeprefix("/v2/")
        if "/blobs/uploads/" in path and request.method == "POST":
            return httpx.Response(202, headers={"Location": f"/v2/{path}u1"})
        if "/blobs/uploads/" in path and request.method == "PUT":
            digest = request.url.params["digest"]
            self.blobs[digest] = request.content
            return httpx.Response(201)
        repo, kind, reference = (
            path.rpartition("/")[0].rpartition("/")[0],
            path.split("/")[-2],
            path.split("/")[-1],
        )
        if kind == "blobs":
            blob = self.blobs.get(reference)
            return httpx.Response(200, content=blob) if blob is not None else httpx.Response(404)
        if request.method == "PUT":
            digest = self.put(repo, reference, json.loads(request.content))
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        data = self.manifests.get((repo, reference))
        if data is None:
            return httpx.Response(404)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        content = b"" if request.method == "HEAD" else data
        return httpx.Response(200, content=content, headers={"Docker-Content-Digest": digest})

    def connect(self, host: str) -> RegistryClient:
        return RegistryClient(host, transport=httpx.MockTransport(self.handle))


def base_index(registry: Registry, repo: str, tag: str, salt: str) -> str:
    return registry.put(
        repo,
        tag,
        {
            "mediaType": INDEX,
            "manifests": [
                {"digest": f"sha256:{salt}amd", "platform": {"os": "linux", "architecture": "amd64"}},
                {"digest": f"sha256:{salt}arm", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
            ],
        },
    )  # fmt: skip


def test_each_base_is_resolved_once_with_its_platforms_and_a_failure_is_a_reason() -> None:
    registry = Registry()
    digest = base_index(registry, "library/python", "3.12-slim", "1")
    registry.down.add("ghcr.io")
    found = resolve(
        ["python:3.12-slim", "python:3.12-slim", "ghcr.io/a/b:1", "Bad Name"], registry.connect
    )
    assert found["python:3.12-slim"].digest == digest
    assert found["python:3.12-slim"].platforms == {
        "linux/amd64": "sha256:1amd",
        "linux/arm64/v8": "sha256:1arm",
    }
    assert "cannot reach ghcr.io" in (found["ghcr.io/a/b:1"].error or "")
    assert "not a valid image name" in (found["Bad Name"].error or "")
    assert (
        resolve(["python:3.11"], registry.connect)["python:3.11"].error
        == "no such image on its registry"
    )


def test_a_record_is_written_beside_the_cache_and_trusted_only_for_that_cache() -> None:
    registry = Registry()
    cache = ImageRef("ghcr.io", "acme/widget-cache", "buildcache-full")
    assert read_record(cache, registry.connect) == (None, f"{cache} has no record yet")
    registry.put("acme/widget-cache", "buildcache-full", {"mediaType": INDEX, "manifests": []})
    written = write_record(
        cache,
        CacheRecord(variant="full", written=NOW, cache_digest=None, bases=(), steps=()),
        registry.connect,
    )
    assert written.cache_digest is not None
    record, note = read_record(cache, registry.connect)
    assert record == written
    assert note is None
    # a plain bake rewrote the cache: the record describes another manifest
    registry.put("acme/widget-cache", "buildcache-full", {"mediaType": INDEX, "manifests": [{}]})
    record, note = read_record(cache, registry.connect)
    assert record is None
    assert note == f"{cache} was rewritten by a build that left no record"


def test_files_are_hashed_by_name_and_content_with_dockerignore(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("a")
    (tmp_path / "src" / "a.pyc").write_text("compiled")
    (tmp_path / "requirements.txt").write_text("httpx\n")
    rules = DockerIgnore.parse("*.pyc\nsrc/*.pyc\n")
    before = hash_sources(tmp_path, ["src/", "requirements.txt", "*.txt"], rules)
    (tmp_path / "src" / "a.pyc").write_text("recompiled")  # ignored: no change
    assert hash_sources(tmp_path, ["src/", "requirements.txt", "*.txt"], rules) == before
    (tmp_path / "requirements.txt").write_text("httpx\nrich\n")
    after = hash_sources(tmp_path, ["src/", "requirements.txt", "*.txt"], rules)
    assert after["src/"] == before["src/"]
    assert after["requirements.txt"] != before["requirements.txt"]
    assert after["*.txt"] == after["requirements.txt"]


CONFIG = """
images = ["ghcr.io/acme/widget"]
platforms = ["linux/amd64", "linux/arm64"]
build-args = { PY = "3.12" }
[cache]
image = "ghcr.io/acme/widget-cache"
[variants.full]
build-args = { EXTRAS = "full" }
"""
DOCKERFILE = """\
ARG PY=3.11
FROM python:${PY}-slim
ARG EXTRAS=slim
COPY requirements.txt /r/
RUN pip install "/w[$EXTRAS]"
"""


def _project(tmp_path: Path, extra: str = ""):
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    if not (tmp_path / "requirements.txt").exists():
        (tmp_path / "requirements.txt").write_text("httpx\n")
    config = parse_config(
        tomllib.loads(CONFIG + extra), {}, path=tmp_path / "buildcache.toml", root=tmp_path
    )
    return make_plan(config, version="1.0.0", push=True)


def _attach(registry: Registry, plan, refresh: str, *, now: datetime = NOW):
    return attach(
        plan,
        refresh=refresh,  # type: ignore[arg-type]
        max_age=timedelta(days=30),
        refresh_now=False,
        now=now,
        connect=registry.connect,
    )


def _report(text: str, written: bool = True) -> CacheReport:
    return CacheReport(
        variant="full",
        imported=(),
        exported=CacheExport(
            "ghcr.io/acme/widget-cache:buildcache-full", "written" if written else "skipped"
        ),
        total=3,
        cached=1,
        executed_steps=(ExecutedStep(f"3/3 {text}", "linux/amd64", 1.0, False, None, text),),
        per_platform={},
        first_executed=text,
    )


def test_a_moved_base_is_predicted_pinned_on_request_and_named_as_the_cause(tmp_path: Path) -> None:
    registry = Registry()
    old = base_index(registry, "library/python", "3.12-slim", "1")
    registry.put("acme/widget-cache", "buildcache-full", {"mediaType": INDEX, "manifests": []})
    plan = _attach(registry, _project(tmp_path), "always", now=NOW - timedelta(days=3))
    [variant] = plan.variants
    assert variant.upstream is not None
    assert variant.upstream.bases[0].use == old
    target = bake_definition(plan)["target"]["full"]
    assert target["contexts"] == {"python:3.12-slim": f"docker-image://python:3.12-slim@{old}"}
    assert f"annotation-index.org.opencontainers.image.base.digest={old}" in target["output"][0]
    assert (
        "annotation-manifest[linux/amd64].org.opencontainers.image.base.digest=sha256:1amd"
        in target["output"][0]
    )
    causes, notes = after_build(
        plan,
        {"full": _report('RUN pip install "/w[full]"')},
        now=NOW - timedelta(days=3),
        connect=registry.connect,
    )
    assert causes == {}
    assert notes == []

    new = base_index(registry, "library/python", "3.12-slim", "2")
    moved = _attach(registry, _project(tmp_path), "always", now=NOW)
    assert any(
        "the tag now resolves to" in n and "every step after its FROM" in n for n in moved.notes
    )
    assert moved.variants[0].upstream.bases[0].use == new  # type: ignore[union-attr]
    causes, _ = after_build(
        moved,
        {"full": _report('RUN pip install "/w[full]"', written=False)},
        now=NOW,
        connect=registry.connect,
    )
    assert causes["full"].kind == "base"

    pinned = _attach(registry, _project(tmp_path, '[base]\nrefresh = "cache"\n'), "cache", now=NOW)
    base = pinned.variants[0].upstream.bases[0]  # type: ignore[union-attr]
    assert (base.use, base.pinned) == (old, True)
    assert bake_definition(pinned)["target"]["full"]["contexts"]["python:3.12-slim"].endswith(old)

    # the files a COPY reads changed, with the base kept: that is the cause
    (tmp_path / "requirements.txt").write_text("httpx\nrich\n")
    pinned = _attach(registry, _project(tmp_path), "cache", now=NOW)
    causes, _ = after_build(
        pinned,
        {"full": _report("COPY requirements.txt /r/", written=False)},
        now=NOW,
        connect=registry.connect,
    )
    assert (causes["full"].kind, causes["full"].detail) == (
        "files",
        "the files it reads changed: requirements.txt",
    )


def test_a_base_nobody_can_reach_never_fails_the_plan(tmp_path: Path) -> None:
    registry = Registry()
    registry.down.update({"registry-1.docker.io", "ghcr.io"})
    plan = _attach(registry, _project(tmp_path), "cache", now=NOW)
    [base] = plan.variants[0].upstream.bases  # type: ignore[union-attr]
    assert base.use is None
    assert "cannot reach" in (base.current.error or "")
    assert "contexts" not in bake_definition(plan)["target"]["full"]
    assert any("could not be resolved" in n for n in plan.notes)


def test_the_dockerfiles_own_ignore_file_wins_and_one_docker_refuses_hashes_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "app.py").write_text("a")
    (tmp_path / "notes.md").write_text("n")
    (tmp_path / ".dockerignore").write_text("*.md\n")
    dockerfile = tmp_path / "build" / "app.Dockerfile"
    dockerfile.parent.mkdir()
    assert dockerignore(tmp_path, dockerfile).excludes("notes.md")
    # BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile first
    (tmp_path / "build" / "app.Dockerfile.dockerignore").write_text("*.py\n")
    ignore = dockerignore(tmp_path, dockerfile)
    assert ignore.excludes("app.py")
    assert not ignore.excludes("notes.md")
    # a file docker refuses (the build fails on it): no hash, and the reason
    (tmp_path / ".dockerignore").write_text("src/[a-\n")
    hashed = hash_sources(tmp_path, ["."], dockerignore(tmp_path, tmp_path / "Dockerfile"))["."]
    assert hashed.digest == (
        "not hashed (the .dockerignore pattern 'src/[a-' is not valid (syntax error))"
    )
    assert hashed.each_file == {}


def test_a_context_whose_git_a_step_reads_is_a_note_once(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    config = CONFIG + '[variants.slim]\nbuild-args = { EXTRAS = "slim" }\n'
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nCOPY . /app\n")
    plan = make_plan(
        parse_config(tomllib.loads(config), {}, path=tmp_path / "buildcache.toml", root=tmp_path),
        version="1.0.0",
        push=True,
    )
    attached = _attach(Registry(), plan, "always")
    assert [n for n in attached.notes if ".git" in n] == [GIT_NOTE]
    (tmp_path / ".dockerignore").write_text(".git\n")
    attached = _attach(Registry(), plan, "always")
    assert not [n for n in attached.notes if ".git" in n]


def test_git_read_by_a_bind_mount_only_is_no_note_and_beside_a_copy_not_dockerignore(
    tmp_path: Path,
) -> None:
    """The issue's project: .git reaches only a bind mount its version tool reads; .dockerignore
    would take it from the mount too."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    config = CONFIG + '[variants.slim]\nbuild-args = { EXTRAS = "slim" }\n'
    mount = "RUN --mount=type=bind,source=.,target=/src pip install /src\n"
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.12-slim\n{mount}")
    plan = make_plan(
        parse_config(tomllib.loads(config), {}, path=tmp_path / "buildcache.toml", root=tmp_path),
        version="1.0.0",
        push=True,
    )
    attached = _attach(Registry(), plan, "always")
    assert not [n for n in attached.notes if ".git" in n]
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.12-slim\n{mount}COPY . /app\n")
    attached = _attach(Registry(), plan, "always")
    assert [n for n in attached.notes if ".git" in n] == [GIT_NOTE_MOUNTED]


def _hostile_record(registry: Registry, cache: ImageRef, data: bytes) -> None:
    """A record's manifest over a layer of `data`: what anyone with push rights could put."""
    from buildcache.core.bases import RECORD_TYPE

    with registry.connect(cache.registry) as client:
        layer = client.put_blob(cache.repository, data)
        client.put_manifest(
            cache.repository,
            f"{cache.tag}.record",
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": RECORD_TYPE,
             "layers": [{"mediaType": RECORD_TYPE, "digest": layer, "size": 10}]},
        )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "unreadable"),  # past Python's recursion limit
        (b'{"record": 1, "pad": "' + b"x" * (2 << 20) + b'"}', "larger than 1048576 bytes"),
    ],
    ids=["deep", "large"],
)
def test_a_hostile_record_is_a_note_never_a_traceback(data: bytes, words: str) -> None:
    registry = Registry()
    cache = ImageRef("ghcr.io", "acme/widget-cache", "buildcache-full")
    _hostile_record(registry, cache, data)
    record, note = read_record(cache, registry.connect)
    assert record is None
    assert words in (note or "")


def test_a_record_s_names_are_text_not_terminal_escapes() -> None:
    registry = Registry()
    cache = ImageRef("ghcr.io", "acme/widget-cache", "buildcache-full")
    registry.put("acme/widget-cache", "buildcache-full", {"mediaType": INDEX, "manifests": []})
    base = RecordedBase("python\x1b]0;owned\x07:3.12", "sha256:" + "a" * 64, NOW)
    hostile = CacheRecord(
        variant="full", written=NOW, cache_digest=None, bases=(base,), steps=(),
        owner="\x1b[2J\x1b[31macme/widget",
    )  # fmt: skip
    write_record(cache, hostile, registry.connect)
    record, _ = read_record(cache, registry.connect)
    assert record is not None
    assert record.owner == "\\x1b[2J\\x1b[31macme/widget"
    assert record.bases[0].name == "python\\x1b]0;owned\\x07:3.12"


def test_a_secret_looking_argument_is_kept_under_the_record_s_own_key(tmp_path: Path) -> None:
    """The record keeps an HMAC under its random key, not a hash anyone can recompute; the next
    build hashes under the same key, so an unchanged value compares equal and a changed one
    does not."""
    registry = Registry()
    base_index(registry, "library/python", "3.12-slim", "1")
    registry.put("acme/widget-cache", "buildcache-full", {"mediaType": INDEX, "manifests": []})
    _project(tmp_path)  # the Dockerfile and its files
    (tmp_path / "Dockerfile").write_text(DOCKERFILE.replace("RUN pip", "ARG NPM_TOKEN\nRUN pip"))

    def attached(token: str):
        text = CONFIG.replace('EXTRAS = "full"', f'EXTRAS = "full", NPM_TOKEN = "{token}"')
        config = parse_config(
            tomllib.loads(text), {}, path=tmp_path / "buildcache.toml", root=tmp_path
        )
        return _attach(registry, make_plan(config, version="1.0.0", push=True), "always")

    first = attached("s3cr3t-one")
    report = _report('RUN pip install "/w[$EXTRAS]"')
    after_build(first, {"full": report}, now=NOW, connect=registry.connect)
    cache = ImageRef.parse("ghcr.io/acme/widget-cache:buildcache-full")
    record, _ = read_record(cache, registry.connect)
    assert record is not None
    assert record.key
    kept = [s.args["NPM_TOKEN"] for s in record.steps if "NPM_TOKEN" in s.args]
    assert kept
    assert all(k and k.startswith("hmac16:") for k in kept)
    assert hashlib.sha256(b"s3cr3t-one").hexdigest()[:16] not in json.dumps(record.to_json())
    again = attached("s3cr3t-one").variants[0].upstream
    assert again is not None
    assert again.key == record.key
    assert [s.args for s in again.steps] == [s.args for s in record.steps]  # unchanged
    changed = attached("s3cr3t-two").variants[0].upstream
    assert changed is not None
    assert [s.args for s in changed.steps] != [s.args for s in record.steps]


def test_another_project_s_record_on_the_cache_is_said_once_and_not_compared(
    tmp_path: Path,
) -> None:
    """Two projects with the same variant names on one cache image: the record says the other
    wrote the cache; the plan says so once, and compares nothing of its bases or steps."""
    registry = Registry()
    base_index(registry, "library/python", "3.12-slim", "1")
    cache = ImageRef("ghcr.io", "acme/widget-cache", "buildcache-full")
    registry.put("acme/widget-cache", "buildcache-full", {"mediaType": INDEX, "manifests": []})
    theirs = CacheRecord(
        variant="full", written=NOW, cache_digest=None, bases=(), steps=(), owner="github.com/b/api"
    )
    write_record(cache, theirs, registry.connect)
    plan = _attach(registry, _project(tmp_path), "always")
    shared = [n for n in plan.notes if "another project" in n]
    assert shared == [
        "the cache of full was last written by another project (github.com/b/api; this one is "
        "ghcr.io/acme/widget): two projects writing the same cache tags replace each other's "
        "cache at every build; give this project a cache image of its own (cache.image) or a "
        "tag-prefix of its own (cache.tag-prefix)"
    ]
    upstream = plan.variants[0].upstream
    assert upstream is not None
    assert upstream.record is None
    assert upstream.record_note == "its record was written by another project, github.com/b/api"
    # its own record (or an older buildcache's, naming no one) is no other project's
    for owner in ("ghcr.io/acme/widget", None):
        write_record(cache, dataclasses.replace(theirs, owner=owner), registry.connect)
        plan = _attach(registry, _project(tmp_path), "always")
        assert not [n for n in plan.notes if "another project" in n]
        assert plan.variants[0].upstream.record is not None  # type: ignore[union-attr]


# an image config's history as BuildKit writes it: the base's entries, then the Dockerfile's
HISTORY = [
    {"created_by": "/bin/sh"},  # the base's one layer
    {"created_by": "WORKDIR /app", "comment": "buildkit.dockerfile.v0"},
    {"created_by": "COPY . . # buildkit"},
    {"created_by": "RUN |2 DEPS_SECONDS=1 VARIANT=slim /bin/sh -c chown -R 1000 /app # buildkit"},
    {"created_by": "ENV A=1", "empty_layer": True},
]


def test_the_layers_of_a_pushed_image_are_sized_by_the_step_that_made_them() -> None:
    from buildcache.registry.bases import pushed_sizes

    registry = Registry()
    config = json.dumps({"history": HISTORY}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    registry.blobs[config_digest] = config
    sizes = [{"digest": f"sha256:l{n}", "size": n * 1000} for n in (1, 2, 3, 4)]
    image = registry.put(
        "a/w", "sha256:img", {"config": {"digest": config_digest}, "layers": sizes}
    )
    index = registry.put(
        "a/w",
        "1",
        {"manifests": [{"digest": image, "platform": {"os": "linux", "architecture": "amd64"}}]},
    )
    ref = ImageRef.parse("ghcr.io/a/w")
    found = pushed_sizes(ref, index, registry.connect)
    assert found == {
        "/bin/sh": 1000,
        "WORKDIR /app": 2000,
        "COPY . .": 3000,
        "RUN chown -R 1000 /app": 4000,
    }
    # the step as the Dockerfile names it finds its layer (flags aside)
    from buildcache.core.bases import history_key

    assert history_key("RUN --mount=type=cache,target=/c chown -R 1000 /app") in found
    assert pushed_sizes(ref, None, registry.connect) == {}
    assert pushed_sizes(ref, "sha256:gone", registry.connect) == {}
    registry.down.add("ghcr.io")
    assert pushed_sizes(ref, index, registry.connect) == {}  # a figure, never a failure
