"""core/plan/metadata.py: the OCI labels and annotations a run gives its images."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

from buildcache.ci.providers import repository
from buildcache.core.config.load import parse_config
from buildcache.core.plan.metadata import (
    OCI,
    created_at,
    csv_field,
    project_fields,
    repository_url,
    run_time,
    variant_metadata,
)

NOW = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)


def test_the_repository_url_comes_from_the_ci_or_the_remote_without_credentials() -> None:
    github = {"GITHUB_REPOSITORY": "acme/widget", "GITHUB_SERVER_URL": "https://ghe.acme.io"}
    assert repository_url(repository(github), None).value == "https://ghe.acme.io/acme/widget"  # type: ignore[union-attr]
    gitlab = {"CI_PROJECT_URL": "https://gitlab.com/acme/widget"}
    assert repository_url(repository(gitlab), "x").value == "https://gitlab.com/acme/widget"  # type: ignore[union-attr]
    for remote in (
        "https://user:s3cret@github.com/acme/widget.git",
        "git@github.com:acme/widget.git",
        "ssh://git@github.com:22/acme/widget",
    ):
        found = repository_url(None, remote)
        assert found is not None
        assert found.value == "https://github.com/acme/widget", remote
        assert found.origin == "git remote origin"
    assert repository_url(None, None) is None
    assert repository_url(None, "/srv/git/widget") is None


def test_created_is_one_time_per_run_or_source_date_epoch() -> None:
    assert created_at(None, NOW).value == "2026-11-28T12:30:00Z"
    assert created_at("1700000000", NOW).value == "2023-11-14T22:13:20Z"


def test_project_fields_read_pyproject() -> None:
    fields = project_fields(
        {
            "name": "widget",
            "description": "A widget,\n  with commas",
            "license": {"text": "Apache-2.0"},
            "urls": {"Repository": "https://github.com/acme/widget"},
        }
    )
    assert {k: v.value for k, v in fields.items()} == {
        "title": "widget",
        "description": "A widget, with commas",
        "licenses": "Apache-2.0",
        "url": "https://github.com/acme/widget",
    }
    assert project_fields({"license": {"text": "a long\nlicense text"}}) == {}


def test_the_config_adds_and_overrides_and_a_variant_over_that(tmp_path: Path) -> None:
    config = parse_config(
        tomllib.loads(
            'images = ["ghcr.io/acme/widget"]\n'
            '[labels]\n"org.opencontainers.image.title" = "Widget"\n'
            '[annotations]\n"com.acme.tier" = "gold"\n'
            '[variants.slim]\nlabels = { "com.acme.size" = "s" }\n'
            '[variants.full]\nannotations = { "com.acme.tier" = "platinum, of course" }\n'
        ),
        {},
        path=tmp_path / "buildcache.toml",
        root=tmp_path,
        project={"name": "widget", "license": "MIT"},
    )
    found = variant_metadata(
        config, repository=None, remote=None, sha="abc123", version="1.2.3", now=NOW
    )
    slim_labels, slim_annotations = found["slim"]
    assert slim_labels[OCI + "title"].value == "Widget"  # [labels] over [project]
    assert slim_labels[OCI + "title"].origin == "[labels]"
    assert slim_labels[OCI + "licenses"].value == "MIT"
    assert slim_labels[OCI + "revision"].value == "abc123"
    assert slim_labels["com.acme.size"].value == "s"
    assert "com.acme.size" not in found["full"][0]
    assert slim_annotations["com.acme.tier"].value == "gold"
    assert found["full"][1]["com.acme.tier"].value == "platinum, of course"
    # one created time for every variant
    assert slim_labels[OCI + "created"] == found["full"][0][OCI + "created"]
    # each image says which variant it was built as (merge checks it); a label, no annotation
    assert slim_labels["dev.buildcache.variant"].value == "slim"
    assert found["full"][0]["dev.buildcache.variant"].value == "full"
    assert "dev.buildcache.variant" not in slim_annotations


def test_csv_fields_are_quoted_as_buildx_reads_them() -> None:
    assert csv_field("a=b") == "a=b"
    assert csv_field('a=x, "y"') == '"a=x, ""y"""'


def test_a_ci_run_gets_metadata_action_s_title_and_url_from_the_repository() -> None:
    from buildcache.core.plan.metadata import oci_labels

    github = {"GITHUB_REPOSITORY": "acme/widget", "GITHUB_SERVER_URL": "https://github.com"}
    common = {"remote": None, "sha": "a" * 40, "version": "1", "now": NOW, "epoch": None}
    labels = oci_labels(repository=repository(github), project={}, extra={}, **common)
    assert labels[OCI + "title"].value == "widget"
    assert (
        labels[OCI + "url"].value
        == labels[OCI + "source"].value
        == "https://github.com/acme/widget"
    )
    # pyproject.toml's own name and URL win
    project = {"name": "widget-cli", "urls": {"Homepage": "https://widget.example"}}
    labels = oci_labels(repository=repository(github), project=project, extra={}, **common)
    assert (labels[OCI + "title"].value, labels[OCI + "url"].value) == (
        "widget-cli",
        "https://widget.example",
    )


def test_the_run_s_time_is_source_date_epoch_where_it_is_set() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    assert run_time({"SOURCE_DATE_EPOCH": "1578616200"}, now) == datetime(
        2020, 1, 10, 0, 30, tzinfo=UTC
    )
    assert run_time({"SOURCE_DATE_EPOCH": "soon"}, now) == now
    assert run_time({}, now) == now
