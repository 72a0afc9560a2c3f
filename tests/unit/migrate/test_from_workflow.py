"""migrate/from_workflow.py: a config from a workflow that builds with build-push-action."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from buildcache.errors import UsageError
from buildcache.migrate.from_workflow import migrate

WORKFLOWS = Path(__file__).parent / "data" / "workflows"


def _workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def test_a_variant_matrix_becomes_variants_with_their_build_args_tags_and_cache() -> None:
    migration = migrate(_workflow("variant-matrix.yml"), repository="Acme/CCC")
    config = migration.config
    assert migration.job == "image"
    assert config["images"] == ["ghcr.io/acme/ccc", "acme/ccc"]
    assert config["platforms"] == ["linux/amd64", "linux/arm64"]
    assert config["dockerfile"] == "docker/Dockerfile"
    # a run's own variable: read at build time, as the expression gave it
    assert config["build-args"] == {"PYTHON_VERSION": "3.12", "GIT_SHA": {"env": "GITHUB_SHA"}}
    assert config["variants"] == {
        "slim": {
            "default": True,
            "build-args": {"CCC_VARIANT": "slim", "CCC_INSTALL_SPEC": "/ccc-src"},
        },
        "full": {
            "build-args": {"CCC_VARIANT": "full", "CCC_INSTALL_SPEC": "/ccc-src[full]"},
            # the workflow's flavor suffix with onlatest: its moving tag is latest-full
            "latest-tag": "latest-full",
        },
    }
    assert config["tags"] == {
        "rules": [
            "type=ref,event=branch",
            "type=ref,event=pr",
            "type=semver,pattern={{version}}",
            "type=semver,pattern={{major}}.{{minor}}",
        ],
        "flavor": ["latest=auto"],
    }
    # the cache the workflow has, kept: same image, same tags
    assert config["cache"] == {
        "image": "ghcr.io/acme/ccc-cache",
        "mode": "max",
        "tag-prefix": "buildcache-",
    }
    assert config["attest"] == {"provenance": "max"}
    notes = "\n".join(migration.notes)
    assert "GIT_SHA" not in notes
    assert "suffix=" not in notes  # the per-variant suffix is buildcache's own: carried
    assert "'pypi'" in notes  # a secret to declare
    assert "logins" not in notes  # the login steps stay in the workflow: nothing to carry


def test_a_workflow_without_build_push_action_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no job of the workflow builds"):
        migrate({"jobs": {"x": {"steps": [{"run": "make"}]}}})


def test_a_matrix_of_lists_and_a_gha_cache() -> None:
    workflow = {
        "jobs": {
            "build": {
                "strategy": {"matrix": {"flavor": ["cpu", "gpu"], "python": ["3.12"]}},
                "steps": [
                    {
                        "uses": "docker/build-push-action@v6",
                        "with": {
                            "build-args": "FLAVOR=${{ matrix.flavor }}\nPY=${{ matrix.python }}",
                            "tags": "ghcr.io/acme/x:latest",
                            "cache-to": "type=gha,mode=max",
                        },
                    }
                ],
            }
        }
    }
    migration = migrate(workflow)
    assert migration.config["images"] == ["ghcr.io/acme/x"]
    assert migration.config["build-args"] == {"PY": "3.12"}
    assert list(migration.config["variants"]) == ["cpu", "gpu"]
    assert any("type=gha is not carried over" in n for n in migration.notes)


def test_a_target_per_variant_and_literal_labels_are_carried_over() -> None:
    workflow = yaml.safe_load(
        """
jobs:
  image:
    strategy:
      matrix:
        variant: [slim, full]
    steps:
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: ghcr.io/acme/widget
      - uses: docker/build-push-action@v6
        with:
          target: ${{ matrix.variant }}
          labels: |
            ${{ steps.meta.outputs.labels }}
            org.example.team=web
            org.example.run=${{ github.run_id }}
"""
    )
    migration = migrate(workflow)
    assert migration.config["variants"] == {
        "slim": {"default": True, "target": "slim"},
        "full": {"target": "full"},
    }
    assert migration.config["labels"] == {"org.example.team": "web"}
    # metadata-action's labels are buildcache's own; another expression is said
    assert [n for n in migration.notes if n.startswith("labels:")] == [
        "labels: 'org.example.run=${{ github.run_id }}' holds an expression; left out"
    ]


def test_one_target_for_every_variant_is_the_config_s() -> None:
    workflow = {
        "jobs": {
            "image": {
                "steps": [
                    {
                        "uses": "docker/build-push-action@v6",
                        "with": {"target": "runtime", "tags": "acme/w:1"},
                    }
                ]
            }
        }
    }
    assert migrate(workflow).config["target"] == "runtime"


def test_a_release_workflow_whose_shell_step_computes_the_tags_is_migrated() -> None:
    migration = migrate(_workflow("release-shell-tags.yml"), repository="Acme/CCC")
    config = migration.config
    assert migration.job == "docker"
    assert config["images"] == ["ghcr.io/acme/ccc", "docker.io/acme/ccc"]
    assert config["platforms"] == ["linux/amd64", "linux/arm64"]
    assert config["variants"] == {
        "slim": {"default": True, "build-args": {"CCC_INSTALL_SPEC": ""}},
        "full": {"build-args": {"CCC_INSTALL_SPEC": ".[all]"}, "latest-tag": "latest-full"},
    }
    assert config["tags"] == {
        "rules": [
            "type=match,pattern=^v?(.*)$,group=1,priority=901",
            "type=semver,pattern={{major}}.{{minor}}",
            "type=edge,branch=main",
            "type=match,pattern=^test$",
        ],
        "flavor": ["latest=auto"],
    }
    assert [(m.input, m.version) for m in migration.manual] == [("test_docker", "test")]
    assert list(migration.triggers) == ["release", "push", "workflow_dispatch"]
    assert migration.push == "${{ github.event_name != 'workflow_dispatch' || inputs.test_docker }}"
    assert len(migration.guesses) == 5


def test_the_images_given_are_taken_before_the_workflow_is_asked_for_any() -> None:
    workflow = _workflow("release-heredoc-tags.yml")
    workflow["env"]["IMAGE"] = "${{ vars.IMAGE }}"  # a name init cannot know
    with pytest.raises(UsageError, match="names no image init can read"):
        migrate(workflow)
    migration = migrate(workflow, images=["ghcr.io/acme/ccc"])
    assert migration.config["images"] == ["ghcr.io/acme/ccc"]
    assert (
        migration.config["tags"]["rules"][0] == "type=match,pattern=^v?(.*)$,group=1,priority=901"
    )


SHAPES = """
env:
  REGISTRY: ghcr.io
  IMAGE_NAME: ${{ github.repository }}
jobs:
  image:
    runs-on: ubuntu-latest
    env:
      BASE: python:3.12
    strategy:
      matrix:
        flavor: [alpine, debian]
        arch: [amd64, arm64]
        exclude:
          - flavor: alpine
            arch: arm64
    steps:
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: ${{ env.REGISTRY }}/${{ env.IMAGE_NAME }}
          tags: |
            # the branch, then the release
            type=ref,event=branch
            type=semver,pattern={{version}}
      - uses: docker/build-push-action@v6
        with:
          file: Dockerfile.${{ matrix.flavor }}
          target: ${{ matrix.flavor == 'alpine' && 'small' || 'full' }}
          platforms: linux/${{ matrix.arch }}
          build-args: |
            BASE=${{ env.BASE }}
            TOKEN=${{ secrets.TOKEN }}
          tags: ${{ steps.meta.outputs.tags }}
"""


def test_env_github_repository_and_expressions_are_read_and_comment_lines_are_not_rules() -> None:
    migration = migrate(yaml.safe_load(SHAPES), repository="Acme/Widget")
    config = migration.config
    # env at workflow level, itself from github.repository (lowercased as a reference must be)
    assert config["images"] == ["ghcr.io/acme/widget"]
    # metadata-action reads `#` lines as comments
    assert config["tags"]["rules"] == ["type=ref,event=branch", "type=semver,pattern={{version}}"]
    # the job's env in a build argument; a secret is said, never read
    assert config["build-args"] == {"BASE": "python:3.12"}
    assert any("TOKEN" in note for note in migration.notes)
    # an expression of the matrix, evaluated per variant
    assert config["variants"]["alpine"]["target"] == "small"
    assert config["variants"]["debian"]["target"] == "full"
    # the Dockerfile and the platforms of each variant: a matrix over the architecture builds
    # one image of them all (alpine's arm64 is excluded)
    assert config["variants"]["alpine"]["dockerfile"] == "Dockerfile.alpine"
    assert config["variants"]["debian"]["dockerfile"] == "Dockerfile.debian"
    assert config["variants"]["alpine"]["platforms"] == ["linux/amd64"]
    assert config["variants"]["debian"]["platforms"] == ["linux/amd64", "linux/arm64"]
    assert "dockerfile" not in config


def test_a_matrix_s_exclude_is_applied_before_its_include() -> None:
    from buildcache.migrate.from_workflow import _matrix

    matrix = yaml.safe_load(SHAPES)["jobs"]["image"]["strategy"]["matrix"]
    assert list(_matrix(matrix)) == [
        {"flavor": "alpine", "arch": "amd64"},
        {"flavor": "debian", "arch": "amd64"},
        {"flavor": "debian", "arch": "arm64"},
    ]


SEVERAL_BUILDS = """
on: {push: {tags: ["v*"]}}
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: ghcr.io/acme/app
          tags: type=semver,pattern={{version}}
      - name: Build
        uses: docker/build-push-action@v6
        with:
          tags: ${{ steps.meta.outputs.tags }}
          build-args: MODE=root
      - name: Build rootless
        uses: docker/build-push-action@v6
        with:
          file: Dockerfile.rootless
          tags: ${{ steps.meta.outputs.tags }}
          build-args: |
            MODE=user
            UID=1000
      - name: Push to Docker Hub too
        uses: docker/build-push-action@v6
        with:
          tags: acme/app:latest
          build-args: MODE=root
"""


def test_each_build_step_of_a_job_is_a_variant_and_steps_of_one_image_are_one() -> None:
    migration = migrate(yaml.safe_load(SEVERAL_BUILDS), repository="Acme/App")
    variants = migration.config["variants"]
    # the Dockerfile's suffix names the second; the Docker Hub step builds the first's image
    assert list(variants) == ["default", "rootless"]
    assert variants["rootless"]["dockerfile"] == "Dockerfile.rootless"
    assert "dockerfile" not in variants["default"]
    assert variants["default"]["build-args"] == {"MODE": "root"}
    assert variants["rootless"]["build-args"] == {"MODE": "user", "UID": "1000"}
    # every build step is replaced by buildcache's one, which builds them all; the Docker Hub
    # step's image is one more image
    assert migration.replaced == (0, 1, 2, 3)
    assert migration.variant_of_matrix_job is None
    assert migration.config["images"] == ["ghcr.io/acme/app", "acme/app"]


CALLER = """
on:
  release:
    types: [published]
jobs:
  tests:
    uses: ./.github/workflows/tests.yml
  images:
    uses: Acme/App/.github/workflows/build.yml@main
    with:
      tag: ${{ github.event.release.tag_name }}
      extra: |
        acme/app:latest
        ghcr.io/${{ github.repository }}:latest
"""
CALLED = """
on:
  workflow_call:
    inputs:
      tag: {type: string, required: true}
      extra: {type: string}
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: depot/build-push-action@v1
        with:
          push: true
          tags: |
            acme/app:${{ inputs.tag }}
            ${{ inputs.extra }}
"""


def test_a_reusable_workflow_is_read_through_its_caller_s_with_and_triggers() -> None:
    from buildcache.migrate.from_workflow import called_workflows

    calls = called_workflows(yaml.safe_load(CALLER), "Acme/App")
    assert [(c.job, c.path) for c in calls] == [
        ("tests", ".github/workflows/tests.yml"),
        ("images", ".github/workflows/build.yml"),  # this repository's own, by its full name
    ]
    # an input the caller knows is filled in; one from the event is not known before it runs
    assert calls[1].inputs == {"extra": "acme/app:latest\nghcr.io/Acme/App:latest\n"}
    migration = migrate(yaml.safe_load(CALLED), repository="Acme/App", caller=calls[1])
    assert migration.triggers == {"release": {"types": ["published"]}}
    # depot's fork takes build-push-action's inputs; each image once, the caller's too
    assert migration.config["images"] == ["acme/app", "ghcr.io/acme/app"]
    assert migration.replaced == (0,)


def test_images_from_the_matrix_are_every_entry_s_and_the_repository_s_name_is_known() -> None:
    workflow = yaml.safe_load(SHAPES)
    job = workflow["jobs"]["image"]
    job["strategy"]["matrix"]["registry"] = ["docker.io", "ghcr.io"]
    job["steps"][0]["with"]["images"] = (
        "${{ matrix.registry }}/${{ github.repository_owner }}/${{ github.event.repository.name }}"
    )
    migration = migrate(workflow, repository="Acme/Widget")
    assert migration.config["images"] == ["docker.io/acme/widget", "ghcr.io/acme/widget"]
    assert any("differs by matrix entry" in note for note in migration.notes)
