from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildcache.cli.main import main
from tests.unit.commands.conftest import CONFIG


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "buildcache.toml").write_text(CONFIG)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nARG VARIANT\n")
    monkeypatch.chdir(tmp_path)
    for name in ("BUILDCACHE_VERSION", "BUILDCACHE_IMAGES", "GITHUB_REF_TYPE", "CI_COMMIT_TAG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_plan_json_is_exactly_one_object_on_stdout(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "plan", "--version", "1.0.0", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == "1.0.0"
    assert [v["name"] for v in data["variants"]] == ["slim", "full"]
    assert data["variants"][1]["tags"][0] == "ghcr.io/acme/widget:1.0.0-full"


def test_plan_for_people_goes_to_stderr_and_says_where_the_version_came_from(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDCACHE_VERSION", "7.0")
    code, out, err = run(capsys, "plan", "full", "--verbose")
    assert code == 0
    assert out == ""
    assert "version 7.0" in err
    assert "BUILDCACHE_VERSION" in err
    assert "ghcr.io/acme/widget:7.0-full" in err
    assert "slim" not in err.split("settings from")[0].replace("buildcache-slim", "")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["plan", "--version", "1", "fat"], "unknown variant 'fat'; the config has slim, full"),
        (["plan", "--version", "feature/x"], "not a valid Docker tag"),
        (["plan", "--bogus"], "No such option"),
        (["build", "--version", "1", "--progress", "fancy"], "'fancy' is not one of 'auto', 'tty'"),
        (["build", "--version", "1", "--load", "--push"], "--push and --load cannot be combined"),
        (["plan", "--config", "missing.toml", "--version", "1"], "does not exist"),
    ],
)
def test_usage_errors_exit_2_with_a_sentence(
    repo: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert words in err
    assert "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ('platforms = ["linux/foo"]', "BuildKit knows no architecture 'foo'"),
        ('platforms = ["linux/amd46"]', "did you mean 'amd64'?"),
        (
            'images = ["index.docker.io/library/x", "x"]',
            "'index.docker.io/library/x' and 'x' are both docker.io/library/x",
        ),
    ],
)
def test_what_needs_no_engine_is_refused_by_plan_offline(
    repo: Path, capsys: pytest.CaptureFixture[str], config: str, words: str
) -> None:
    key = config.split(" =")[0]
    lines = [line for line in CONFIG.splitlines() if not line.startswith(f"{key} =")]
    (repo / "buildcache.toml").write_text(f"{config}\n" + "\n".join(lines) + "\n")
    code, out, err = run(capsys, "plan", "--offline", "--version", "1")
    assert (code, out) == (2, "")
    assert words in err
    assert len(err.strip().splitlines()) == 1, err  # one line, however long


def test_no_version_is_a_usage_error_that_says_how_to_give_one(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "plan")
    assert code == 2
    assert "no version" in err
    assert "--version" in err


def test_a_config_error_names_the_file_and_key_and_suggests(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "buildcache.toml").write_text(CONFIG + "\n[cache]\nmdoe = 'max'\n")
    code, _, err = run(capsys, "plan", "--version", "1")
    assert code == 2
    assert "buildcache.toml: cache.mdoe: is not a known setting" in err
    assert "perhaps you meant 'cache.mode'?" in err


def test_dry_run_prints_the_bake_file_and_the_command_and_runs_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "build", "--push", "--version", "1", "--dry-run")
    assert code == 0
    bake_text = out.split("# the command\n")[0].split("\n", 1)[1]
    bake = json.loads(bake_text)
    assert list(bake["target"]) == ["slim", "full"]
    assert "docker buildx bake --file docker-bake.json --progress rawjson" in out


def test_no_docker_is_an_environment_error(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(repo))  # no docker on it
    code, _, err = run(capsys, "build", "--version", "1")
    assert code == 3
    assert "the docker command is not installed" in err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    commands = ("plan", "build", "login", "logout", "init", "doctor", "merge", "builder", "cache")
    for command in commands:
        assert f"  {command} " in out, command


def test_build_help_lists_the_choices_and_reads_as_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "build", "--help")
    assert code == 0
    assert "--cache <auto|rw|ro|off>" in out
    assert "--progress <auto|tty|plain|quiet>" in out
    assert "--min-cache-hit RATIO" in out
    assert "<str>" not in out
    assert "float range" not in out


def test_verbose_plan_names_the_file_for_every_key_set_in_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "buildcache.toml").write_text(CONFIG + '\n[cache]\nimage = "ghcr.io/acme/cache"\n')
    code, _, err = run(capsys, "plan", "--version", "1", "--verbose")
    assert code == 0
    lines = err.split("settings from", 1)[1].strip().splitlines()
    origins = {key: origin.strip() for key, origin in (line.split(None, 1) for line in lines)}
    assert origins["cache.image"] == "file buildcache.toml"
    assert origins["images"] == "file buildcache.toml"
    assert origins["variants.full.build-args"] == "file buildcache.toml"
    assert origins["cache.mode"] == "default"


def test_user_text_is_shown_as_text_never_as_markup(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "buildcache.toml").write_text(
        CONFIG.replace(
            'VARIANT = "full"', 'VARIANT = "full", SPEC = "/src[full] [bold red]x[/] :+1:"'
        )
    )
    (repo / "Dockerfile").write_text("FROM scratch\nARG VARIANT\nARG SPEC\n")
    code, _, err = run(capsys, "plan", "full", "--version", "1")
    assert code == 0, err
    assert "SPEC=/src[full] [bold red]x[/] :+1:" in err


def test_version_h_and_examples_speak_the_usual_language(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--version")
    assert (code, out.startswith("buildcache ")) == (0, True)
    code, out, _ = run(capsys, "build", "-h")
    assert code == 0
    assert "Examples:" in out
    assert "buildcache build --push --version 1.2.3" in out
    code, out, _ = run(capsys, "--help")
    assert "--install-completion" in out


def test_labels_and_annotations_from_the_command_line_go_over_the_config_s(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "plan",
        "--version",
        "1.0.0",
        "--offline",
        "--json",
        "--label",
        "org.example.team=web, and more",
        "--label",
        "org.opencontainers.image.vendor=Acme",
        "--annotation",
        "org.example.note=a=b",
    )
    assert code == 0, err
    variant = json.loads(out)["variants"][0]
    assert variant["labels"]["org.example.team"] == "web, and more"
    assert variant["labels"]["org.opencontainers.image.vendor"] == "Acme"
    # an OCI label is an annotation too, as the config's are; an annotation is not a label
    assert variant["annotations"]["org.opencontainers.image.vendor"] == "Acme"
    assert variant["annotations"]["org.example.note"] == "a=b"
    assert "org.example.note" not in variant["labels"]
    assert "org.example.team" not in variant["annotations"]


def test_a_label_that_is_not_key_value_is_one_sentence_and_exit_2(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "plan", "--offline", "--version", "1", "--label", "=oops")
    assert code == 2
    assert "--label '=oops' is not KEY=VALUE" in err


def test_the_environment_names_the_dockerfile_context_and_target(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "docker").mkdir()
    (repo / "docker" / "Dockerfile").write_text("FROM scratch AS runtime\nARG VARIANT\n")
    monkeypatch.setenv("BUILDCACHE_DOCKERFILE", "docker/Dockerfile")
    monkeypatch.setenv("BUILDCACHE_TARGET", "runtime")
    code, out, err = run(capsys, "plan", "--offline", "--version", "1", "--json")
    assert code == 0, err
    variant = json.loads(out)["variants"][0]
    assert variant["dockerfile"] == str(repo / "docker" / "Dockerfile")
    assert variant["target"] == "runtime"
