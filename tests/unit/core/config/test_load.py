"""core/config/load.py: the config found (as git finds .git), read (buildcache.toml, pyproject's
[tool.buildcache], the environment over them), and its errors naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildcache.core.config.load import find_config, load_config, parse_config
from buildcache.errors import ConfigError

FULL = """\
images = ["ghcr.io/Acme/widget", "acme/widget"]
platforms = ["linux/amd64", "linux/arm64"]
context = "."
dockerfile = "docker/Dockerfile"
target = "runtime"
build-args = { PYTHON_VERSION = "3.12" }

[cache]
image = "ghcr.io/acme/widget"
tag-prefix = "buildcache-"
mode = "max"
options = { image-manifest = "true", oci-mediatypes = true }

[variants.slim]
default = true
build-args = { VARIANT = "slim" }

[variants.full]
build-args = { VARIANT = "full" }
platforms = ["linux/amd64"]
"""


def _parse(
    text: str, env: dict[str, str] | None = None, path: Path = Path("/repo/buildcache.toml")
):
    import tomllib

    return parse_config(tomllib.loads(text), env or {}, path=path, root=path.parent)


def test_a_full_config_is_read_with_paths_relative_to_the_file() -> None:
    config = _parse(FULL)
    assert tuple(map(str, config.images)) == ("ghcr.io/acme/widget", "docker.io/acme/widget")
    assert config.platforms == ("linux/amd64", "linux/arm64")
    assert config.context == Path("/repo")
    assert config.dockerfile == Path("/repo/docker/Dockerfile")
    assert config.target == "runtime"
    assert config.build_args == {"PYTHON_VERSION": "3.12"}
    assert config.cache.options == {"image-manifest": "true", "oci-mediatypes": "true"}
    assert [v.name for v in config.variants] == ["slim", "full"]
    assert config.default_variant.name == "slim"
    assert config.variants[1].platforms == ("linux/amd64",)
    assert str(config.cache_image) == "ghcr.io/acme/widget"


def test_defaults_one_variant_named_default() -> None:
    config = _parse('images = ["acme/widget"]')
    assert config.platforms == ("linux/amd64",)
    assert config.dockerfile == Path("/repo/Dockerfile")
    assert [(v.name, v.default) for v in config.variants] == [("default", True)]
    assert config.cache.mode == "max"
    assert config.cache.tag_prefix == "buildcache-"
    assert str(config.cache_image) == "docker.io/acme/widget"


def test_without_a_default_the_first_variant_listed_is_it() -> None:
    config = _parse('images = ["a/b"]\n[variants.zeta]\n[variants.alpha]\n')
    assert [(v.name, v.default) for v in config.variants] == [("zeta", True), ("alpha", False)]


def test_the_environment_is_above_the_file() -> None:
    env = {
        "BUILDCACHE_IMAGES": "ghcr.io/other/app, quay.io/other/app",
        "BUILDCACHE_PLATFORMS": "linux/arm64",
        "BUILDCACHE_CACHE_IMAGE": "ghcr.io/other/cache",
        "BUILDCACHE_VERSION": "9.9.9",
    }
    config = _parse(FULL, env)
    assert tuple(map(str, config.images)) == ("ghcr.io/other/app", "quay.io/other/app")
    assert config.platforms == ("linux/arm64",)
    assert str(config.cache_image) == "ghcr.io/other/cache"
    assert config.version == "9.9.9"
    assert config.sources["images"] == "env BUILDCACHE_IMAGES"
    assert config.sources["context"] == "file buildcache.toml"
    assert config.sources["target"] == "file buildcache.toml"
    assert _parse('images = ["a/b"]').sources["platforms"] == "default"


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (
            'images = ["a/b"]\nplatfroms = ["linux/amd64"]',
            "platfroms",
            "perhaps you meant 'platforms'",
        ),
        (
            'images = ["a/b"]\n[cache]\ntag_prefix = "x"',
            "cache.tag_prefix",
            "perhaps you meant 'cache.tag-prefix'",
        ),
        (
            'images = ["a/b"]\n[variants.slim]\nbuild_args = {}',
            "variants.slim.build_args",
            "perhaps you meant",
        ),
        ("platforms = []", "images", "is required"),
        ("images = []", "images", "at least one image"),
        ('images = ["a/b:1.0"]', "images", "without a tag or digest"),
        ('images = ["a/b", "A/B"]', "images", "same image twice"),
        ('images = ["index.docker.io/library/x", "x"]', "images", "same image twice"),
        ('images = ["a/b"]\n[tags]\nrules = ["type=bogus"]', "tags.rules", "unknown tag type"),
        ('images = ["a/b"]\n[tags]\nrules = ["type=ref"]', "tags.rules", "has no event"),
        ('images = ["a/b"]\n[tags]\nflavor = ["latest=maybe"]', "tags.flavor", "auto, true or"),
        (
            'images = ["a/b"]\n[tags]\nsemver = true\nrules = ["type=ref,event=tag"]',
            "tags.semver",
            "is a shorthand, and tags.rules/tags.flavor are given",
        ),
        ('images = ["registry-1.docker.io/a/b", "docker.io/a/b"]', "images", "same image twice"),
        ('images = ["a/b"]\nplatforms = ["linux/foo"]', "platforms", "knows no architecture 'foo'"),
        ('images = ["a/b"]\nplatforms = ["linux/amd64", "linux/x86_64"]', "platforms", "twice"),
        ('images = ["Not Valid!"]', "images", "not a valid image name"),
        ('images = ["a/b"]\nplatforms = ["amd64"]', "platforms", "is not a platform"),
        ('images = ["a/b"]\nbuild-args = { V = 3.10 }', "build-args.V", 'quote it: V = "3.1"'),
        ('images = ["a/b"]\n[cache]\nmode = "all"', "cache.mode", '"max" or "min"'),
        (
            'images = ["a/b"]\n[cache]\ntag-prefix = "-x"',
            "cache.tag-prefix",
            "cannot start a Docker tag",
        ),
        (
            'images = ["a/b"]\n[cache]\noptions = { ref = "x" }',
            "cache.options.ref",
            "set by buildcache",
        ),
        ('images = ["a/b"]\n[variants.Slim]\n', "variants.Slim", "not a valid variant name"),
        (
            'images = ["a/b"]\n[variants.a]\ndefault = true\n[variants.b]\ndefault = true',
            "variants",
            "only one variant",
        ),
        ('images = ["a/b"]\n[variants.a]\ndefault = "yes"', "variants.a.default", "true or false"),
        ('images = "a/b"\ncontext = 1', "context", "must be a string"),
    ],
)
def test_config_errors_name_the_file_and_the_key(text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(text)
    error = caught.value
    assert error.source == "/repo/buildcache.toml"
    assert error.key == key
    assert words in f"{error.message} {error.hint}"


def test_discovery_order_flag_then_buildcache_toml_then_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.buildcache]\nimages = ["from/pyproject"]\n')
    assert tuple(map(str, load_config(tmp_path, {}).images)) == ("docker.io/from/pyproject",)
    (tmp_path / "buildcache.toml").write_text('images = ["from/toml"]\n')
    assert tuple(map(str, load_config(tmp_path, {}).images)) == ("docker.io/from/toml",)
    other = tmp_path / "ci.toml"
    other.write_text('images = ["from/flag"]\n')
    assert tuple(map(str, load_config(tmp_path, {}, other).images)) == ("docker.io/from/flag",)


def test_pyproject_errors_name_the_tool_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.buildcache]\nimages = ["a/b"]\nimage = "x"\n')
    with pytest.raises(
        ConfigError, match=r"pyproject.toml: tool.buildcache.image: is not a known setting"
    ):
        load_config(tmp_path, {})


def test_a_pyproject_without_the_table_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(tmp_path) == (None, {})
    with pytest.raises(ConfigError, match="no config found"):
        load_config(tmp_path, {})
    # the environment alone is enough
    assert tuple(map(str, load_config(tmp_path, {"BUILDCACHE_IMAGES": "a/b"}).images)) == (
        "docker.io/a/b",
    )


def test_missing_explicit_file_and_bad_toml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path, {}, tmp_path / "nope.toml")
    (tmp_path / "buildcache.toml").write_text("images = [\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(tmp_path, {})


def test_an_uppercase_image_name_is_lowercased_with_a_note_and_the_hint_only_fits_tags() -> None:
    config = _parse('images = ["ghcr.io/Acme/Widget"]')
    assert str(config.images[0]) == "ghcr.io/acme/widget"
    assert config.notes == (
        "images: 'ghcr.io/Acme/Widget' is pushed as ghcr.io/acme/widget (lowercase)",
    )
    with pytest.raises(ConfigError) as caught:
        _parse('images = ["../x"]')
    assert caught.value.hint is None  # "buildcache makes the tags" belongs under a tag only


def test_the_config_is_found_upward_as_git_finds_dot_git_and_not_above_the_repository(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "src" / "pkg").mkdir(parents=True)
    (project / "buildcache.toml").write_text('images = ["acme/app"]\n')
    config = load_config(project / "src" / "pkg", {})
    assert config.path == project / "buildcache.toml"
    assert tuple(map(str, config.images)) == ("docker.io/acme/app",)
    # a subfolder's pyproject.toml without the table does not stop the search
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(project / "src" / "pkg")[0] == project / "buildcache.toml"
    # a config above the repository's root is another project's
    (project / "buildcache.toml").unlink()
    (tmp_path / "buildcache.toml").write_text('images = ["other/app"]\n')
    assert find_config(project / "src") == (None, {})
    with pytest.raises(ConfigError, match="and the folders above it"):
        load_config(project / "src", {})


def _buildcache_variables() -> list[str]:
    """Every BUILDCACHE_* variable the code or the docs name (a prefix alone made whole)."""
    import re

    from tests.conftest import ROOT

    texts = [p.read_text() for p in (ROOT / "buildcache").rglob("*.py")]
    texts += [p.read_text() for p in (ROOT / "docs").glob("*.md")]
    texts.append((ROOT / "README.md").read_text())
    names = {n for text in texts for n in re.findall(r"\bBUILDCACHE_[A-Z0-9_]*[A-Z0-9]\b", text)}
    return sorted(
        names | {"BUILDCACHE_LOGIN_GHCR_IO_USERNAME", "BUILDCACHE_LOGIN_GHCR_IO_PASSWORD"}
    )


@pytest.mark.parametrize("variable", _buildcache_variables())
def test_a_buildcache_variable_set_to_nothing_is_unset_never_an_internal_error(
    tmp_path: Path, variable: str
) -> None:
    """A CI's empty input reaches buildcache as `BUILDCACHE_CONTEXT=`: the config's value
    stands, as if the variable were not there (it was exit 4, an AttributeError)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    (tmp_path / "buildcache.toml").write_text(
        'images = ["ghcr.io/acme/widget"]\nplatforms = ["linux/amd64", "linux/arm64"]\n'
    )
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUILDCACHE_", "GITHUB_"))}
    env |= {"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), variable: ""}
    args = ["build", "--dry-run", "--offline", "--version", "1.0.0"]
    done = subprocess.run(
        [sys.executable, "-m", "buildcache", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, (variable, done.stderr)
    assert "Traceback" not in done.stderr
    assert '"linux/arm64"' in done.stdout  # the config's platforms, not an empty list's error
