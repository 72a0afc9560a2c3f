"""`buildcache init`: a starter buildcache.toml from the repository's workflow or Dockerfile.

It looks for `Dockerfile`, `docker/Dockerfile` and `*/Dockerfile`, and asks which when there are
several. Whatever it writes is checked as `build` would read it before it is written. What it
prints for the user to copy (the make targets, the workflow) goes to stdout, raw (rich would turn
the tabs make wants into spaces); what it says (wrote, notes) goes to stderr. In a subfolder of a
repository it writes at the repository's root, where every command finds it.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import typer
from rich.console import Console

from buildcache import git
from buildcache.ci import providers
from buildcache.core.config.load import parse_config
from buildcache.core.config.model import CONFIG_FILE, Config
from buildcache.core.plan.metadata import repository_url
from buildcache.errors import ConfigError, MigrationDiffers, UsageError
from buildcache.migrate.starter import (
    CI_STEP,
    MAKE_TARGET,
    image_names,
    read_dockerfile,
    repository_path,
    starter_config,
    starter_notes,
    suggested_image,
)
from buildcache.ui.console import labelled, make_console, say

if TYPE_CHECKING:
    from buildcache.migrate.proof import EventCheck


def find_dockerfiles(root: Path) -> list[Path]:
    """Dockerfile, docker/Dockerfile, */Dockerfile: the places a repository keeps one."""
    found = [
        root / "Dockerfile",
        root / "docker" / "Dockerfile",
        *sorted(root.glob("*/Dockerfile")),
    ]
    return list(dict.fromkeys(p.relative_to(root) for p in found if p.is_file()))


def init(
    *,
    images: list[str],
    dockerfile: Path | None,
    platforms: list[str],
    force: bool,
    workflow: Path | None = None,
    dry_run: bool = False,
    console: Console | None = None,
) -> None:
    console = console or make_console()
    cwd = Path.cwd()
    root = _project_root(cwd, console)
    target = root / CONFIG_FILE
    if target.exists() and not force:
        raise UsageError(f"{target} already exists", hint="add --force to overwrite it")
    dockerfile, workflow = _from_root(cwd, root, dockerfile), _from_root(cwd, root, workflow)
    workflow = workflow or (None if dockerfile else _found_workflow(root))
    if workflow is not None:
        found = _from_workflow(root, workflow, images, console)
        checks = found.proof(_check(target, found.config))
        texts = (found.before, found.after)
        _rewrite(root, found.workflow, (target, found.config), texts, console, dry_run=dry_run)
        _say_proof(checks, console)
        return
    text = _from_dockerfile(root, dockerfile, images, platforms, console)
    _write(target, text, console, CI_STEP)


def _project_root(cwd: Path, console: Console) -> Path:
    """The repository's root, where init is run in a subfolder of one (asked on a terminal);
    else the working folder."""
    top = next((p for p in [cwd, *cwd.parents] if (p / ".git").exists()), cwd)
    if top == cwd:
        return cwd
    if sys.stdin.isatty() and not typer.confirm(
        f"Write {CONFIG_FILE} at the repository's root, {top}?", default=True, err=True
    ):
        return cwd
    labelled(
        console,
        "note",
        "yellow",
        f"writing at the repository's root, {top}: buildcache finds it from any folder below",
    )
    return top


def _from_root(cwd: Path, root: Path, path: Path | None) -> Path | None:
    """A path given relative to the working folder, relative to the project's root."""
    if path is None or path.is_absolute() or cwd == root:
        return path
    return (cwd / path).resolve().relative_to(root.resolve())


def _from_dockerfile(
    root: Path, dockerfile: Path | None, images: list[str], platforms: list[str], console: Console
) -> str:
    """A starter config from the Dockerfile (given, found, or chosen among those found)."""
    dockerfile = dockerfile or _choose(find_dockerfiles(root))
    if not (root / dockerfile).is_file():
        raise UsageError(
            f"there is no {dockerfile} here", hint="give the Dockerfile with --dockerfile PATH"
        )
    read = read_dockerfile((root / dockerfile).read_text(encoding="utf-8"))
    for note in starter_notes(read):
        labelled(console, "note", "yellow", note)
    return starter_config(
        images=images or _asked_images(root, console),
        dockerfile_name=dockerfile.as_posix(),
        dockerfile=read,
        platforms=platforms,
    )


def _check(target: Path, text: str) -> Config:
    """The config, checked as `build` reads it in a run (whose GITHUB_* variables a build
    argument may read): nothing is written where it is not one."""
    from buildcache.migrate.from_workflow import RUN_VARIABLES

    run = dict.fromkeys(RUN_VARIABLES.values(), "0")
    try:
        return parse_config(tomllib.loads(text), run, path=target, root=target.parent)
    except ConfigError as error:
        raise UsageError(
            f"nothing was written: {error.key}: {error.reason}", hint=error.hint
        ) from None


def _rewrite(
    root: Path,
    workflow: Path,
    config: tuple[Path, str],
    texts: tuple[str, str],
    console: Console,
    *,
    dry_run: bool,
) -> None:
    """The config and the workflow edited in place, written (not with --dry-run), and the
    workflow's unified diff and the config on stdout."""
    import difflib

    (target, text), (before, after) = config, texts
    name = workflow.as_posix()
    diff = difflib.unified_diff(
        before.splitlines(True), after.splitlines(True), f"a/{name}", f"b/{name}"
    )
    if not dry_run:
        target.write_text(text, encoding="utf-8")
        (root / workflow).write_text(after, encoding="utf-8")
    done = "would write" if dry_run else "wrote"
    say(console, f"{done} {target.name} and {name}; the diff and the config on stdout", "green")
    console.file.flush()
    sys.stdout.write("".join(diff) + f"\n# {target.name}\n" + text)
    sys.stdout.flush()


def _write(target: Path, text: str, console: Console, workflow: str) -> None:
    """The config written, once it is one buildcache accepts (checked as `build` reads it);
    then the make targets and the workflow that runs it, on stdout."""
    _check(target, text)
    target.write_text(text, encoding="utf-8")
    say(
        console,
        f"wrote {target}; the make targets and the workflow that runs it on stdout",
        "green",
    )
    console.file.flush()
    sys.stdout.write("# Add to your Makefile:\n" + MAKE_TARGET + "\n" + workflow)
    sys.stdout.flush()


def _found_workflow(root: Path) -> Path | None:
    """The first workflow under .github/workflows that builds with build-push-action."""
    folder = root / ".github" / "workflows"
    candidates = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
    return next(
        (p.relative_to(root) for p in candidates if "docker/build-push-action" in p.read_text()),
        None,
    )


def _from_workflow(root: Path, workflow: Path, images: list[str], console: Console) -> Migrated:
    """The config the workflow's build job stands for, the workflow it edits (the one given, or
    the reusable one it calls), its text before and after, and the proof to run on the config
    read back; a note for each thing guessed, and for each it could not carry over."""
    import tomli_w

    from buildcache.migrate.events import workflow_events
    from buildcache.migrate.from_workflow import called_workflows, migrate
    from buildcache.migrate.proof import OriginalJob, prove
    from buildcache.migrate.workflow_edit import JobEdit, buildcache_step, edit_workflow

    repository = repository_path(_repository_url(root))
    text, parsed = _read_workflow(root, workflow)
    try:
        migration = migrate(parsed, repository=repository, images=images)
    except UsageError as error:
        # the build is in a reusable workflow it calls: read through the caller's `with:`
        builds = [
            call
            for call in called_workflows(parsed, repository)
            if (root / call.path).is_file()
            and "build-push-action" in (root / call.path).read_text()
        ]
        if not builds:
            raise UsageError(f"{workflow.as_posix()}: {error.message}", hint=error.hint) from None
        caller, workflow = builds[0], Path(builds[0].path)
        labelled(console, "note", "yellow", f"job {caller.job} calls {caller.path}")
        text, called = _read_workflow(root, workflow)
        try:
            migration = migrate(called, repository=repository, images=images, caller=caller)
        except UsageError as inner:
            raise UsageError(f"{caller.path}: {inner.message}", hint=inner.hint) from None
    labelled(console, "note", "yellow", f"read {workflow.as_posix()}, job {migration.job}")
    for guess in migration.guesses:
        labelled(console, "note", "yellow", f"guessed: {guess}")
    for note in migration.notes:
        labelled(console, "note", "yellow", f"not carried over: {note}")
    header = (
        "# buildcache: multi-platform builds with a registry cache per variant (see its README).\n"
        f"# Written by `buildcache init --from {workflow.as_posix()}` (job {migration.job}).\n"
    )
    step = buildcache_step(
        action=_action_repository(console),
        push=migration.push,
        manual=migration.manual,
        keep_going=migration.keep_going and migration.matrix_only_for_build,
        variants=migration.variant_of_matrix_job,
    )
    edit = JobEdit(migration.job, migration.replaced, step, migration.matrix_only_for_build)
    original = OriginalJob.of(migration)
    events = workflow_events(migration.triggers, repository)
    return Migrated(
        config=header + tomli_w.dumps(migration.config),
        workflow=workflow,
        before=text,
        after=edit_workflow(text, edit),
        proof=lambda config: prove(config, original, events),
    )


class Migrated(NamedTuple):
    config: str
    workflow: Path  # the workflow edited
    before: str
    after: str
    proof: Callable[[Config], list[EventCheck]]


def _read_workflow(root: Path, workflow: Path) -> tuple[str, dict[str, Any]]:
    """A workflow's text and its YAML; UsageError where it is not there or not YAML."""
    import yaml

    path = root / workflow
    if not path.is_file():
        raise UsageError(f"there is no workflow {workflow} here")
    text = path.read_text(encoding="utf-8")
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UsageError(f"{workflow} is not YAML: {' '.join(str(error).split())}") from None
    return text, parsed if isinstance(parsed, dict) else {}


def _say_proof(checks: list[EventCheck], console: Console) -> None:
    """A note for each event whose tags differ and one naming those not evaluated; an error
    (exit 1) where any differs, once everything is written."""
    differs = [c for c in checks if c.verdict == "differs"]
    for check in differs:
        labelled(console, "note", "yellow", f"differs: {check.event}: {check.detail}")
    unread = [f"{c.event} ({c.detail})" for c in checks if c.verdict == "not evaluated"]
    if unread:
        labelled(console, "note", "yellow", f"not evaluated: {'; '.join(unread)}")
    agreed = [c.event for c in checks if c.verdict == "agrees"]
    if agreed:
        say(console, f"the same tags as the workflow: {', '.join(agreed)}", "green")
    if differs:
        raise MigrationDiffers(
            f"the config plans other tags than the workflow for {len(differs)} of "
            f"{len(checks)} events (the notes above say which)",
            hint="edit [tags] in buildcache.toml, then `buildcache plan` each event",
        )


def _action_repository(console: Console) -> str:
    """The action's owner/name: the GitHub repository in buildcache's own package metadata
    (pyproject's [project.urls])."""
    from importlib import metadata

    try:
        urls = metadata.metadata("buildcache-cli").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        url = entry.partition(",")[2].strip()
        if url.startswith("https://github.com/"):
            return str(repository_path(url))
    labelled(
        console,
        "note",
        "yellow",
        "buildcache's package names no GitHub repository: write the action's owner in place of "
        "OWNER in the step",
    )
    return "OWNER/buildcache"


def _repository_url(root: Path) -> str | None:
    """The repository's web URL: the CI's, else the git remote's."""
    found = repository_url(providers.repository(os.environ), git.facts(root).remote_url)
    return found.value if found else None


def _asked_images(root: Path, console: Console) -> list[str]:
    """The images to publish: asked on a terminal; without one, the forge's own registry for the
    repository (GitHub's or GitLab's), said in a note."""
    if sys.stdin.isatty():
        answer = typer.prompt("Images to publish, one per registry (comma-separated)", err=True)
        return image_names(str(answer))
    url = _repository_url(root)
    image = suggested_image(url)
    if image is None:
        raise UsageError(
            "no image names", hint="give them with --image, e.g. --image ghcr.io/acme/widget"
        )
    labelled(
        console,
        "note",
        "yellow",
        f"no --image: publishing to {image}, the registry of {url} "
        "(add others to `images`, e.g. Docker Hub's acme/widget)",
    )
    return [image]


def _choose(found: list[Path]) -> Path:
    if not found:
        raise UsageError(
            "found no Dockerfile here, in docker/ or in a folder below",
            hint="give the Dockerfile with --dockerfile PATH",
        )
    if len(found) == 1:
        return found[0]
    if not sys.stdin.isatty():
        listed = ", ".join(p.as_posix() for p in found)
        raise UsageError(
            f"found several Dockerfiles ({listed})", hint="choose one with --dockerfile PATH"
        )
    return _asked_dockerfile(found)


def _asked_dockerfile(found: list[Path]) -> Path:
    for n, path in enumerate(found, 1):
        sys.stderr.write(f"  {n}. {path.as_posix()}\n")
    while True:
        choice = str(typer.prompt("Which Dockerfile (its number)", err=True)).strip()
        if choice.isdigit() and 1 <= int(choice) <= len(found):
            return found[int(choice) - 1]
