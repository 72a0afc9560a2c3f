"""Publishing under faults from a seed, on the real engine and registries, with an oracle that
can fail: a loopback proxy in front of every registry (ghcr: the first image, which decides
"published already", and the cache with its records; hub: the second image) answers requests
with 500, 503, 429, 400, 401, a connection reset or a stall past the client's timeout, as the
seed says: which registries meet random faults and on which classes of request, and one request
of buildcache's own (its httpx client, told from the engine's push by its User-Agent) that always
meets one. A seed publishes 1.<seed>.0 under faults; some seeds publish a lower hotfix
1.<seed-1>.1 under faults before it is complete, or run the earlier release 1.0.0 again, or build
two platforms; then every version again without faults, which must complete.

After every run, the oracle reads each registry past its proxy and checks, from the registries'
facts alone (the new index is what the engine pushed, seen by the proxies; never buildcache's
JSON's digest), what the README's Publishing section promises:

- a planned tag is its digest before the run or the new index; a tag the run did not plan is
  where it was (none deleted); a release published on the first registry is never replaced;
- the new index under a tag holds every platform the run built, each one on that registry;
- a moving tag (latest, full, 1, 1.2) moves only to the new index, only where every version tag
  of the variant is at it on every registry, and never where a higher release (on any registry)
  holds it;
- exit 0 means every version tag at the new index and every moving tag at it or held;
- each status of the JSON's publish table is true (done: at the new index; kept: held), and on
  exit 0 the JSON's digest is the index the engine pushed;
- the staging tags are the engine's pushes of this run or as they were, and on exit 0 of a built
  variant the last one pushed; a record beside a cache, where rewritten, names the cache there
  now, and is rewritten on exit 0 where the cache was written and no warning said otherwise.

`make test` runs a few seeds (BUILDCACHE_FAULT_SEEDS, default 3) and the mutant test (each planted
bug of tests/integration/mutants must make the oracle report something wrong); `make fuzz` runs
200, and ten pairs of releases started at once (BUILDCACHE_RACES)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Project, example_config, manifest, registry_get
from tests.integration.faultproxy import FaultProxy, SeededFaults, fault_proxy
from tests.integration.mutants.sitecustomize import MUTANTS

SEEDS = int(os.environ.get("BUILDCACHE_FAULT_SEEDS", "3"))
FIRST_SEED = int(os.environ.get("BUILDCACHE_FAULT_SEED", "1"))
RACES = int(os.environ.get("BUILDCACHE_RACES", "1"))
# one platform keeps a seed to a few seconds; the index still lists a manifest and its attestation
ARGS = ("build", "--push", "--platform", "linux/amd64", "--version")
ONE_PLATFORM = frozenset({"linux/amd64"})
TWO_PLATFORMS = frozenset({"linux/amd64", "linux/arm64"})
# the stall outlasts it: a timeout, then a retry
ENV = {"BUILDCACHE_REGISTRY_TIMEOUT": "1"}
MUTANTS_DIR = Path(__file__).parent / "mutants"
RELEASE = re.compile(r"(\d+)\.(\d+)\.(\d+)")
INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


def _with_images(project: Project, images: list[str], extra: str) -> None:
    config = project.path / "buildcache.toml"
    text = config.read_text()
    first_line = text.splitlines()[0]
    config.write_text(text.replace(first_line, f"images = {json.dumps(images)}") + f"\n{extra}")


def _digests(data: dict[str, Any]) -> dict[str, str]:
    return {v["name"]: v["digest"] for v in data.get("variants", []) if v.get("digest")}


# --- the stage: every registry behind a proxy ------------------------------------------------


@dataclass
class Stage:
    """The project's registries, each behind a proxy: by name, the address past the proxy
    (`direct`, where the oracle reads) and the proxy's (`address`, where buildcache and the
    engine go)."""

    project: Project
    direct: dict[str, str]
    address: dict[str, str]
    proxies: dict[str, FaultProxy]
    mutant: str | None = None

    @property
    def repository(self) -> str:
        return self.project.name

    @property
    def cache_repository(self) -> str:
        return f"{self.project.name}-cache"

    def name_of(self, address: str) -> str:
        return next(name for name, a in self.address.items() if a == address)

    def env(self) -> dict[str, str]:
        if self.mutant is None:
            return ENV
        path = os.pathsep.join(p for p in (str(MUTANTS_DIR), os.environ.get("PYTHONPATH")) if p)
        return {**ENV, "BUILDCACHE_MUTANT": self.mutant, "PYTHONPATH": path}


@contextmanager
def faulty_registries(project: Project, mutant: str | None = None) -> Iterator[Stage]:
    registries = project.registries
    direct = {"ghcr": registries.ghcr, "hub": registries.hub}
    with ExitStack() as stack:
        address, proxies = {}, {}
        for name, upstream in direct.items():
            address[name], proxies[name] = stack.enter_context(fault_proxy(upstream, []))
        project.write_config(
            example_config(
                images=[f"{address['ghcr']}/{project.name}", f"{address['hub']}/{project.name}"],
                cache_image=f"{address['ghcr']}/{project.name}-cache",
                base_image=f"{registries.ghcr}/base/busybox:1",
                extra="[tags]\nsemver = true\n\n[publish]\nretries = 2\nbackoff = 0.05\n",
            )
        )
        yield Stage(project, direct, address, proxies, mutant)


# --- what the registries hold, read past the proxies -------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Every tag of the image's repository on each registry, and of the cache's on ghcr, with
    its digest (None: listed, its digest not read: an old release no run of the seed touches)."""

    images: dict[str, dict[str, str | None]]
    cache: dict[str, str | None]


def _read_tags(
    address: str, repository: str, worth: Callable[[str], bool] = lambda tag: True
) -> dict[str, str | None]:
    listed = registry_get(address, f"{repository}/tags/list")
    if listed.status_code == 404:
        return {}
    listed.raise_for_status()
    names = listed.json().get("tags") or []

    def digest(tag: str) -> str | None:
        if not worth(tag):
            return None
        response = httpx.head(
            f"http://{address}/v2/{repository}/manifests/{tag}",
            headers={"Accept": ", ".join(INDEX_MEDIA_TYPES + _MANIFEST_TYPES)},
            timeout=10,
        )
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(names, pool.map(digest, names), strict=True))


_MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


def _worth_reading(tag: str, seed: int) -> bool:
    """Every tag but the releases of seeds long past (1.<n>.x, 1.<n>, with n < seed - 3): no run
    of this seed plans them, and reading each after every run would slow the long runs."""
    match = re.fullmatch(r"1\.(\d+)(?:\.\d+)?(?:-full)?", tag)
    return match is None or int(match.group(1)) >= seed - 3 or match.group(1) == "0"


def snapshot(stage: Stage, seed: int) -> Snapshot:
    images = {
        name: _read_tags(address, stage.repository, lambda tag: _worth_reading(tag, seed))
        for name, address in stage.direct.items()
    }
    cache = _read_tags(stage.direct["ghcr"], stage.cache_repository)
    return Snapshot(images, cache)


# --- the runs of a seed ------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    version: str
    faulted: bool
    platforms: frozenset[str]

    @property
    def args(self) -> tuple[str, ...]:
        if self.platforms == ONE_PLATFORM:
            return (*ARGS, self.version)
        return ("build", "--push", "--version", self.version)


def seed_runs(seed: int) -> list[Run]:
    """1.<seed>.0 under faults; in some seeds a lower hotfix under faults before it is complete,
    or the earlier release 1.0.0 run again under faults; every seed in four builds two
    platforms. Then each version again without faults."""
    platforms = TWO_PLATFORMS if seed % 4 == 0 else ONE_PLATFORM
    versions = [f"1.{seed}.0"]
    if seed % 3 == 0:
        versions.append(f"1.{seed - 1}.1")
    if seed % 5 == 0:
        versions.append("1.0.0")
    return [Run(v, True, platforms) for v in versions] + [
        Run(v, False, platforms) for v in versions
    ]


@dataclass
class Outcome:
    wrong: list[str] = field(default_factory=list)
    met: list[str] = field(default_factory=list)
    ours_met: int = 0


def run_seed(stage: Stage, seed: int, *, first_wrong: bool = False) -> Outcome:
    """The seed's runs, each checked; with `first_wrong`, only until one is found wrong."""
    outcome = Outcome()
    runs = seed_runs(seed)
    for run in runs:
        run_once(stage, seed, run, outcome)
        if first_wrong and outcome.wrong:
            return outcome
    if not outcome.ours_met:
        # every faulted run ended before buildcache's request the seed chose (a bake that failed
        # for good): the first version again, its first registry call ("published already?")
        # meeting the fault
        run_once(stage, seed, runs[0], outcome, forced=("ghcr", 0))
        run_once(stage, seed, dataclasses.replace(runs[0], faulted=False), outcome)
    if not outcome.ours_met:
        outcome.wrong.append(f"seed {seed}: no fault met buildcache's own requests")
    return outcome


def run_once(
    stage: Stage, seed: int, run: Run, outcome: Outcome, forced: tuple[str, int] | None = None
) -> None:
    """One run of buildcache (under the seed's faults, if the run says so), checked."""
    faults = SeededFaults(seed * 100 + len(outcome.met), list(stage.proxies), forced=forced)
    before = snapshot(stage, seed)
    for name, proxy in stage.proxies.items():
        proxy.engine_tagged.clear()
        if run.faulted:
            proxy.seeded = lambda m, p, a, n=name, f=faults: f(n, m, p, a)
    try:
        result = stage.project.run(*run.args, "--json", env=stage.env())
    finally:
        for proxy in stage.proxies.values():
            proxy.seeded = None
    after = snapshot(stage, seed)
    found = Oracle(stage, run, before, after, result).wrong()
    where = f"seed {seed}: {run.version}{' under faults' if run.faulted else ''}"
    outcome.wrong += [f"{where}: {w}" for w in found]
    outcome.met += faults.met
    outcome.ours_met += faults.ours_met
    # one line a run (seen with pytest -s): what it met, how it ended
    print(f"{where}: exit {result.returncode}, faults {faults.met}, wrong {len(found)}")


# --- the oracle --------------------------------------------------------------------------------


def _release_key(tag: str, suffix: str) -> tuple[int, ...] | None:
    if not tag.endswith(suffix):
        return None
    match = RELEASE.fullmatch(tag[: len(tag) - len(suffix)] if suffix else tag)
    return tuple(int(p) for p in match.groups()) if match else None


def _series(tag: str, suffix: str) -> tuple[int, ...]:
    """The releases a moving tag follows: 1.2 -> (1, 2), 1 -> (1,), latest or full -> ()."""
    bare = tag[: len(tag) - len(suffix)] if suffix and tag.endswith(suffix) else tag
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?", bare)
    return tuple(int(p) for p in match.groups() if p is not None) if match else ()


@dataclass
class Variant:
    """A variant as the plan says (the JSON's plan part): its tags per registry, which move."""

    name: str
    tags: dict[str, list[str]]  # registry name -> tags
    floating: frozenset[str]
    version_tag: str  # 1.2.3 or 1.2.3-full
    suffix: str  # what follows the version in its tags: "" or "-full"
    json: dict[str, Any]


class Oracle:
    def __init__(
        self,
        stage: Stage,
        run: Run,
        before: Snapshot,
        after: Snapshot,
        result: subprocess.CompletedProcess[str],
    ) -> None:
        self.stage, self.run, self.before, self.after, self.result = (
            stage,
            run,
            before,
            after,
            result,
        )
        self.ok = result.returncode == 0
        self.problems: list[str] = []
        self.index_checked: dict[tuple[str, str], str | None] = {}

    def wrong(self) -> list[str]:
        if self.result.returncode not in (0, 1):
            self.problems.append(f"exit {self.result.returncode}: {self.result.stderr[-800:]}")
        if "Traceback" in self.result.stderr:
            self.problems.append(f"a traceback: {self.result.stderr[-800:]}")
        if not self.run.faulted and not self.ok:
            self.problems.append(
                f"the run without faults exits {self.result.returncode}: "
                f"{self.result.stderr[-600:]}"
            )
        try:
            data = json.loads(self.result.stdout)
        except ValueError:
            # stopped before the plan was run ("cannot tell whether it is published already"):
            # one sentence, and nothing tagged anywhere
            if self.ok or not self.result.stderr.strip():
                self.problems.append(f"no JSON, exit {self.result.returncode}")
            self._untouched(set(), [])
            return self.problems
        variants = [self._variant(v) for v in data["variants"]]
        pushed = self._engine_pushed(variants)
        planned = {(r, t) for v in variants for r, tags in v.tags.items() for t in tags}
        self._untouched(planned, variants)
        for variant in variants:
            new = self._new(variant, pushed[variant.name])
            self._variant_tags(variant, new, resumed=self._resumed(variant))
            self._statuses(variant, new)
            self._staging(variant, pushed[variant.name])
            self._record(variant)
        return self.problems

    # the facts
    def _variant(self, data: dict[str, Any]) -> Variant:
        tags: dict[str, list[str]] = {name: [] for name in self.stage.address}
        for ref in data["tags"]:
            address, rest = ref.split("/", 1)
            tags[self.stage.name_of(address)].append(rest.rsplit(":", 1)[1])
        (version_tag, version), *_ = data["release_tags"].items()
        return Variant(
            data["name"],
            tags,
            frozenset(data["floating"]),
            version_tag,
            version_tag.removeprefix(version),
            data,
        )

    def _engine_pushed(self, variants: list[Variant]) -> dict[str, dict[str, dict[str, str]]]:
        """Per variant and registry, the staging tags the engine wrote this run and the index
        each last got (what the proxies saw go through, with the registry's 201)."""
        found: dict[str, dict[str, dict[str, str]]] = {v.name: {} for v in variants}
        for registry, proxy in self.stage.proxies.items():
            for path, digest in proxy.engine_tagged:
                tag = path.split("?")[0].rsplit("/", 1)[1]
                for variant in variants:
                    if re.fullmatch(
                        rf"buildcache-{variant.name}(-linux-[a-z0-9-]+)?(-[0-9a-f]{{8}})?-image",
                        tag,
                    ):
                        found[variant.name].setdefault(registry, {})[tag] = digest
        return found

    def _resumed(self, variant: Variant) -> str | None:
        """The release's digest where a registry had its version tag before the run (the first
        registry's where both had it): published once, it is the only new index there can be."""
        held = (self.before.images[name].get(variant.version_tag) for name in ("ghcr", "hub"))
        return next((digest for digest in held if digest is not None), None)

    def _new(self, variant: Variant, pushed: dict[str, dict[str, str]]) -> set[str]:
        resumed = self._resumed(variant)
        if resumed is not None:
            return {resumed}
        return {d for tags in pushed.values() for d in tags.values()}

    def _held(self, variant: Variant, tag: str) -> str | None:
        """The higher release (on any registry, before the run) that holds a moving tag."""
        mine = _release_key(variant.version_tag, variant.suffix)
        series = _series(tag, variant.suffix)
        for registry in self.before.images.values():
            for name in registry:
                key = _release_key(name, variant.suffix)
                if (
                    key is not None
                    and mine is not None
                    and key > mine
                    and key[: len(series)] == series
                ):
                    return name
        return None

    # the checks
    def _say(self, message: str) -> None:
        self.problems.append(message)

    def _untouched(self, planned: set[tuple[str, str]], variants: list[Variant]) -> None:
        """A tag the run did not plan (staging tags aside) is where it was; none is deleted."""
        for registry, tags in self.before.images.items():
            for tag, digest in tags.items():
                if (registry, tag) in planned or (variants and tag.startswith("buildcache-")):
                    continue
                now = self.after.images[registry].get(tag, "gone")
                if tag not in self.after.images[registry] or (digest is not None and now != digest):
                    self._say(f"{registry} {tag}, not planned, went from {digest} to {now}")

    def _variant_tags(self, variant: Variant, new: set[str], *, resumed: str | None) -> None:
        everywhere = all(
            self.after.images[r].get(t) in new
            for r, tags in variant.tags.items()
            for t in tags
            if t not in variant.floating
        )
        for registry, tags in variant.tags.items():
            for tag in tags:
                was = self.before.images[registry].get(tag)
                now = self.after.images[registry].get(tag)
                where = f"{registry} {tag}"
                if now != was and now not in new:
                    self._say(f"{where} went from {was} to {now}, not the new index {sorted(new)}")
                    continue
                if now in new and now != was:
                    self._is_whole_index(registry, now, where, resumed=resumed is not None)
                if tag == variant.version_tag and was is not None and now != was:
                    self._say(f"{where}: the release published as {was} was replaced by {now}")
                if tag in variant.floating:
                    self._moving(variant, registry, tag, new, everywhere=everywhere)
                elif self.ok and now not in new:
                    self._say(f"exit 0, but {where} is {now}, not the new index {sorted(new)}")

    def _moving(
        self, variant: Variant, registry: str, tag: str, new: set[str], *, everywhere: bool
    ) -> None:
        was = self.before.images[registry].get(tag)
        now = self.after.images[registry].get(tag)
        held = self._held(variant, tag)
        where = f"{registry} {tag}"
        moved = now != was
        if moved and held is not None:
            self._say(f"{where} moved to {now} although {held}, a higher release, holds it")
        if moved and not everywhere:
            self._say(
                f"{where} moved although a version tag of {variant.name} is not at the new index on every registry"
            )
        if self.ok and held is None and now not in new:
            self._say(
                f"exit 0, but {where} is {now}, not the new index (no higher release holds it)"
            )

    def _is_whole_index(self, registry: str, digest: str, where: str, *, resumed: bool) -> None:
        key = (registry, digest)
        if key not in self.index_checked:
            self.index_checked[key] = self._index_problem(registry, digest, resumed=resumed)
        if self.index_checked[key]:
            self._say(f"{where} is {digest}: {self.index_checked[key]}")

    def _index_problem(self, registry: str, digest: str, *, resumed: bool) -> str | None:
        address = self.stage.direct[registry]
        response = registry_get(address, f"{self.stage.repository}/manifests/{digest}")
        if response.status_code != 200:
            return f"not on the registry ({response.status_code})"
        found = response.json()
        if found.get("mediaType") not in INDEX_MEDIA_TYPES:
            return f"not an index but {found.get('mediaType')}"
        children = found.get("manifests", [])
        platforms = [
            f"{m['platform']['os']}/{m['platform']['architecture']}"
            for m in children
            if m.get("platform", {}).get("os") not in (None, "unknown")
        ]
        # a release published already is what it was published as, whatever this run builds
        wanted = {platforms[0]} if resumed and platforms else self.run.platforms
        if len(platforms) != len(set(platforms)) or not wanted <= set(platforms):
            return f"an index of {sorted(platforms)}, not of {sorted(wanted)}"
        if not resumed and set(platforms) != wanted:
            return f"an index of {sorted(platforms)}, not of {sorted(wanted)}"
        for child in children:
            response = registry_get(
                address,
                f"{self.stage.repository}/manifests/{child['digest']}",
                accept=_MANIFEST_TYPES,
            )
            if response.status_code != 200:
                return f"its manifest {child['digest'][:19]} is not on the registry"
        return None

    def _statuses(self, variant: Variant, new: set[str]) -> None:
        """Each status the JSON's publish table gives is true."""
        for entry in variant.json.get("publish") or []:
            registry = self.stage.name_of(entry["image"].split("/", 1)[0])
            now = self.after.images[registry].get(entry["tag"])
            where = f"{registry} {entry['tag']}"
            if entry["status"] == "done" and now not in new:
                self._say(f"{where} says done, but is {now}, not the new index")
            if entry["status"] == "kept" and self._held(variant, entry["tag"]) is None:
                self._say(f"{where} says kept ({entry['reason']}), but no higher release holds it")
        if self.ok and variant.json.get("digest") not in new:
            self._say(
                f"exit 0, but the JSON's digest of {variant.name} is {variant.json.get('digest')}, not the index pushed {sorted(new)}"
            )

    def _staging(self, variant: Variant, pushed: dict[str, dict[str, str]]) -> None:
        """Each staging tag is as it was or the engine's push of this run; on exit 0 of a built
        variant, at what the engine pushed last."""
        for registry, tags in self.after.images.items():
            for tag, now in tags.items():
                if not re.fullmatch(
                    rf"buildcache-{variant.name}(-linux-[a-z0-9-]+)?(-[0-9a-f]{{8}})?-image", tag
                ):
                    continue
                was = self.before.images[registry].get(tag)
                if now != was and now != pushed.get(registry, {}).get(tag):
                    self._say(
                        f"{registry} staging tag {tag} is {now}: neither as it was nor a push of this run"
                    )
            if self._resumed(variant) is None and self.ok:
                for tag, digest in pushed.get(registry, {}).items():
                    if tags.get(tag) != digest:
                        self._say(
                            f"exit 0, but {registry} staging tag {tag} is {tags.get(tag)}, not the index pushed ({digest})"
                        )

    def _record(self, variant: Variant) -> None:
        """The record beside the variant's cache: where rewritten, it names the cache there now;
        on exit 0, rewritten where the cache was written and no warning said otherwise."""
        cache, record = f"buildcache-{variant.name}", f"buildcache-{variant.name}.record"
        was, now = self.before.cache.get(record), self.after.cache.get(record)
        if now is not None and now != was:
            named = self._record_names(record)
            if named != self.after.cache.get(cache):
                self._say(
                    f"the record {record} names {named}, not the cache there ({self.after.cache.get(cache)})"
                )
        exported = ((variant.json.get("cache") or {}).get("exported") or {}).get("status")
        warned = (
            f"{variant.name}: the record beside its cache could not be written"
            in self.result.stderr
        )
        if self.ok and exported == "written" and not warned and now == was:
            self._say(
                f"exit 0, the cache of {variant.name} written, no warning, but its record was not rewritten"
            )

    def _record_names(self, record: str) -> str | None:
        address, repository = self.stage.direct["ghcr"], self.stage.cache_repository
        found = manifest(f"{address}/{repository}:{record}")
        if found is None:
            return None
        layer = found["layers"][0]["digest"]
        blob = registry_get(address, f"{repository}/blobs/{layer}", accept=("*/*",))
        value = blob.json().get("cache_digest")
        return str(value) if value else None


# --- the tests ---------------------------------------------------------------------------------


def _baseline(stage: Stage) -> None:
    """1.0.0 published without faults: the moving tags have an earlier digest to move from."""
    result = stage.project.run(*ARGS, "1.0.0", "--json", env=ENV)
    assert result.returncode == 0, result.stderr


def test_every_tag_is_where_the_rules_say_under_seeded_faults(project: Project) -> None:
    with faulty_registries(project) as stage:
        _baseline(stage)
        wrong: list[str] = []
        met: list[str] = []
        for seed in range(FIRST_SEED, FIRST_SEED + SEEDS):
            outcome = run_seed(stage, seed)
            wrong += outcome.wrong
            met += outcome.met
    by_class = Counter(" ".join(m.split()[1:-1]) for m in met)
    print(
        f"seeds {FIRST_SEED}..{FIRST_SEED + SEEDS - 1}: {len(met)} faults met "
        f"({sum(1 for m in met if ' buildcache ' in m)} by buildcache's requests), "
        f"by class {dict(sorted(by_class.items()))}; wrong: {len(wrong)}"
    )
    assert not wrong, "\n".join(wrong)


# seeds known to meet each mutant's bug (found by running them): 6 fails a tag write for good
# (a 401 on hub's PUT, a 400 on reading the index), 3 publishes a hotfix under 1.3.0
MUTANT_SEEDS: dict[str, tuple[int, ...]] = {
    "failed-tag-writes-exit-0": (6,),
    "moving-tags-despite-a-failed-version-tag": (6,),
    "hold-ignored": (3,),
    "platform-manifest-under-the-tags": (2,),
    "published-release-replaced": (1,),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_each_mutant_makes_the_fault_suite_fail(project: Project, mutant: str) -> None:
    """A planted bug (tests/integration/mutants) in the buildcache the suite runs: its oracle
    reports something wrong within the mutant's seeds."""
    with faulty_registries(project) as stage:
        _baseline(stage)
        stage.mutant = mutant
        for seed in MUTANT_SEEDS[mutant]:
            outcome = run_seed(stage, seed, first_wrong=True)
            if outcome.wrong:
                print(f"{mutant}: killed by seed {seed}: {outcome.wrong[0]}")
                return
    pytest.fail(f"the mutant {mutant} passed the fault suite's seeds {MUTANT_SEEDS[mutant]}")


def test_two_releases_started_at_once_both_complete_with_one_digest_per_tag(
    project: Project,
) -> None:
    """Two releases of the same project at one moment, RACES times: both exit 0, every tag has
    one digest on every registry, and the moving tags end on the higher release."""
    registries = project.registries
    images = [f"{registries.ghcr}/{project.name}", f"{registries.hub}/{project.name}"]
    _with_images(project, images, "")
    for race in range(1, RACES + 1):
        lower, higher = f"2.{race}.0", f"2.{race}.1"
        runs = {v: project.start(*ARGS, v, "--json") for v in (lower, higher)}
        ended = {v: process.communicate(timeout=600) for v, process in runs.items()}
        digests = {}
        for version, (out, err) in ended.items():
            assert runs[version].returncode == 0, (race, version, err)
            digests[version] = _digests(json.loads(out))
        for image in images:
            for name, alias in (("slim", "latest"), ("full", "full")):
                found = manifest(f"{image}:{alias}")
                assert found is not None
                assert found["_digest"] == digests[higher][name], (race, image, alias)
