from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from buildcache.cli.main import main
from buildcache.core.init import image_names, suggested_image
from tests.unit.core.test_init import MULTI_STAGE


def _repository(path: Path, remote: str) -> None:
    """A git repository whose origin is `remote`, as a checkout is."""
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    subprocess.run(["git", "remote", "add", "origin", remote], cwd=path, check=True)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as the working directory, no terminal, no CI's repository facts."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    for name in ("GITHUB_REPOSITORY", "CI_PROJECT_URL", "GITHUB_ACTIONS", "BUILDCACHE_VERSION"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_init_writes_refuses_to_overwrite_and_needs_images(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path = here
    (tmp_path / "Dockerfile").write_text(MULTI_STAGE)

    def run(*args: str) -> int:
        with pytest.raises(SystemExit) as done:
            main(["init", *args])
        return int(done.value.code or 0)

    assert run() == 2
    assert "--image" in capsys.readouterr().err
    assert run("--image", "ghcr.io/acme/widget") == 0
    err = capsys.readouterr().err
    assert "buildcache build --push" in err  # the make target and the CI step
    assert (tmp_path / "buildcache.toml").read_text().startswith("# buildcache")
    assert run("--image", "ghcr.io/acme/other") == 2
    assert "already exists" in capsys.readouterr().err
    assert run("--image", "ghcr.io/acme/other", "--force") == 0
    assert "acme/other" in (tmp_path / "buildcache.toml").read_text()


def test_init_finds_the_dockerfile_under_docker_and_prints_make_targets_with_tabs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text(
        'FROM python:3.12-slim\nARG APP_VARIANT=slim\nRUN [ "$APP_VARIANT" = "full" ] && echo x\n'
    )
    with pytest.raises(SystemExit) as done:
        main(["init", "--image", "acme/app", "--image", "ghcr.io/acme/app"])
    err = capsys.readouterr().err
    assert done.value.code == 0, err
    text = (tmp_path / "buildcache.toml").read_text()
    assert 'dockerfile = "docker/Dockerfile"' in text
    assert "\tbuildcache build --push\n" in err  # make wants a tab, not spaces
    assert "uses: OWNER/buildcache@v1" in err
    with pytest.raises(SystemExit) as done:
        main(["plan", "--version", "1", "--json"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert '"full"' in out


def test_init_with_several_dockerfiles_and_no_terminal_asks_for_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    for folder in ("api", "worker"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(SystemExit) as done:
        main(["init", "--image", "acme/app"])
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert "found several Dockerfiles (api/Dockerfile, worker/Dockerfile)" in err
    assert "--dockerfile" in err


def test_init_without_a_terminal_publishes_to_the_forge_s_registry_and_says_so(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path = here
    (tmp_path / "Dockerfile").write_text(MULTI_STAGE)
    _repository(tmp_path, "https://github.com/Acme/Widget.git")
    with pytest.raises(SystemExit) as done:
        main(["init"])
    err = capsys.readouterr().err
    assert done.value.code == 0, err
    assert "note: no --image: publishing to ghcr.io/acme/widget" in err
    assert '"ghcr.io/acme/widget"' in (tmp_path / "buildcache.toml").read_text()


@pytest.mark.parametrize(
    ("url", "image"),
    [
        ("https://github.com/Acme/Widget", "ghcr.io/acme/widget"),
        ("https://gitlab.com/group/sub/proj", "registry.gitlab.com/group/sub/proj"),
        ("https://git.example.com/a/b", None),
        (None, None),
    ],
)
def test_a_forge_s_own_registry_is_suggested(url: str | None, image: str | None) -> None:
    assert suggested_image(url) == image


def test_typed_image_names_may_be_separated_by_commas_or_spaces() -> None:
    assert image_names("ghcr.io/a/w acme/w, quay.io/a/w") == [
        "ghcr.io/a/w",
        "acme/w",
        "quay.io/a/w",
    ]


def test_init_reads_the_workflow_it_finds_and_plan_gives_its_tags_and_build_args(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A variant-matrix project: init --from its workflow, then a release's plan has the
    workflow's tags and each variant's build arguments (the empty-default one included)."""
    tmp_path = here
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "image.yml").write_text(
        (Path(__file__).parents[1] / "core/data/workflows/variant-matrix.yml").read_text()
    )
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text(
        "FROM python:3.12-slim\nARG PYTHON_VERSION\nARG CCC_VARIANT=slim\nARG CCC_INSTALL_SPEC=\n"
        'RUN pip install "${CCC_INSTALL_SPEC:-ccc}"\n'
    )
    _repository(tmp_path, "https://github.com/acme/ccc.git")

    with pytest.raises(SystemExit) as done:
        main(["init"])
    err = capsys.readouterr().err
    assert done.value.code == 0, err
    assert "note: read .github/workflows/image.yml, job image" in err
    assert "not carried over: build-args: GIT_SHA" in err

    with pytest.raises(SystemExit) as done:
        main(["plan", "--version", "1.2.3", "--json", "--offline"])
    out, err = capsys.readouterr()
    assert done.value.code == 0, err
    plan = {v["name"]: v for v in json.loads(out)["variants"]}
    assert plan["slim"]["tags"] == [
        f"{image}:{tag}"
        for tag in ("1.2.3", "1.2", "latest")
        for image in ("ghcr.io/acme/ccc", "docker.io/acme/ccc")
    ]
    # the workflow's own tags, latest-full included (its flavor's suffix with onlatest)
    assert [t.split(":")[1] for t in plan["full"]["tags"]][::2] == [
        "1.2.3-full",
        "1.2-full",
        "latest-full",
    ]
    assert plan["slim"]["build_args"]["CCC_INSTALL_SPEC"] == "/ccc-src"
    assert plan["full"]["build_args"]["CCC_INSTALL_SPEC"] == "/ccc-src[full]"
    assert plan["full"]["build_args"]["CCC_VARIANT"] == "full"
    # the cache the workflow wrote is the one read: no cold release after the move
    assert plan["full"]["cache_from"] == [
        "type=registry,ref=ghcr.io/acme/ccc-cache:buildcache-full"
    ]
