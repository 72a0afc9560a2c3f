"""core/config/kinds.py: one converter per kind of setting. Each kind's accepted forms (what the
typed config holds after them) and its refusals (the whole sentence a user reads: the file or
variable, the key, the reason), through parse_config with a TOML table, as a config is read."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from buildcache.core.build_inputs import Secret
from buildcache.core.config.kinds import CONVERTERS
from buildcache.core.config.load import parse_config
from buildcache.core.config.model import Config
from buildcache.errors import ConfigError, ExitCode

ROOT = Path("/repo")
FILE = "/repo/buildcache.toml"
IMAGES = 'images = ["ghcr.io/acme/widget"]\n'


def _config(text: str, env: dict[str, str] | None = None) -> Config:
    return parse_config(tomllib.loads(text), env or {}, path=ROOT / "buildcache.toml", root=ROOT)


def _refused(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _config(text, env)
    return caught.value


def _refs(images: Any) -> list[str]:
    return [str(image) for image in images]


# (kind, the config's text after `images`, the environment, what the config holds, expected)
ACCEPTED: list[tuple[str, str, dict[str, str], Callable[[Config], Any], Any]] = [
    ("images", 'images = "ghcr.io/acme/widget"', {}, lambda c: _refs(c.images), ["ghcr.io/acme/widget"]),
    ("images", 'images = ["acme/widget", "index.docker.io/library/x", "registry-1.docker.io/a/b"]', {},
     lambda c: _refs(c.images), ["docker.io/acme/widget", "docker.io/library/x", "docker.io/a/b"]),
    ("images", "", {"BUILDCACHE_IMAGES": "ghcr.io/a/b, quay.io/a/b"}, lambda c: _refs(c.images),
     ["ghcr.io/a/b", "quay.io/a/b"]),
    ("image", '[cache]\nimage = "quay.io/acme/cache"', {}, lambda c: str(c.cache.image), "quay.io/acme/cache"),
    ("image", "", {}, lambda c: c.cache.image, None),  # none: the first of images
    ("platforms", 'platforms = ["linux/x86_64", "linux/aarch64", "linux/arm/v7"]', {},
     lambda c: c.platforms, ("linux/amd64", "linux/arm64", "linux/arm/v7")),
    ("platforms", 'platforms = "linux/arm64"', {}, lambda c: c.platforms, ("linux/arm64",)),
    ("platforms", "", {"BUILDCACHE_PLATFORMS": "linux/amd64, linux/arm64"}, lambda c: c.platforms,
     ("linux/amd64", "linux/arm64")),
    # a variant's empty list is none: the config's platforms apply
    ("platforms", "[variants.slim]\nplatforms = []", {}, lambda c: c.variant("slim").platforms, None),
    ("path", 'context = "src"\ndockerfile = "docker/Dockerfile"', {},
     lambda c: (c.context, c.dockerfile), (ROOT / "src", ROOT / "docker/Dockerfile")),
    ("name", 'target = "runtime"', {}, lambda c: c.target, "runtime"),
    ("name", "", {"BUILDCACHE_TARGET": " runtime "}, lambda c: c.target, "runtime"),
    ("args", 'build-args = { A = "x", N = 3, E = { env = "SHA" }, D = { env = "UNSET", default = "dev" } }',
     {"SHA": "abc"}, lambda c: (c.build_args, c.sources["build-args.E"]),
     ({"A": "x", "N": "3", "E": "abc", "D": "dev"}, "env SHA")),
    ("tag-prefix", '[cache]\ntag-prefix = "bc-"\n[tags]\nprefix = ""', {},
     lambda c: (c.cache.tag_prefix, c.tags.prefix), ("bc-", "")),
    ("tag-suffix", '[tags]\nsuffix = "-alpine"', {}, lambda c: c.tags.suffix, "-alpine"),
    ("tag-pattern", "[tags]\nschedule = \"nightly-{{date 'YYYYMMDD'}}\"", {}, lambda c: c.tags.schedule,
     "nightly-{{date 'YYYYMMDD'}}"),
    ("tags", '[tags]\nraw = ["stable", "v1_x.2-rc"]', {}, lambda c: c.tags.raw, ("stable", "v1_x.2-rc")),
    ("latest", "[tags]\nlatest = true", {}, lambda c: c.tags.latest, "true"),
    ("latest", "[tags]\nlatest = false", {}, lambda c: c.tags.latest, "false"),
    ("latest", "", {}, lambda c: c.tags.latest, "auto"),
    ("choice", '[cache]\nmode = "min"\n[tags]\nsha-format = "long"', {},
     lambda c: (c.cache.mode, c.tags.sha_format), ("min", "long")),
    ("bool", "[tags]\nsemver = true\nbranch = false", {}, lambda c: (c.tags.semver, c.tags.branch),
     (True, False)),
    ("int", "[publish]\nretries = 0", {}, lambda c: c.publish.retries, 0),
    ("number", "[publish]\nbackoff = 0.5", {}, lambda c: c.publish.backoff, 0.5),
    ("number", "[publish]\nbackoff = 300", {}, lambda c: c.publish.backoff, 300),
    # an option's value is text: true and numbers as buildx reads them
    ("options", '[builder]\ndriver-opts = { network = "host", "env.X" = 1, rootless = true }', {},
     lambda c: c.builder and c.builder.driver_opts, {"network": "host", "env.X": "1", "rootless": "true"}),
    ("cache-options", '[cache]\noptions = { compression = "zstd", ignore-error = true }', {},
     lambda c: c.cache.options, {"compression": "zstd", "ignore-error": "true"}),
    ("labels", 'labels = { "org.opencontainers.image.title" = "Widget, the app" }', {},
     lambda c: c.labels, {"org.opencontainers.image.title": "Widget, the app"}),
    ("duration", '[base]\nmax-age = " 12h "', {}, lambda c: c.base.max_age, timedelta(hours=12)),
    ("duration", '[base]\nmax-age = "2w"', {}, lambda c: c.base.max_age, timedelta(days=14)),
    ("duration", "", {"BUILDCACHE_BASE_MAX_AGE": "1d"}, lambda c: c.base.max_age, timedelta(days=1)),
    ("secrets", '[secrets]\npypi = { env = "PYPI_TOKEN" }\nnetrc = { file = "netrc", required = false }',
     {}, lambda c: c.secrets,
     (Secret("pypi", env="PYPI_TOKEN"), Secret("netrc", file=ROOT / "netrc", required=False))),
    ("ssh", 'ssh = ["default", "deploy=keys/id"]', {}, lambda c: c.ssh, ("default", "deploy=/repo/keys/id")),
    ("contexts", '[contexts]\nshared = "../shared"\nbase = "docker-image://alpine:3.20"', {},
     lambda c: c.contexts, {"shared": "/repo/../shared", "base": "docker-image://alpine:3.20"}),
    ("refs", '[cache]\nfrom = ["ghcr.io/acme/base:buildcache-slim"]', {}, lambda c: _refs(c.cache.sources),
     ["ghcr.io/acme/base:buildcache-slim"]),
    ("provenance", "[attest]\nprovenance = false", {}, lambda c: c.attest.provenance, "off"),
    ("provenance", '[attest]\nprovenance = "max"', {}, lambda c: c.attest.provenance, "max"),
    ("provenance", "", {"BUILDCACHE_PROVENANCE": "off"}, lambda c: c.attest.provenance, "off"),
    ("names", 'bake-targets = ["app", "worker"]', {}, lambda c: c.bake_targets, ("app", "worker")),
    ("names", 'bake-targets = "app"', {}, lambda c: c.bake_targets, ("app",)),
    ("tag-rules", '[tags]\nrules = ["type=semver,pattern={{version}}", "type=ref,event=branch"]', {},
     lambda c: c.tags.rules, ("type=semver,pattern={{version}}", "type=ref,event=branch")),
    ("tag-flavor", '[tags]\nflavor = ["latest=false", "suffix=-slim"]', {}, lambda c: c.tags.flavor,
     ("latest=false", "suffix=-slim")),
    # a variant's own images, context and [variants.NAME.tags] (over the config's [tags])
    ("images", '[variants.ee]\nimages = ["ghcr.io/acme/widget-ee", "acme/widget-ee"]', {},
     lambda c: _refs(c.variant("ee").images), ["ghcr.io/acme/widget-ee", "docker.io/acme/widget-ee"]),
    ("images", "[variants.slim]", {}, lambda c: (c.variant("slim").images, _refs(c.images_of("slim"))),
     ((), ["ghcr.io/acme/widget"])),
    ("path", '[variants.api]\ncontext = "services/api"', {}, lambda c: c.variant("api").context,
     ROOT / "services/api"),
    ("tag-flavor", '[tags]\nrules = ["type=semver,pattern={{version}}"]\n'
     '[variants.alpine.tags]\nflavor = ["suffix=-alpine,onlatest=true"]', {},
     lambda c: (c.variant("alpine").tags.rules, c.variant("alpine").tags.flavor),  # type: ignore[union-attr]
     (("type=semver,pattern={{version}}",), ("suffix=-alpine,onlatest=true",))),
    ("tag-suffix", '[tags]\nsemver = true\n[variants.alpine.tags]\nsuffix = "-alpine"', {},
     lambda c: (c.variant("alpine").tags.suffix, c.variant("alpine").tags.semver),  # type: ignore[union-attr]
     ("-alpine", True)),
    ("tag-rules", "[variants.slim]", {}, lambda c: c.variant("slim").tags, None),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "text", "env", "read", "expected"), ACCEPTED)
def test_each_kind_accepts_its_forms(
    kind: str, text: str, env: dict[str, str], read: Callable[[Config], Any], expected: Any
) -> None:
    source = text if text.startswith("images") else IMAGES + text
    assert read(_config(source, env)) == expected


def test_an_image_written_in_capitals_is_pushed_lowercase_with_a_note() -> None:
    config = _config('images = ["ghcr.io/Acme/widget"]\n[cache]\nimage = "quay.io/Acme/Cache"')
    assert _refs(config.images) == ["ghcr.io/acme/widget"]
    assert config.notes == (
        "images: 'ghcr.io/Acme/widget' is pushed as ghcr.io/acme/widget (lowercase)",
        "cache.image: 'quay.io/Acme/Cache' is pushed as quay.io/acme/cache (lowercase)",
    )


def test_the_config_names_secrets_contexts_ssh_and_extra_caches() -> None:
    """Moved from tests/unit/core/test_build_inputs.py: the input kinds of one config together."""
    text = (
        'images = ["ghcr.io/acme/widget", "acme/widget"]\n'
        'build-args = { GIT_SHA = { env = "GIT_SHA", default = "dev" } }\n'
        'ssh = ["deploy=keys/id"]\n'
        '[secrets]\npypi = { env = "PYPI_TOKEN" }\nnetrc = { file = "netrc", required = false }\n'
        '[contexts]\nshared = "../shared"\n'
        '[cache]\nfrom = ["ghcr.io/acme/base:buildcache-slim"]\n'
        "[variants.slim]\n[variants.full]\n"
        'contexts = { extra = "docker-image://ghcr.io/acme/extra:1" }\n'
        'cache-from = ["ghcr.io/acme/widget:buildcache-slim"]\n'
    )
    config = _config(text, env={"GIT_SHA": "abc"})
    assert config.build_args == {"GIT_SHA": "abc"}
    assert config.sources["build-args.GIT_SHA"] == "env GIT_SHA"
    assert _config(text).build_args == {"GIT_SHA": "dev"}  # the default, when the variable is unset
    assert config.secrets == (
        Secret("pypi", env="PYPI_TOKEN"),
        Secret("netrc", file=ROOT / "netrc", required=False),
    )
    assert config.ssh == ("deploy=/repo/keys/id",)
    assert config.contexts == {"shared": "/repo/../shared"}
    assert [str(r) for r in config.cache.sources] == ["ghcr.io/acme/base:buildcache-slim"]
    full = config.variant("full")
    assert full.contexts == {"extra": "docker-image://ghcr.io/acme/extra:1"}
    assert _refs(full.cache_from) == ["ghcr.io/acme/widget:buildcache-slim"]


# (kind, the config's text after `images`, the environment, the sentence, its hint)
REFUSALS: list[tuple[str, str, dict[str, str], str, str | None]] = [
    ("images", "[variants.ee]\nimages = []", {}, f"{FILE}: variants.ee.images: must name at least one image",
     None),
    ("images", '[variants.ee]\nimages = ["a/b:1"]', {},
     f"{FILE}: variants.ee.images: 'a/b:1' must be an image name without a tag or digest",
     "buildcache makes the tags"),
    ("tag-suffix", '[variants.alpine.tags]\nsuffix = "a/b"', {},
     f"{FILE}: variants.alpine.tags.suffix: 'a/b' cannot end a Docker tag (letters, digits, '_', '.', '-')",
     None),
    ("tag-flavor", '[variants.alpine.tags]\nflavor = ["sufix=-a"]', {},
     f"{FILE}: variants.alpine.tags.flavor: 'sufix=-a' is not latest=, prefix=, suffix=, onlatest=", None),
    ("bool", '[tags]\nrules = ["type=semver,pattern={{version}}"]\n[variants.alpine.tags]\nsuffix = "-a"', {},
     f"{FILE}: variants.alpine.tags.suffix: is a shorthand, and tags.rules/tags.flavor are given: they make "
     "every tag", "write it as a rule (see docs/tags.md), or drop tags.rules and tags.flavor"),
    ("tags", '[variants.alpine.tags]\nsemvr = true', {},
     f"{FILE}: variants.alpine.tags.semvr: is not a known setting", "perhaps you meant 'variants.alpine.tags.semver'?"),
    ("images", "images = []", {}, f"{FILE}: images: must name at least one image", None),
    ("images", "images = 3", {}, f"{FILE}: images: must be a list of non-empty strings, not a number", None),
    ("images", 'images = ["a/b", ""]', {},
     f"{FILE}: images: must be a list of non-empty strings, not a list with an empty string", None),
    ("images", 'images = ["a/b:1.0"]', {},
     f"{FILE}: images: 'a/b:1.0' must be an image name without a tag or digest", "buildcache makes the tags"),
    ("images", 'images = ["Not Valid!"]', {},
     f"{FILE}: images: 'Not Valid!' is not a valid image name (it is empty or has spaces)", None),
    ("images", 'images = ["a/b", "A/B"]', {},
     f"{FILE}: images: names the same image twice: 'a/b' and 'A/B' are both docker.io/a/b", None),
    ("images", "", {"BUILDCACHE_IMAGES": "a/b:1"},
     "environment BUILDCACHE_IMAGES: 'a/b:1' must be an image name without a tag or digest",
     "buildcache makes the tags"),
    ("image", "[cache]\nimage = 3", {}, f"{FILE}: cache.image: must be a string, not a number", None),
    ("image", '[cache]\nimage = "ghcr.io/acme/cache:v1"', {},
     f"{FILE}: cache.image: 'ghcr.io/acme/cache:v1' must be an image name without a tag or digest",
     "buildcache makes the tags"),
    ("platforms", "platforms = []", {}, f"{FILE}: platforms: must name at least one platform", None),
    ("platforms", 'platforms = ["amd64"]', {},
     f"{FILE}: platforms: 'amd64' is not a platform like 'linux/amd64' or 'linux/arm/v7'", None),
    ("platforms", 'platforms = ["linux/amd64", "linux/x86_64"]', {},
     f"{FILE}: platforms: names a platform twice: linux/amd64, linux/amd64", None),
    ("platforms", "", {"BUILDCACHE_PLATFORMS": "linux/arm65"},
     "environment BUILDCACHE_PLATFORMS: 'linux/arm65': BuildKit knows no architecture 'arm65' "
     "(did you mean 'arm64'?)", None),
    ("platforms", '[variants.slim]\nplatforms = ["linux/arm64", "linux/arm64"]', {},
     f"{FILE}: variants.slim.platforms: names a platform twice: linux/arm64, linux/arm64", None),
    ("path", 'context = ""', {}, f"{FILE}: context: must not be empty", None),
    ("path", "dockerfile = 1", {}, f"{FILE}: dockerfile: must be a string, not a number", None),
    ("name", 'target = " app"', {},
     f"{FILE}: target: must be a non-empty string without surrounding spaces, not \" app\"", None),
    ("args", 'build-args = ["A=1"]', {}, f"{FILE}: build-args: must be a table, not a list", None),
    ("args", 'build-args = { "1A" = "x" }', {}, f"{FILE}: build-args.1A: is not a valid build argument name", None),
    # 3.10 in TOML is the float 3.1
    ("args", "build-args = { V = 3.10 }", {}, f"{FILE}: build-args.V: must be a string, not a number",
     'quote it: V = "3.1"'),
    ("args", "build-args = { V = [1] }", {}, f"{FILE}: build-args.V: must be a string, not a list", None),
    ("args", 'build-args = { A = { env = "NOPE" } }', {},
     f"{FILE}: build-args.A: takes its value from the environment variable NOPE, which is not set",
     'set it, or give a default: { env = "NOPE", default = "..." }'),
    ("args", 'build-args = { A = { env = "X", other = 1 } }', {},
     f'{FILE}: build-args.A: must be a string or {{ env = "NAME" }} (with an optional default)', None),
    ("args", 'build-args = { A = { env = "1X" } }', {},
     f"{FILE}: build-args.A: {{ env = '1X' }} must name a variable; a default is text", None),
    ("args", 'build-args = { A = { env = "X", default = 1 } }', {},
     f"{FILE}: build-args.A: {{ env = 'X' }} must name a variable; a default is text", None),
    ("tag-prefix", '[cache]\ntag-prefix = "-x"', {},
     f"{FILE}: cache.tag-prefix: '-x' cannot start a Docker tag (letters, digits, '_', '.', '-')", None),
    ("tag-prefix", "[tags]\nprefix = 1", {}, f"{FILE}: tags.prefix: must be a string, not a number", None),
    ("tag-prefix", '[variants.slim]\nlatest-tag = "-x"', {},
     f"{FILE}: variants.slim.latest-tag: '-x' cannot start a Docker tag (letters, digits, '_', '.', '-')",
     None),
    ("tag-suffix", '[tags]\nsuffix = "a/b"', {},
     f"{FILE}: tags.suffix: 'a/b' cannot end a Docker tag (letters, digits, '_', '.', '-')", None),
    ("tag-pattern", '[tags]\nschedule = "nightly {{date}}"', {},
     f"{FILE}: tags.schedule: 'nightly {{{{date}}}}' is not a Docker tag pattern (letters, digits, '_', "
     "'.', '-', and {{date 'YYYYMMDD'}})", None),
    ("tag-pattern", '[tags]\nschedule = ""', {}, f"{FILE}: tags.schedule: must be a non-empty string, not empty",
     None),
    ("tags", '[tags]\nraw = ["ok", "not ok"]', {}, f"{FILE}: tags.raw: 'not ok' is not a valid Docker tag", None),
    ("tags", f'[tags]\nraw = ["{"a" * 129}"]', {}, f"{FILE}: tags.raw: '{'a' * 129}' is not a valid Docker tag",
     None),
    ("latest", '[tags]\nlatest = "yes"', {}, f"{FILE}: tags.latest: must be \"auto\", true or false, not \"yes\"",
     None),
    ("choice", '[cache]\nmode = "all"', {}, f"{FILE}: cache.mode: must be \"max\" or \"min\", not \"all\"", None),
    ("choice", '[cache]\nmode = "maxx"', {}, f"{FILE}: cache.mode: must be \"max\" or \"min\", not \"maxx\"",
     "perhaps you meant 'max'?"),
    ("choice", '[builder]\ndriver = "kube"', {},
     f"{FILE}: builder.driver: must be \"docker\" or \"docker-container\" or \"kubernetes\" or \"remote\", not \"kube\"",
     None),
    ("bool", '[tags]\nsemver = "true"', {}, f"{FILE}: tags.semver: must be true or false, not a string", None),
    ("int", "[publish]\nretries = 21", {}, f"{FILE}: publish.retries: must be a whole number from 0 to 20, not 21",
     None),
    ("int", "[publish]\nretries = 1.5", {},
     f"{FILE}: publish.retries: must be a whole number from 0 to 20, not 1.5", None),
    ("number", "[publish]\nbackoff = -1", {}, f"{FILE}: publish.backoff: must be a number from 0 to 300, not -1",
     None),
    ("number", '[publish]\nbackoff = "2"', {},
     f"{FILE}: publish.backoff: must be a number from 0 to 300, not \"2\"", None),
    ("options", '[builder]\ndriver-opts = { image = "moby/buildkit:v0.13,x" }', {},
     f"{FILE}: builder.driver-opts.image: must be a string without commas", None),
    ("cache-options", '[cache]\noptions = { ref = "x" }', {}, f"{FILE}: cache.options.ref: is set by buildcache itself",
     "use cache.image, cache.tag-prefix and cache.mode"),
    ("cache-options", '[cache]\noptions = { compression = "zstd,force" }', {},
     f"{FILE}: cache.options.compression: must be a string without commas", None),
    ("cache-options", '[cache]\noptions = "x"', {}, f"{FILE}: cache.options: must be a table, not a string", None),
    ("labels", 'labels = { "org.opencontainers.image.title" = 1 }', {},
     f"{FILE}: labels.org.opencontainers.image.title: must be a string, under a label key", None),
    ("labels", 'annotations = { "bad key" = "x" }', {},
     f"{FILE}: annotations.bad key: must be a string, under a label key", None),
    ("duration", '[base]\nmax-age = "30"', {},
     f"{FILE}: base.max-age: must be a duration such as \"30d\", \"2w\" or \"12h\", not \"30\"", None),
    ("duration", "[base]\nmax-age = 30", {},
     f'{FILE}: base.max-age: must be a duration such as "30d", "2w" or "12h", not 30', None),
    ("duration", "", {"BUILDCACHE_BASE_MAX_AGE": "1y"},
     "environment BUILDCACHE_BASE_MAX_AGE: must be a duration such as \"30d\", \"2w\" or \"12h\", not \"1y\"", None),
    ("secrets", '[secrets]\n"a b" = { env = "X" }', {},
     f"{FILE}: secrets.a b: is not a secret id (letters, digits, '_', '.', '-')", None),
    ("secrets", '[secrets]\na = "X"', {}, f'{FILE}: secrets.a: must be {{ env = "NAME" }} or {{ file = "path" }}',
     None),
    ("secrets", '[secrets]\na = { env = "X", file = "y" }', {},
     f'{FILE}: secrets.a: must name one of env or file, e.g. {{ env = "PYPI_TOKEN" }}', None),
    ("secrets", "[secrets]\na = { }", {},
     f'{FILE}: secrets.a: must name one of env or file, e.g. {{ env = "PYPI_TOKEN" }}', None),
    ("secrets", '[secrets]\na = { env = "1X" }', {}, f"{FILE}: secrets.a.env: '1X' is not an environment variable's name",
     None),
    ("secrets", '[secrets]\na = { file = "a,b" }', {}, f"{FILE}: secrets.a.file: must be a path without commas", None),
    ("ssh", 'ssh = ["="]', {}, f"{FILE}: ssh: '=' is not default, ID or ID=PATH", "e.g. --ssh default"),
    ("ssh", "ssh = 1", {}, f"{FILE}: ssh: must be a list of non-empty strings, not a number", None),
    ("contexts", '[contexts]\nshared = ""', {}, f"{FILE}: contexts.shared: must be a folder or a docker-image:// reference",
     None),
    ("contexts", '[contexts]\n"bad name" = "x"', {},
     f"{FILE}: contexts.bad name: must be a folder or a docker-image:// reference", None),
    ("refs", '[cache]\nfrom = ["ghcr.io/acme/base"]', {},
     f"{FILE}: cache.from: 'ghcr.io/acme/base' needs a tag, e.g. ghcr.io/acme/base:buildcache-slim", None),
    ("refs", '[cache]\nfrom = ["Bad Ref"]', {},
     f"{FILE}: cache.from: 'Bad Ref' is not a valid image name (it is empty or has spaces)", None),
    ("provenance", '[attest]\nprovenance = "full"', {},
     f"{FILE}: attest.provenance: must be \"min\", \"max\", false or \"auto\", not \"full\"", None),
    ("provenance", "", {"BUILDCACHE_PROVENANCE": "yes"},
     "environment BUILDCACHE_PROVENANCE: must be \"min\", \"max\", false or \"auto\", not \"yes\"", None),
    ("names", 'bake-targets = ["app", " "]', {},
     f"{FILE}: bake-targets: must be a list of non-empty strings, not a list with an empty string", None),
    ("tag-rules", '[tags]\nrules = ["type=bogus"]', {}, f"{FILE}: tags.rules: unknown tag type 'bogus' in 'type=bogus'",
     None),
    ("tag-rules", '[tags]\nrules = ["type=ref"]', {}, f"{FILE}: tags.rules: 'type=ref' has no event", None),
    ("tag-rules", '[tags]\nrules = "type=semver"', {}, f"{FILE}: tags.rules: 'type=semver' has no pattern", None),
    ("tag-flavor", '[tags]\nflavor = ["latest=maybe"]', {}, f"{FILE}: tags.flavor: latest is auto, true or false",
     None),
    # values shown as TOML writes them, and what is wrong named as it is
    ("names", "bake-targets = [1]", {},
     f"{FILE}: bake-targets: must be a list of non-empty strings, not a list with a number", None),
    ("secrets", '[secrets]\na = { env = "X", required = "no" }', {},
     f"{FILE}: secrets.a.required: must be true or false, not a string", None),
    ("args", "build-args = { V = true }", {}, f"{FILE}: build-args.V: must be a string, not a boolean",
     'quote it: V = "true"'),
    ("int", "[publish]\nretries = true", {},
     f"{FILE}: publish.retries: must be a whole number from 0 to 20, not true", None),
    ("provenance", "[attest]\nprovenance = true", {},
     f'{FILE}: attest.provenance: must be "min", "max", false or "auto", not true', None),
    ("duration", "", {"BUILDCACHE_BASE_MAX_AGE": "soon"},
     'environment BUILDCACHE_BASE_MAX_AGE: must be a duration such as "30d", "2w" or "12h", not "soon"',
     None),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "text", "env", "sentence", "hint"), REFUSALS)
def test_each_kind_refuses_with_one_sentence_naming_the_file_and_the_key(
    kind: str, text: str, env: dict[str, str], sentence: str, hint: str | None
) -> None:
    error = _refused(text if text.startswith("images") else IMAGES + text, env)
    assert (error.message, error.hint) == (sentence, hint)
    assert "\n" not in error.message
    assert error.exit_code == ExitCode.USAGE


def test_every_kind_has_a_converter_and_its_forms_and_refusals_here() -> None:
    from typing import get_args

    from buildcache.core.config.schema import Kind

    assert set(CONVERTERS) == set(get_args(Kind))
    assert {kind for kind, *_ in ACCEPTED} == set(CONVERTERS)
    assert {kind for kind, *_ in REFUSALS} == set(CONVERTERS)


def test_a_secret_s_value_never_appears_in_a_refusal() -> None:
    """A build argument from the environment is read, never echoed: a wrong one names the key."""
    error = _refused(IMAGES + 'build-args = { "1A" = { env = "TOKEN" } }', {"TOKEN": "hunter2"})
    assert "hunter2" not in f"{error.message} {error.hint}"
