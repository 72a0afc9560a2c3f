from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from buildcache.cli.main import main
from buildcache.migrate.starter import image_names, suggested_image
from tests.unit.migrate.test_starter import MULTI_STAGE


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
    out, err = capsys.readouterr()
    assert "buildcache build --push" in out  # the make target and the CI step, to copy
    assert "buildcache build --push" not in err
    assert err.startswith("wrote ")
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
    out, err = capsys.readouterr()
    assert done.value.code == 0, err
    text = (tmp_path / "buildcache.toml").read_text()
    assert 'dockerfile = "docker/Dockerfile"' in text
    assert "\tbuildcache build --push\n" in out  # make wants a tab, not spaces
    assert "uses: OWNER/buildcache@v1" in out
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
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A variant-matrix project: init --from its workflow, then a release's plan has the
    workflow's tags and each variant's build arguments (the empty-default one included)."""
    tmp_path = here
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "image.yml").write_text(
        (Path(__file__).parents[1] / "migrate/data/workflows/variant-matrix.yml").read_text()
    )
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text(
        "FROM python:3.12-slim\nARG PYTHON_VERSION\nARG GIT_SHA\nARG CCC_VARIANT=slim\nARG CCC_INSTALL_SPEC=\n"
        'RUN pip install "${CCC_INSTALL_SPEC:-ccc}"\n'
    )
    _repository(tmp_path, "https://github.com/acme/ccc.git")

    with pytest.raises(SystemExit) as done:
        main(["init"])
    err = capsys.readouterr().err
    assert done.value.code == 0, err
    assert "note: read .github/workflows/image.yml, job image" in err
    assert "build-args: GIT_SHA" not in err  # `${{ github.sha }}`: the run's GITHUB_SHA

    monkeypatch.setenv("GITHUB_SHA", "4f6c0e1d")  # what a run has beside `${{ github.sha }}`
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
    assert plan["full"]["build_args"]["GIT_SHA"] == "4f6c0e1d"
    # the cache the workflow wrote is the one read: no cold release after the move
    assert plan["full"]["cache_from"] == [
        "type=registry,ref=ghcr.io/acme/ccc-cache:buildcache-full"
    ]


# A release workflow whose tags a shell step computes, moved over end to end: init and plan run
# as processes, as a new user runs them, and the tags each event gets are compared with what the
# workflow's own script gives when bash runs it.

WORKFLOWS = Path(__file__).parents[1] / "migrate" / "data" / "workflows"
RELEASE_DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /src
COPY . .
ARG CCC_INSTALL_SPEC=
# empty: the released package from the index; set: the checkout with its extras
RUN if [ -n "$CCC_INSTALL_SPEC" ]; then pip install "$CCC_INSTALL_SPEC"; else pip install ccc; fi
"""
MATRIX = {
    "slim": {"install_spec": "", "tag_suffix": ""},
    "full": {"install_spec": ".[all]", "tag_suffix": "-full"},
}
# each event as GitHub starts it: its variables, and what its expressions read
EVENTS = {
    "release": {
        "env": {"GITHUB_EVENT_NAME": "release", "GITHUB_REF": "refs/tags/v1.2.3",
                "GITHUB_REF_NAME": "v1.2.3", "GITHUB_REF_TYPE": "tag"},
        "payload": {"release": {"tag_name": "v1.2.3"}},
        "args": [],
    },
    "manual test run": {
        "env": {"GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_REF": "refs/heads/main",
                "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch"},
        "payload": {"inputs": {"test_docker": True}},
        "args": ["--version", "test", "--no-latest"],  # what the printed workflow passes
    },
    "push to main": {
        "env": {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main",
                "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch"},
        "payload": {},
        "args": [],
    },
}  # fmt: skip


def _expressions(event: dict, variant: str) -> dict[str, str]:
    """The values of the expressions the fixtures' tag steps hold, as GitHub gives them."""
    payload = event["payload"]
    return {
        "github.repository": "Acme/CCC",
        "github.event_name": event["env"]["GITHUB_EVENT_NAME"],
        "github.event.release.tag_name": payload.get("release", {}).get("tag_name", ""),
        "inputs.test_docker": "true" if payload.get("inputs", {}).get("test_docker") else "",
        "matrix.tag_suffix": MATRIX[variant]["tag_suffix"],
        "matrix.variant == 'full' && '-full' || ''": "-full" if variant == "full" else "",
    }


def _bash_tags(workflow: str, event: dict, variant: str, tmp_path: Path) -> set[str]:
    """The tags the workflow's own step writes, run by bash (every `${{ }}` filled by hand: an
    expression the table does not know fails the test)."""
    import re

    import yaml

    job = next(iter(j for j in yaml.safe_load(workflow)["jobs"].values() if "strategy" in j))
    step = next(s for s in job["steps"] if s.get("id") in ("meta", "tags"))
    values = _expressions(event, variant)

    def fill(text: str) -> str:
        return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: values[m.group(1)], text)

    output = tmp_path / f"output-{variant}"
    output.write_text("")
    env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output), **event["env"]}
    env |= {k: fill(str(v)) for k, v in yaml.safe_load(workflow).get("env", {}).items()}
    env |= {k: fill(str(v)) for k, v in step.get("env", {}).items()}
    subprocess.run(["bash", "-e", "-c", fill(step["run"])], env=env, check=True)
    text = output.read_text()
    multi = re.search(r"^tags<<(\w+)\n(.*?)\n\1$", text, re.S | re.M)
    tags = multi.group(2) if multi else re.search(r"^tags=(.*)$", text, re.M).group(1)
    return {t.strip() for t in re.split(r"[,\n]", tags) if t.strip()}


def _buildcache(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "BUILDCACHE_", "CI"))
    }
    return subprocess.run(
        [sys.executable, "-m", "buildcache", *args],
        cwd=cwd, env={**clean, **(env or {})}, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture
def release_project(tmp_path: Path) -> Path:
    """A Python tool's checkout: its Dockerfile, in a git repository on GitHub."""
    project = tmp_path / "ccc"
    project.mkdir()
    (project / "Dockerfile").write_text(RELEASE_DOCKERFILE)
    (project / "src").mkdir()
    (project / "src" / "ccc.py").write_text("print('ccc')\n")
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "remote", "add", "origin", "https://github.com/Acme/CCC.git"],
        ["git", "add", "."],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "ccc"],
    ):
        subprocess.run(command, cwd=project, check=True)
    return project


@pytest.mark.parametrize("fixture", ["release-shell-tags.yml", "release-heredoc-tags.yml"])
@pytest.mark.parametrize("image_flag", [False, True], ids=["from the workflow", "--image"])
def test_init_from_a_release_workflow_with_shell_tags_gives_each_event_the_workflow_s_tags(
    release_project: Path, tmp_path: Path, fixture: str, image_flag: bool
) -> None:
    workflow = (WORKFLOWS / fixture).read_text()
    (release_project / ".github" / "workflows").mkdir(parents=True)
    (release_project / ".github" / "workflows" / "release.yml").write_text(workflow)
    images = ["--image", "ghcr.io/acme/ccc", "--image", "docker.io/acme/ccc"] if image_flag else []
    if image_flag and "heredoc" in fixture:
        images = ["--image", "ghcr.io/acme/ccc"]

    done = _buildcache(release_project, "init", "--from", ".github/workflows/release.yml", *images)
    assert done.returncode == 0, done.stderr
    # what to copy on stdout; what init says on stderr, the workflow it read named first
    assert "note: read .github/workflows/release.yml, job " in done.stderr
    assert "note: guessed: tags: a release v1.2.3 was tagged 1.2.3" in done.stderr
    assert "note: guessed: tags: a manual run with test_docker was tagged test" in done.stderr
    assert "Traceback" not in done.stderr
    written = (release_project / ".github" / "workflows" / "release.yml").read_text()
    # the workflow edited in place: its triggers and the other jobs as they were
    assert written.split("\njobs:")[0] == workflow.split("\njobs:")[0]
    assert "--- a/.github/workflows/release.yml\n+++ b/.github/workflows/release.yml" in done.stdout
    rewritten = yaml_of(written)
    job = next(
        j
        for j in rewritten["jobs"].values()
        if any("buildcache" in s.get("uses", "") for s in j["steps"])
    )
    step = next(s for s in job["steps"] if "buildcache" in s.get("uses", ""))
    assert "'test'" in step["with"]["version"]
    assert "--no-latest" in step["with"]["args"]
    assert not any("build-push-action" in s.get("uses", "") for s in job["steps"])
    if fixture == "release-shell-tags.yml":  # the one that logs in to Docker Hub
        # its login steps stay, secrets as they were; the action logs in no more
        assert "password: ${{ secrets.DOCKERHUB_TOKEN }}" in written
        assert step["with"]["login"] == "false"
    check = [sys.executable, "-m", "check_jsonschema", "--builtin-schema"]
    checked = subprocess.run(
        [*check, "vendor.github-workflows", str(release_project / ".github/workflows/release.yml")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr

    for name, event in EVENTS.items():
        payload = tmp_path / "event.json"
        payload.write_text(
            json.dumps({**event["payload"], "repository": {"default_branch": "main"}})
        )
        env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "Acme/CCC",
               "GITHUB_EVENT_PATH": str(payload), **event["env"]}  # fmt: skip
        planned = _buildcache(
            release_project, "plan", "--offline", "--json", *event["args"], env=env
        )
        assert planned.returncode == 0, f"{name}: {planned.stderr}"
        data = json.loads(planned.stdout)
        variants = {v["name"]: v for v in data["variants"]}
        assert set(variants) == {"slim", "full"}
        # a release is published once under its own version (the series only moves forward);
        # a manual test image is no release: it moves with every run
        release = name == "release"
        assert (data["version"] == "1.2.3") is release, f"{name}: {data['version']}"
        assert bool(variants["slim"]["release_tags"]) is release, name
        for variant, planned_variant in variants.items():
            expected = _bash_tags(workflow, event, variant, tmp_path)
            assert set(planned_variant["tags"]) == expected, f"{name}, {variant}"
            assert (
                planned_variant["build_args"]["CCC_INSTALL_SPEC"] == MATRIX[variant]["install_spec"]
            )


def yaml_of(text: str) -> dict:
    import yaml

    loaded = yaml.safe_load(text)
    return {("on" if k is True else k): v for k, v in loaded.items()}


def test_init_in_a_subfolder_writes_at_the_root_and_says_the_empty_argument_changes_the_image(
    release_project: Path,
) -> None:
    """Plain init (no workflow): the Dockerfile's empty CCC_INSTALL_SPEC, which a RUN tests, is
    said; a subfolder's init writes where every command finds it, and plan runs from there."""
    subfolder = release_project / "src"
    done = _buildcache(subfolder, "init", "--image", "ghcr.io/acme/ccc")
    assert done.returncode == 0, done.stderr
    assert not (subfolder / "buildcache.toml").exists()
    assert (release_project / "buildcache.toml").is_file()
    assert "note: writing at the repository's root" in done.stderr
    assert "note: CCC_INSTALL_SPEC: its default is empty and a RUN tests it" in done.stderr
    assert "# note: CCC_INSTALL_SPEC" in (release_project / "buildcache.toml").read_text()

    planned = _buildcache(subfolder, "plan", "--offline", "--json", "--version", "1.0.0")
    assert planned.returncode == 0, planned.stderr
    (variant,) = json.loads(planned.stdout)["variants"]
    assert variant["dockerfile"].endswith("Dockerfile")
    assert "ghcr.io/acme/ccc:1.0.0" in variant["tags"]


def test_init_from_a_workflow_that_names_no_image_needs_one_and_takes_the_flag(
    release_project: Path,
) -> None:
    workflow = (WORKFLOWS / "release-heredoc-tags.yml").read_text()
    workflow = workflow.replace("IMAGE: ghcr.io/acme/ccc", "IMAGE: ${{ vars.IMAGE }}")
    (release_project / "image.yml").write_text(workflow)
    done = _buildcache(release_project, "init", "--from", "image.yml")
    assert done.returncode == 2
    assert done.stderr.startswith("error: image.yml: the workflow names no image init can read")
    assert "--image" in done.stderr
    assert "Traceback" not in done.stderr
    done = _buildcache(release_project, "init", "--from", "image.yml", "--image", "ghcr.io/a/b")
    assert done.returncode == 0, done.stderr


def test_the_five_job_release_keeps_its_jobs_and_gate_and_a_dispatch_from_a_branch_tags_test(
    release_project: Path, tmp_path: Path
) -> None:
    """The real project's release (build, TestPyPI, PyPI, GitHub release, Docker behind a
    `test_docker` gate in `environment: docker-hub`): init edits it in place; a manual run from
    a branch with test_docker builds `test` and `test-full`, as the workflow's own script tags
    it (run by bash); a manual run for PyPI only starts no Docker job, so pushes no image."""
    from buildcache.migrate.expressions import as_text, evaluate, render

    original = (WORKFLOWS / "release-five-jobs.yml").read_text()
    path = release_project / ".github" / "workflows" / "release.yml"
    path.parent.mkdir(parents=True)
    path.write_text(original)

    dry = _buildcache(
        release_project, "init", "--from", ".github/workflows/release.yml", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert path.read_text() == original
    assert not (release_project / "buildcache.toml").exists()
    assert "-      - name: Compute tags\n" in dry.stdout

    done = _buildcache(release_project, "init", "--from", ".github/workflows/release.yml")
    assert done.returncode == 0, done.stderr
    written = path.read_text()
    assert done.stdout.startswith("--- a/.github/workflows/release.yml\n")
    rewritten, before = yaml_of(written), yaml_of(original)
    for job in ("build", "test-pypi", "pypi", "github-release"):
        assert rewritten["jobs"][job] == before["jobs"][job]
    docker = rewritten["jobs"]["docker"]
    for key in ("if", "environment", "needs", "permissions", "timeout-minutes"):
        assert docker[key] == before["jobs"]["docker"][key]
    step = next(s for s in docker["steps"] if "buildcache" in s.get("uses", ""))

    def dispatch(test_docker: bool) -> dict[str, str]:
        return {
            "github.event_name": "workflow_dispatch",
            "inputs.test_docker": str(test_docker).lower(),
        }

    # a PyPI-only dispatch: the Docker job does not start, before or after
    assert evaluate(docker["if"], dispatch(False)) is False
    # a test dispatch from a branch: the step's version and args, as GitHub fills them in
    assert evaluate(docker["if"], dispatch(True)) is True
    version = render(step["with"]["version"], dispatch(True))
    args = render(step["with"]["args"], dispatch(True)).split()
    assert (version, args) == ("test", ["--keep-going", "--no-latest"])
    assert as_text(evaluate("github.event_name == 'release' && 'x' || ''", dispatch(True))) == ""

    event = {
        "env": {"GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_REF": "refs/heads/feature",
                "GITHUB_REF_NAME": "feature", "GITHUB_REF_TYPE": "branch"},
        "payload": {"inputs": {"test_docker": True}},
    }  # fmt: skip
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({**event["payload"], "repository": {"default_branch": "main"}}))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "Acme/CCC",
           "GITHUB_EVENT_PATH": str(payload), **event["env"]}  # fmt: skip
    plan_args = ["--version", version, *(a for a in args if a != "--keep-going")]
    planned = _buildcache(release_project, "plan", "--offline", "--json", *plan_args, env=env)
    assert planned.returncode == 0, planned.stderr
    variants = {v["name"]: v for v in json.loads(planned.stdout)["variants"]}
    for variant in ("slim", "full"):
        assert set(variants[variant]["tags"]) == _bash_tags(original, event, variant, tmp_path)
    assert "docker.io/acme/ccc:test-full" in variants["full"]["tags"]


def test_init_says_each_event_whose_tags_differ_and_exits_1(release_project: Path) -> None:
    """A release tag no rule makes (`stable`): init writes what it can, names the event and both
    sides' tags, and does not exit 0."""
    workflow = (WORKFLOWS / "release-shell-tags.yml").read_text()
    workflow = workflow.replace(
        'TAGS="$VERSION $MINOR latest"', 'TAGS="$VERSION $MINOR latest stable"'
    )
    path = release_project / ".github" / "workflows" / "release.yml"
    path.parent.mkdir(parents=True)
    path.write_text(workflow)
    done = _buildcache(release_project, "init", "--from", ".github/workflows/release.yml")
    assert done.returncode == 1, done.stderr
    assert "note: differs: a release v1.2.3: slim: the workflow " in done.stderr
    assert "ghcr.io/acme/ccc:stable" in done.stderr
    assert "error: the config plans other tags than the workflow for 1 of 4 events" in done.stderr
    assert "the same tags as the workflow: a push to main, a manual run" in done.stderr
    assert (release_project / "buildcache.toml").is_file()
