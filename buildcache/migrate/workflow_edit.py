"""Pure: the workflow edited in place, as a reviewer wants the diff: only the migrated job's build
steps are replaced by buildcache's one step, and its matrix reduced where it served only them.

The edit is made on the text, between the line ranges the YAML parser reports for each node, so
every other byte (other jobs, `if:`, `environment:`, `permissions:`, `concurrency:`, comments,
key order, quoting, indentation) stays as it was by construction, not by a round-trip emitter's
fidelity. The steps are removed whole with the comment lines above them kept; the new step takes
the first removed step's place and indentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from buildcache.errors import UsageError
from buildcache.migrate.shell_tags import ManualRun


@dataclass(frozen=True)
class JobEdit:
    job: str
    removed: tuple[int, ...]  # the job's steps to remove, by index; buildcache's takes the first
    step: str  # buildcache's step as YAML, a sequence item at column 0 (`- uses: ...`)
    drop_strategy: bool = False  # the matrix served only the removed steps: one step builds all


def edit_workflow(text: str, edit: JobEdit) -> str:
    """`text` with `edit` made; raises UsageError where the job or its steps are not found."""
    job = _job_node(yaml.compose(text), edit.job)
    steps = _value(job, "steps")
    if not isinstance(steps, yaml.SequenceNode) or not edit.removed:
        raise UsageError(f"job {edit.job} has no steps to replace")
    lines = text.splitlines(keepends=True)
    items = [steps.value[n] for n in sorted(edit.removed)]
    ranges = [_lines_of(lines, item.start_mark.line, item.end_mark) for item in items]
    column = steps.value[min(edit.removed)].start_mark.column - 2  # the `- ` before the step
    new_step = _indented(edit.step, column)
    cuts: list[tuple[int, int, str]] = [(*ranges[0], new_step)]
    cuts += [(*r, "") for r in ranges[1:]]
    if edit.drop_strategy:
        cuts.append(_key_lines(lines, job, "strategy"))
    for start, end, replacement in sorted(cuts, reverse=True):
        lines[start:end] = [replacement] if replacement else []
    return "".join(lines)


def _job_node(root: yaml.Node | None, name: str) -> yaml.MappingNode:
    jobs = _value(root, "jobs") if isinstance(root, yaml.MappingNode) else None
    job = _value(jobs, name) if isinstance(jobs, yaml.MappingNode) else None
    if not isinstance(job, yaml.MappingNode):
        raise UsageError(f"the workflow has no job {name} in block style init can edit")
    return job


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if k.value == key), None)


def _lines_of(lines: Sequence[str], start: int, end: yaml.Mark) -> tuple[int, int]:
    """Lines `start` up to the block node ending at `end`, the comment and blank lines after it
    aside (they belong to what follows)."""
    stop = end.line
    if end.column > 0 and stop < len(lines) and lines[stop][: end.column].strip():
        stop += 1  # the node ends inside this line (the file's last, without a newline)
    while stop > start + 1 and lines[stop - 1].strip()[:1] in ("", "#"):
        stop -= 1
    return start, stop


def _key_lines(lines: Sequence[str], mapping: yaml.MappingNode, key: str) -> tuple[int, int, str]:
    """The lines of `key:` and its block value in `mapping`, to be removed."""
    found = next(((k, v) for k, v in mapping.value if k.value == key), None)
    if found is None:
        raise UsageError(f"the job has no {key}")
    return (*_lines_of(lines, found[0].start_mark.line, found[1].end_mark), "")


def _indented(step: str, column: int) -> str:
    return "".join(" " * column + line if line.strip() else line for line in step.splitlines(True))


def buildcache_step(
    *,
    action: str,
    push: str | None,
    manual: Sequence[ManualRun] = (),
    keep_going: bool = False,
    variants: str | None = None,
) -> str:
    """buildcache's step, in the place of the build steps: the action (`owner/name`) pushing as
    the build step did, each manual run's version (`--version test --no-latest`), and
    `--keep-going` where the matrix did not fail fast, `variants` where each matrix job still
    builds one (`${{ matrix.variant }}`). The workflow's own login steps stay: the
    action logs in no more (`login: false`) and uses the credentials they leave to docker."""
    # push as the build step did; none written: the action's default, build-push-action's (false)
    given: dict[str, str] = {"push": push} if push is not None else {}
    given["login"] = "false"
    if variants:
        given["variants"] = variants
    manual = sorted(manual, key=lambda m: m.input is None)  # a switch's own version first
    dispatch = "github.event_name == 'workflow_dispatch'"
    asks = [f"{dispatch} && inputs.{m.input}" if m.input else dispatch for m in manual]
    if manual:
        versions = " || ".join(f"({a} && '{m.version}')" for a, m in zip(asks, manual, strict=True))
        given["version"] = f"${{{{ {versions} || '' }}}}"
    args = ["--keep-going"] if keep_going else []
    if manual:
        any_ask = asks[0] if len(asks) == 1 else " || ".join(f"({a})" for a in asks)
        args.append(f"${{{{ ({any_ask}) && '--no-latest' || '' }}}}")
    if args:
        given["args"] = " ".join(args)
    body = yaml.safe_dump(given, sort_keys=False, width=1000, default_flow_style=False)
    with_lines = "".join("    " + line for line in body.splitlines(True))
    return (
        "- name: Build and push every variant (buildcache.toml)\n"
        f"  uses: {action}@v1\n"
        "  with:\n" + with_lines
    )
