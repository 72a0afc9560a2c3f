"""The real docker/metadata-action as the oracle of buildcache's tag rules: generated cases.

Runs the action's committed `dist/index.cjs` under node, as a GitHub runner would (INPUT_*,
GITHUB_* and an event file), against a loopback stub of the GitHub API (the repository's
default branch, a commit's date), once per case, and writes each case's inputs and the action's
outputs (`version`, `tag-names`, or the error it stopped with) to
tests/unit/core/plan/data/metadata_action_oracle.json. The cases are generated from a seed: rule
kinds, their order, priorities, prefixes and suffixes, `enable=` expressions, flavors, comment
and blank lines, over the events a workflow sees (tag pushes of many version shapes, a release,
branch and default-branch pushes, pull requests, a schedule, a manual run). The clock is pinned
(a `--require` script) so that `{{date}}` patterns give the same tag on every run.

    fetch github:docker/metadata-action   (or: git clone https://github.com/docker/metadata-action)
    python scripts/metadata-action-oracle.py /work/.mirror/docker+metadata-action/repo

The argument is a checkout or a bare git directory (its HEAD's dist/ is read). Options:
--count N (1200), --seed S (36), --jobs J (2).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests/unit/core/plan/data/metadata_action_oracle.json"
REPOSITORY = "acme/widget"
DEFAULT_BRANCH = "main"
SHA = "860c1904a1ce19322e91ac35af1ab07466440c37"
PR_HEAD_SHA = "a9c8c5828b91be19d9728548b24759e352367ef1"
NOW = "2026-11-28T13:45:10Z"  # the run's clock ({{date}})
COMMIT_DATE = "2026-11-27T22:08:07Z"  # HEAD's commit ({{commit_date}})

# The events: (name, GITHUB_EVENT_NAME, GITHUB_REF, payload extras)
TAGS = (
    "v1.2.3", "1.2.3", "v1.2.3-rc.1", "v2", "2026.11", "v1.2", "1.0.0rc1", "v2.0.0+build.7",
    "release-1.4.0", "20260101", "foo", "v0.9.0", "1.2.3.4", "v3.0.0-beta", "1.3.0.post1",
    "app/v1.5.0",
)  # fmt: skip
BRANCHES = ("feature/Login", "dev", "1.0.0", "release/v1.2", "renovate/node-20.x")


def events() -> list[dict[str, Any]]:
    found = []
    for tag in TAGS:
        found.append(_event(f"tag {tag}", "push", f"refs/tags/{tag}", base_ref=None))
    for tag in ("v1.2.3", "v2.0.0-rc.2", "1.4.0"):
        found.append(_event(f"release {tag}", "release", f"refs/tags/{tag}", release=tag))
    found.append(_event("push to main (default)", "push", f"refs/heads/{DEFAULT_BRANCH}"))
    for branch in BRANCHES:
        found.append(_event(f"push to {branch}", "push", f"refs/heads/{branch}"))
    for number, base in ((15, DEFAULT_BRANCH), (7, "dev")):
        found.append(_event(f"pull request {number} -> {base}", "pull_request",
                            f"refs/pull/{number}/merge", number=number, base=base))  # fmt: skip
    found.append(_event("pull_request_target 15", "pull_request_target",
                        f"refs/heads/{DEFAULT_BRANCH}", number=15, base=DEFAULT_BRANCH))  # fmt: skip
    found.append(_event("schedule", "schedule", f"refs/heads/{DEFAULT_BRANCH}"))
    found.append(_event("workflow_dispatch on main", "workflow_dispatch", f"refs/heads/{DEFAULT_BRANCH}"))
    found.append(_event("workflow_dispatch on dev", "workflow_dispatch", "refs/heads/dev"))
    found.append(_event("workflow_dispatch on v1.2.3", "workflow_dispatch", "refs/tags/v1.2.3"))
    return found


def _event(
    name: str, event: str, ref: str, *, number: int | None = None, base: str | None = None,
    release: str | None = None, base_ref: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    payload: dict[str, Any] = {
        "ref": ref,
        "repository": {"default_branch": DEFAULT_BRANCH, "full_name": REPOSITORY},
        "head_commit": {"id": SHA, "timestamp": COMMIT_DATE},
    }
    if number is not None:
        payload["number"] = number
        payload["pull_request"] = {"number": number, "base": {"ref": base},
                                   "head": {"sha": PR_HEAD_SHA, "ref": "feature/x"}}  # fmt: skip
    if release is not None:
        payload["release"] = {"tag_name": release}
    if base_ref is not None:
        payload["base_ref"] = base_ref
    return {"name": name, "event_name": event, "ref": ref, "sha": SHA, "payload": payload}


# The rules: a weighted catalogue; each case picks some, in a random order
RULES = (
    "type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}",
    "type=semver,pattern={{major}}", "type=semver,pattern={{major}}.{{minor}}.{{patch}}",
    "type=semver,pattern={{raw}}", "type=semver,pattern=v{{major}}",
    "type=semver,pattern={{version}},value=v3.1.0", "type=semver,pattern={{version}},match=app/v(.*)",
    "type=semver,pattern={{major}}.{{minor}},enable={{is_default_branch}}",
    "type=pep440,pattern={{version}}", "type=pep440,pattern={{major}}.{{minor}}",
    "type=pep440,pattern={{major}}", "type=pep440,pattern={{raw}}",
    "type=match,pattern=\\d+.\\d+.\\d+", "type=match,pattern=v(.*),group=1",
    "type=match,pattern=^v(\\d+\\.\\d+),group=1", "type=match,pattern=/^V(\\d+)/i,group=1",
    "type=ref,event=branch", "type=ref,event=tag", "type=ref,event=pr",
    "type=ref,event=branch,prefix=br-", "type=ref,event=tag,suffix=-tag",
    "type=ref,event=pr,prefix=pull-,suffix=-x",
    "type=raw,value=latest", "type=raw,value=latest,enable={{is_default_branch}}",
    "type=raw,value=latest,enable=true", "type=raw,value=latest,enable=false",
    "type=raw,value=stable", "type=raw,value={{branch}}-{{sha}}",
    "type=raw,value={{date 'YYYYMMDD'}}", "type=raw,value=edge,enable={{is_default_branch}}",
    "type=raw,value=dev,enable={{is_not_default_branch}}", "type=raw,value={{tag}}",
    "type=raw,value={{base_ref}}", "type=raw,value=nightly,enable=false", "stable-raw",
    "type=raw,value={{commit_date 'YYYYMMDD-HHmmss'}}",
    "type=sha", "type=sha,format=long", "type=sha,prefix=", "type=sha,prefix={{branch}}-",
    "type=sha,enable={{is_default_branch}}",
    "type=schedule", "type=schedule,pattern={{date 'YYYYMMDD'}}",
    "type=schedule,pattern=nightly-{{date 'YYYYMMDD-HHmm' tz='Asia/Tokyo'}}",
    "type=edge", "type=edge,branch=dev",
)  # fmt: skip
# what a rule may get besides (appended to its line)
MODIFIERS = (
    ",priority=1200", ",priority=650", ",priority=100", ",prefix=app-", ",suffix=-slim",
    ",prefix=", ",suffix=-{{sha}}", ",enable=true", ",enable=false",
    ",enable={{is_default_branch}}", ",enable={{is_not_default_branch}}",
)  # fmt: skip
FLAVORS = (
    "latest=auto", "latest=true", "latest=false", "prefix=x-", "prefix=x-,onlatest=true",
    "suffix=-alpine", "suffix=-alpine,onlatest=true", "prefix=py312-\nsuffix=-slim,onlatest=true",
)  # fmt: skip
# well-known rule sets, as workflows write them
SETS = (
    ("type=semver,pattern={{major}}", "type=semver,pattern={{major}}.{{minor}}",
     "type=semver,pattern={{major}}.{{minor}}.{{patch}}"),
    ("type=ref,event=branch", "type=ref,event=pr", "type=semver,pattern={{version}}",
     "type=semver,pattern={{major}}.{{minor}}"),
    ("type=raw,value=latest,enable={{is_default_branch}}", "type=ref,event=tag", "type=sha"),
    ("type=schedule", "type=ref,event=branch", "type=ref,event=tag", "type=ref,event=pr"),
    ("type=semver,pattern={{version}}", "type=raw,value=latest"),
    ("type=ref,event=branch", "type=semver,pattern={{version}}", "type=sha,format=long"),
    ("type=pep440,pattern={{version}}", "type=pep440,pattern={{major}}.{{minor}}",
     "type=raw,value=edge,enable={{is_default_branch}}"),
)  # fmt: skip


def rules_text(rng: random.Random) -> tuple[str, str]:
    """A `tags` input and how it was made (for the case's name)."""
    if rng.random() < 0.25:
        lines = list(rng.choice(SETS))
        if rng.random() < 0.5:
            rng.shuffle(lines)
        how = "set"
    else:
        lines = [rng.choice(RULES) for _ in range(rng.randint(0, 5))]
        how = "random"
    lines = [line + rng.choice(MODIFIERS) if rng.random() < 0.25 else line for line in lines]
    if rng.random() < 0.2 and lines:  # comments and blank lines, as people write them
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(("# the release", "", "  ", "#")))
        how += "+comment"
    return "\n".join(lines), how


def flavor_text(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return ""
    lines = [rng.choice(FLAVORS) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.15:
        lines.insert(0, "# flavor")
    return "\n".join(lines)


def generate(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    catalogue = events()
    cases = []
    for n in range(count):
        tags, how = rules_text(rng)
        event = catalogue[n % len(catalogue)] if n < 2 * len(catalogue) else rng.choice(catalogue)
        cases.append(
            {"id": f"g{n:04d}", "how": how, "event": event, "tags": tags, "flavor": flavor_text(rng)}
        )
    return cases


# Running the action


class _Api(BaseHTTPRequestHandler):
    """The GitHub API calls the action makes: the repository, a commit."""

    def do_GET(self) -> None:  # noqa: N802
        if re.fullmatch(rf"/repos/{REPOSITORY}/commits/\w+", self.path):
            body: dict[str, Any] = {"commit": {"committer": {"date": COMMIT_DATE}}}
        elif self.path == f"/repos/{REPOSITORY}":
            body = {"name": "widget", "full_name": REPOSITORY, "default_branch": DEFAULT_BRANCH,
                    "description": "", "html_url": f"https://github.com/{REPOSITORY}",
                    "license": None}  # fmt: skip
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


PIN_CLOCK = """const Real = Date; const FIXED = Real.parse(process.env.ORACLE_NOW);
class Pinned extends Real { constructor(...a) { if (a.length === 0) super(FIXED); else super(...a); }
  static now() { return FIXED; } }
globalThis.Date = Pinned;
"""


def outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT's `name<<delimiter` blocks."""
    found, lines, at = {}, text.splitlines(), 0
    while at < len(lines):
        name, _, delimiter = lines[at].partition("<<")
        end = lines.index(delimiter, at + 1)
        found[name] = "\n".join(lines[at + 1 : end])
        at = end + 1
    return found


def run(case: dict[str, Any], dist: Path, api: str, work: Path) -> dict[str, Any]:
    where = Path(tempfile.mkdtemp(dir=work))
    event = case["event"]
    (where / "event.json").write_text(json.dumps(event["payload"]))
    (where / "output").write_text("")
    env = {
        "PATH": os.environ["PATH"], "HOME": str(where), "RUNNER_TEMP": str(where),
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event["event_name"],
        "GITHUB_REF": event["ref"], "GITHUB_SHA": event["sha"],
        "GITHUB_EVENT_PATH": str(where / "event.json"), "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": api, "GITHUB_GRAPHQL_URL": f"{api}/graphql",
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_OUTPUT": str(where / "output"),
        "GITHUB_ENV": str(where / "env"), "INPUT_CONTEXT": "workflow",
        "INPUT_IMAGES": f"ghcr.io/{REPOSITORY}", "INPUT_TAGS": case["tags"],
        "INPUT_FLAVOR": case["flavor"], "INPUT_GITHUB-TOKEN": "oracle",
        "DOCKER_METADATA_SET_OUTPUT_ENV": "false", "ORACLE_NOW": NOW,
    }  # fmt: skip
    done = subprocess.run(
        ["node", "--require", str(work / "pin-clock.cjs"), str(dist)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    found = outputs((where / "output").read_text())
    if done.returncode != 0:
        errors = [line for line in done.stdout.splitlines() if line.startswith("::error::")]
        return {"error": errors[0].removeprefix("::error::") if errors else done.stderr[-300:]}
    names = found["tag-names"].split("\n") if found["tag-names"] else []
    return {"version": found["version"], "tags": names}


def dist_of(source: Path, work: Path) -> tuple[Path, str]:
    """The action's dist/index.cjs and its commit, from a checkout or a bare git directory."""
    if (source / "dist/index.cjs").is_file():
        git = ["git", "-C", str(source)]
        dist = source / "dist/index.cjs"
    else:
        git = ["git", f"--git-dir={source}"]
        dist = work / "index.cjs"
        dist.write_bytes(subprocess.run([*git, "show", "HEAD:dist/index.cjs"], capture_output=True, check=True).stdout)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return dist, commit.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="docker/metadata-action: a checkout or git dir")
    parser.add_argument("--count", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=36)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        (work / "pin-clock.cjs").write_text(PIN_CLOCK)
        dist, commit = dist_of(args.source, work)
        cases = generate(args.count, args.seed)
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda c: run(c, dist, api, work), cases))
    server.shutdown()
    for case, result in zip(cases, results, strict=True):
        case["expected"] = result
    data = {
        "source": f"docker/metadata-action@{commit}",
        "generated_by": f"scripts/metadata-action-oracle.py --count {args.count} --seed {args.seed}",
        "now": NOW,
        "commit_date": COMMIT_DATE,
        "default_branch": DEFAULT_BRANCH,
        "pr_head_sha": PR_HEAD_SHA,
        "cases": cases,
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    failed = sum("error" in c["expected"] for c in cases)
    print(f"{len(cases)} cases ({failed} refused by the action) -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
