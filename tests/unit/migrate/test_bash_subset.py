"""migrate/bash_subset.py: a run step's outputs, read without running it, as bash writes them
(every form checked against bash itself; none of them differs between bash 3.2 and 5 but
`,,`/`^^`, which only bash 4+ knows and which ubuntu runners have)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from buildcache.migrate.bash_subset import output_values, run_step
from buildcache.migrate.expressions import UNKNOWN

ENV = {"EVENT": "release", "RELEASE_TAG": "v1.2.3", "GITHUB_REF_NAME": "main", "SUFFIX": "-full"}
# the shapes tag steps are written in; each is run by bash too, and must give the same outputs
SCRIPTS = {
    "echo to the output": 'echo "tags=ghcr.io/a/b:${RELEASE_TAG#v}" >> "$GITHUB_OUTPUT"',
    "unquoted redirect": "echo tags=a:$GITHUB_REF_NAME >> $GITHUB_OUTPUT",
    "trims": 'V=${RELEASE_TAG#v}; echo "tags=a:${V%.*},a:${V%%.*},a:${V##*.},a:${V::3},a:${V:2}" >> "$GITHUB_OUTPUT"',
    "defaults": 'echo "tags=a:${NOPE:-dev},a:${SUFFIX:+x}${NOPE:+y}" >> "$GITHUB_OUTPUT"',
    "case": """
case "$EVENT" in
  push|workflow_dispatch) T=edge ;;
  release)
    T="${RELEASE_TAG#v}"
    ;;
  *) T=other ;;
esac
echo "tags=a:$T" >> "$GITHUB_OUTPUT"
""",
    "if elif else with [[ ]]": """
if [[ "$EVENT" == "push" ]]; then
  T=edge
elif [[ "$EVENT" == rel* && -n "$RELEASE_TAG" ]]; then
  T=latest
else
  T=x
fi
echo "tags=a:$T" >> "$GITHUB_OUTPUT"
""",
    "[ ] and test, && and ||": """
[ "$EVENT" = "release" ] && A=yes || A=no
test -z "$NOPE" && B=empty
if [ "$EVENT" != "push" -a -n "$SUFFIX" ]; then C=both; fi
echo "tags=$A,$B,$C" >> "$GITHUB_OUTPUT"
""",
    "a loop assembling a list": """
TAGS=""
for image in ghcr.io/acme/ccc docker.io/acme/ccc; do
  for tag in 1.2.3 latest; do
    TAGS="${TAGS:+$TAGS,}${image}:${tag}${SUFFIX}"
  done
done
echo "tags=$TAGS" >> "$GITHUB_OUTPUT"
""",
    "a heredoc output from a group": """
{
  echo "tags<<EOF"
  for t in 1.2.3 latest; do echo "img:$t"; done
  echo "EOF"
} >> "$GITHUB_OUTPUT"
""",
    "cat with a heredoc": """
cat >> "$GITHUB_OUTPUT" <<EOF
tags=img:${RELEASE_TAG#v}
EOF
""",
    "printf": """printf 'tags=%s\\n' "img:$GITHUB_REF_NAME" >> "$GITHUB_OUTPUT"
printf '%s=%s\\n' a 1 b 2 >> "$GITHUB_OUTPUT"
""",
    "a command's output through tr and cut": """
LOWER=$(echo "GHCR.io/Acme/CCC" | tr '[:upper:]' '[:lower:]')
SERIES="$(echo "${RELEASE_TAG#v}" | cut -d. -f1,2)"
echo "tags=$LOWER:$SERIES" >> "$GITHUB_OUTPUT"
""",
    "lowercase expansion and export": """
export IMAGE="ghcr.io/Acme/CCC"
echo "tags=${IMAGE,,}:${GITHUB_REF_NAME^^}" >> "$GITHUB_OUTPUT"
""",
    "comments, continuations, exit": """
# the tags
echo "tags=a:1,\\
a:2" >> "$GITHUB_OUTPUT"  # two
exit 0
echo "tags=never" >> "$GITHUB_OUTPUT"
""",
}


def _bash(script: str, tmp_path: Path) -> dict[str, str]:
    output = tmp_path / "output"
    output.write_text("")
    env = {"PATH": os.environ["PATH"], **ENV, "GITHUB_OUTPUT": str(output)}
    subprocess.run(["bash", "-c", script], env=env, check=True)
    return output_values(output.read_text())


def _bash_major() -> int:
    version = subprocess.run(
        ["bash", "-c", "echo ${BASH_VERSINFO[0]}"], capture_output=True, text=True, check=True
    )
    return int(version.stdout)


@pytest.mark.parametrize("script", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_a_step_s_outputs_are_what_bash_writes(script: str, tmp_path: Path) -> None:
    if ("${IMAGE,," in script) and _bash_major() < 4:
        pytest.skip("`,,` and `^^` are bash 4's; macOS's /bin/bash is 3.2 (runners run bash 5)")
    assert run_step(script, ENV).outputs == _bash(script, tmp_path)


def test_what_another_program_prints_is_unknown_and_never_run() -> None:
    outputs = run_step('echo "tags=a:$(git describe --tags)" >> "$GITHUB_OUTPUT"', {}).outputs
    assert outputs == {"tags": f"a:{UNKNOWN}"}
    # the old workflow command is an output too
    assert run_step("echo '::set-output name=tags::a:1'", {}).outputs == {"tags": "a:1"}


def test_a_script_beyond_the_subset_is_said_not_raised() -> None:
    done = run_step("if [ x ]; then echo", {})
    assert done.outputs == {}
    assert done.problem is not None
    assert "beyond what init reads" in done.problem
