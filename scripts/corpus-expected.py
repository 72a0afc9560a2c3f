"""What each workflow of the corpus (tests/data/workflows/<project>/) publishes today, per event,
computed by ground truth and never by buildcache: writes tests/data/workflows/<project>/expected.json.

For each event the workflow's `on:` handles (a tag push or release, a push to a branch it names,
a pull request, a schedule, a workflow_dispatch), the workflow's jobs are walked as a runner
would: the matrix expanded, `if:` evaluated, `${{ }}` expressions evaluated here (github, env,
matrix, steps, needs, inputs; a secret or variable is unknown: a placeholder
`secrets-<name>`/`vars-<name>`, named in the file's `unknown`), reusable workflows of the same
repository called with their `with:`. Then:
- docker/metadata-action steps run as the real action: its committed dist/ under node, with the
  runner's env (INPUT_*, GITHUB_*), the event's payload at GITHUB_EVENT_PATH, the clock pinned,
  and a loopback stub of the GitHub API (GITHUB_API_URL) that names the default branch;
- `run:` steps that write $GITHUB_OUTPUT/$GITHUB_ENV or call docker run in real bash with the
  event's env, in a git checkout of the project's files (tagged for a tag event), with a
  stand-in `docker` on PATH that only records its arguments (a merge job's
  `docker buildx imagetools create -t ...` is how its tags are read);
- build-push-action (and depot's, same inputs) steps are read: tags, platforms, build args,
  file, target, push, outputs (push-by-digest); bake-action steps are resolved by the engine
  (`docker buildx bake --print` with the step's files, targets and set);
- docker/github-builder's reusable build workflow (pi-hole) is read as what it does: metadata-
  action with its meta-* inputs, then one build with {{meta.version}} in build args replaced.

Each event's `published` is the list of images the run names: per build step or merge, the full
tags, platforms (a merge's: its push-by-digest legs'), build args and whether it pushes.

    scripts/corpus-gather.sh /work/.mirror           # the corpus
    python scripts/corpus-expected.py /tmp/metadata-action [project ...]
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parent.parent / "tests/data/workflows"
PINNED = "2025-06-15T12:00:00Z"  # the clock metadata-action sees; the test pins buildcache's
PINNED_EPOCH = 1749988800
PR_NUMBER = 42
# Per project: the workflow a runner starts, the default branch (the repository's), the release
# tag as the project spells its versions
PROJECTS: dict[str, dict[str, str]] = {
    "FreshRSS__FreshRSS": {"workflow": "docker-publish.yml", "branch": "edge", "tag": "1.26.3"},
    "TandoorRecipes__recipes": {"workflow": "build-docker.yml", "branch": "develop", "tag": "2.0.1"},
    "actualbudget__actual-server": {"workflow": "docker-release.yml", "branch": "master", "tag": "v25.2.1"},
    "advplyr__audiobookshelf": {"workflow": "docker-build.yml", "branch": "master", "tag": "v2.20.0"},
    "amir20__dozzle": {"workflow": "deploy.yml", "branch": "master", "tag": "v8.12.3"},
    "dani-garcia__vaultwarden": {"workflow": "release.yml", "branch": "main", "tag": "1.34.1"},
    "dgtlmoon__changedetection.io": {"workflow": "containers.yml", "branch": "master", "tag": "0.50.1"},
    "docker-mailserver__docker-mailserver": {"workflow": "default_on_push.yml", "branch": "master", "tag": "v15.0.2"},
    "excalidraw__excalidraw": {"workflow": "publish-docker.yml", "branch": "master", "tag": "v0.18.0"},
    "gethomepage__homepage": {"workflow": "docker-publish.yml", "branch": "dev", "tag": "v1.3.2"},
    "hedgedoc__hedgedoc": {"workflow": "docker.yml", "branch": "develop", "tag": "v2.0.0"},
    "karakeep-app__karakeep": {"workflow": "docker.yml", "branch": "main", "tag": "v0.25.0"},
    "linkwarden__linkwarden": {"workflow": "release-container.yml", "branch": "main", "tag": "v2.11.5"},
    "lldap__lldap": {"workflow": "docker-build-static.yml", "branch": "main", "tag": "v0.6.1"},
    "mealie-recipes__mealie": {"workflow": "release.yml", "branch": "mealie-next", "tag": "v2.8.0"},
    "meilisearch__meilisearch": {"workflow": "publish-docker-images.yml", "branch": "main", "tag": "v1.15.2"},
    "miniflux__v2": {"workflow": "docker.yml", "branch": "main", "tag": "2.2.10"},
    "nginx-proxy__nginx-proxy": {"workflow": "build-publish.yml", "branch": "main", "tag": "1.7.1"},
    "paperless-ngx__paperless-ngx": {"workflow": "ci-docker.yml", "branch": "dev", "tag": "v2.17.1"},
    "pi-hole__docker-pi-hole": {"workflow": "build-and-publish.yml", "branch": "master", "tag": "2025.06.2"},
    "sissbruecker__linkding": {"workflow": "build.yaml", "branch": "master", "tag": "v1.41.0"},
    "umami-software__umami": {"workflow": "cd.yml", "branch": "master", "tag": "v2.18.1"},
    "usememos__memos": {"workflow": "release.yml", "branch": "main", "tag": "v0.25.0"},
    "wg-easy__wg-easy": {"workflow": "deploy.yml", "branch": "master", "tag": "v15.1.0"},
    "zwave-js__zwave-js-ui": {"workflow": "docker-release.yml", "branch": "master", "tag": "v11.0.1"},
}  # fmt: skip
BUILD_ACTIONS = ("docker/build-push-action", "depot/build-push-action")
GITHUB_BUILDER = "docker/github-builder/.github/workflows/build.yml"


class Unknown(str):
    """A value this script cannot know (a secret, a variable): a placeholder that reads as an
    image name component."""


# ---- expressions -----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.*])"
    r"|(?P<name>[A-Za-z_][\w-]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            raise ValueError(f"cannot read expression {text!r} at {text[at:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        at = match.end()
    return out


def truthy(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    return value not in (None, False, 0, "", 0.0)


def text(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if isinstance(a, bool | int | float) and isinstance(b, str):
        return text(a) == b
    if isinstance(b, bool | int | float) and isinstance(a, str):
        return text(b) == a
    return a == b


class Expression:
    """GitHub Actions' expression language: literals, contexts, operators, the functions
    workflows use."""

    def __init__(self, source: str, context: dict[str, Any]) -> None:
        self.items = _tokens(source)
        self.at = 0
        self.context = context

    def value(self) -> Any:
        result = self._or()
        if self.at != len(self.items):
            raise ValueError(f"trailing tokens {self.items[self.at :]}")
        return result

    def _peek(self) -> str:
        return self.items[self.at][1] if self.at < len(self.items) else ""

    def _take(self) -> tuple[str, str]:
        self.at += 1
        return self.items[self.at - 1]

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            left = left if truthy(left) else right
        return left

    def _and(self) -> Any:
        left = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            left = right if truthy(left) else left
        return left

    def _compare(self) -> Any:
        left = self._unary()
        while self._peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self._take()[1]
            right = self._unary()
            if op == "==":
                left = _equal(left, right)
            elif op == "!=":
                left = not _equal(left, right)
            else:
                left = {
                    "<": left < right,
                    ">": left > right,
                    "<=": left <= right,
                    ">=": left >= right,
                }[op]
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        return self._postfix(self._primary())

    def _primary(self) -> Any:
        kind, token = self._take()
        if token == "(":
            inner = self._or()
            self._take()
            return inner
        if kind == "num":
            return float(token) if "." in token else int(token)
        if kind == "str":
            return token[1:-1].replace("''", "'")
        if token in ("true", "false"):
            return token == "true"
        if token == "null":
            return None
        if self._peek() == "(":
            self._take()
            args = []
            while self._peek() != ")":
                args.append(self._or())
                if self._peek() == ",":
                    self._take()
            self._take()
            return _call(token, args)
        return self.context.get(token, Unknown(f"{token}-unknown"))

    def _postfix(self, value: Any) -> Any:
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                key: Any = self._take()[1]
            else:
                key = self._or()
                self._take()
            value = _member(value, key)
        return value


def _member(value: Any, key: Any) -> Any:
    if isinstance(value, Unknown):
        return Unknown(f"{value}-{key}".lower().replace("_", "-"))
    if isinstance(value, dict):
        if key == "*":
            return list(value.values())
        for k, v in value.items():
            if str(k).lower() == str(key).lower():
                return v
        return None
    if isinstance(value, list) and isinstance(key, int | float):
        return value[int(key)] if int(key) < len(value) else None
    return None


def _call(name: str, args: list[Any]) -> Any:
    name = name.lower()
    if name == "startswith":
        return text(args[0]).lower().startswith(text(args[1]).lower())
    if name == "endswith":
        return text(args[0]).lower().endswith(text(args[1]).lower())
    if name == "contains":
        if isinstance(args[0], list):
            return any(_equal(i, args[1]) for i in args[0])
        return text(args[1]).lower() in text(args[0]).lower()
    if name == "format":
        return re.sub(r"\{(\d+)\}", lambda m: text(args[1 + int(m.group(1))]), text(args[0]))
    if name == "join":
        sep = text(args[1]) if len(args) > 1 else ","
        return sep.join(text(i) for i in args[0]) if isinstance(args[0], list) else text(args[0])
    if name == "tojson":
        return json.dumps(args[0], indent=2)
    if name == "fromjson":
        return json.loads(text(args[0]))
    if name in ("success", "always", "cancelled", "failure"):
        return name in ("success", "always")
    if name == "hashfiles":
        return Unknown("hashfiles")
    raise ValueError(f"function {name}")


_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def evaluate(value: Any, context: dict[str, Any]) -> Any:
    """A workflow value with its `${{ }}` evaluated: a lone expression keeps its type."""
    if isinstance(value, dict):
        return {k: evaluate(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, context) for v in value]
    if not isinstance(value, str) or "${{" not in value:
        return value
    lone = _EXPR.fullmatch(value.strip()) if value.count("${{") == 1 else None
    if lone:
        return Expression(lone.group(1), context).value()
    parts = []
    unknown = False
    for piece in re.split(r"(\$\{\{.*?\}\})", value, flags=re.DOTALL):
        inner = _EXPR.fullmatch(piece)
        if inner:
            result = Expression(inner.group(1), context).value()
            unknown = unknown or isinstance(result, Unknown)
            parts.append(text(result))
        else:
            parts.append(piece)
    joined = "".join(parts)
    return Unknown(joined) if unknown else joined


def condition(expr: Any, context: dict[str, Any]) -> bool:
    if expr is None:
        return True
    if isinstance(expr, bool):
        return expr
    source = str(expr).strip()
    if source.count("${{") > 1 or (source.count("${{") == 1 and not _EXPR.fullmatch(source)):
        return truthy(evaluate(source, context))  # text around an expression: a string, true
    inner = _EXPR.fullmatch(source)
    return truthy(Expression(inner.group(1) if inner else source, context).value())


# ---- events ----------------------------------------------------------------------------------


def _glob(pattern: str, name: str) -> bool:
    regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", ".")
    regex = regex.replace(r"\[", "[").replace(r"\]", "]").replace(r"\+", "+").replace(r"\-", "-")
    return re.fullmatch(regex, name) is not None


def _matches(filters: dict[str, Any], kind: str, name: str) -> bool:
    """A push of branch or tag `name` runs the workflow under its branches/tags filters."""
    include, exclude = filters.get(kind), filters.get(f"{kind}-ignore")
    other = "tags" if kind == "branches" else "branches"
    if include is None and exclude is None:
        # only the other kind filtered: this kind does not run
        return not (filters.get(other) is not None or filters.get(f"{other}-ignore") is not None)
    if include is not None:
        ok = False
        for pattern in include:
            if str(pattern).startswith("!"):
                ok = ok and not _glob(str(pattern)[1:], name)
            elif _glob(str(pattern), name):
                ok = True
        return ok
    return not any(_glob(str(p), name) for p in exclude)


def events(on: Any, project: dict[str, str], repo: str, sha: str) -> dict[str, dict[str, Any]]:
    """The events to run, by name: each the runner's GITHUB_* and the payload."""
    triggers = (
        {on: None} if isinstance(on, str) else dict.fromkeys(on) if isinstance(on, list) else on
    )
    branch, tag = project["branch"], project["tag"]
    owner = repo.split("/")[0]
    repository = {"default_branch": branch, "full_name": repo, "name": repo.split("/")[1],
                  "owner": {"login": owner}, "private": False}  # fmt: skip
    found: dict[str, dict[str, Any]] = {}

    def add(name: str, event_name: str, ref: str, payload: dict[str, Any]) -> None:
        found[name] = {
            "event_name": event_name,
            "ref": ref,
            "payload": {"repository": repository} | payload,
        }

    push = triggers.get("push", "absent")
    if push != "absent":
        filters = push or {}
        if _matches(filters, "tags", tag):
            add("tag", "push", f"refs/tags/{tag}", {"ref": f"refs/tags/{tag}", "base_ref": None})
        names = [b for b in (filters.get("branches") or []) if not any(c in str(b) for c in "*?![")]
        for name in ([branch] if branch in names or not names else []) + [
            b for b in names if b != branch
        ][:1]:
            if _matches(filters, "branches", name):
                add(f"push-{name}", "push", f"refs/heads/{name}", {"ref": f"refs/heads/{name}"})
    if "release" in triggers:
        types = (triggers.get("release") or {}).get("types") or ["published"]
        release = {"tag_name": tag, "name": tag, "prerelease": False, "draft": False}
        add("release", "release", f"refs/tags/{tag}", {"action": types[0], "release": release})
    for kind in ("pull_request", "pull_request_target"):
        if kind in triggers:
            pull = {"number": PR_NUMBER, "head": {"ref": "feature", "sha": sha, "repo": {"full_name": repo, "fork": False}},
                    "base": {"ref": branch, "repo": {"full_name": repo}}}  # fmt: skip
            ref = (
                f"refs/pull/{PR_NUMBER}/merge" if kind == "pull_request" else f"refs/heads/{branch}"
            )
            add("pull_request", kind, ref, {"number": PR_NUMBER, "pull_request": pull})
            break
    if "schedule" in triggers:
        add("schedule", "schedule", f"refs/heads/{branch}", {"schedule": "0 0 * * *"})
    if "workflow_dispatch" in triggers:
        spec = (triggers.get("workflow_dispatch") or {}).get("inputs") or {}
        inputs = {k: text((v or {}).get("default", "")) for k, v in spec.items()}
        add(
            "workflow_dispatch",
            "workflow_dispatch",
            f"refs/heads/{branch}",
            {"inputs": inputs, "ref": f"refs/heads/{branch}"},
        )
    return found


def github_context(event: dict[str, Any], repo: str, sha: str) -> dict[str, Any]:
    ref = event["ref"]
    ref_type = "tag" if ref.startswith("refs/tags/") else "branch"
    pull = event["payload"].get("pull_request")
    ref_name = f"{PR_NUMBER}/merge" if ref.startswith("refs/pull/") else ref.split("/", 2)[2]
    return {
        "event_name": event["event_name"], "ref": ref, "ref_name": ref_name, "ref_type": ref_type,
        "sha": sha, "repository": repo, "repository_owner": repo.split("/")[0],
        "actor": repo.split("/")[0], "triggering_actor": repo.split("/")[0],
        "event": event["payload"], "server_url": "https://github.com", "api_url": "https://api.github.com",
        "workflow": "release", "run_id": "1000", "run_number": "7", "run_attempt": "1",
        "head_ref": pull["head"]["ref"] if pull else "", "base_ref": pull["base"]["ref"] if pull else "",
        "token": "stub-token", "secret_source": "Actions", "job": "",
    }  # fmt: skip


def runner_env(github: dict[str, Any], event_path: str) -> dict[str, str]:
    """The GITHUB_* variables a runner sets for the event."""
    return {
        "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_EVENT_NAME": github["event_name"],
        "GITHUB_REF": github["ref"], "GITHUB_REF_NAME": github["ref_name"],
        "GITHUB_REF_TYPE": github["ref_type"], "GITHUB_SHA": github["sha"],
        "GITHUB_REPOSITORY": github["repository"], "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
        "GITHUB_ACTOR": github["actor"], "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "1000", "GITHUB_RUN_NUMBER": "7", "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_WORKFLOW": "release", "GITHUB_HEAD_REF": github["head_ref"],
        "GITHUB_BASE_REF": github["base_ref"], "GITHUB_EVENT_PATH": event_path,
        "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64",
    }  # fmt: skip


# ---- the API stub and the action ---------------------------------------------------------------


class Stub:
    """A loopback GitHub API: GET /repos/{owner}/{repo} names the default branch."""

    def __init__(self) -> None:
        self.default_branch = "main"
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"default_branch": stub.default_branch}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def read_runner_file(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT / $GITHUB_ENV as the runner reads them (name=value, name<<DELIM)."""
    values: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    at = 0
    while at < len(lines):
        line = lines[at]
        at += 1
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while at < len(lines) and lines[at] != delimiter:
                body.append(lines[at])
                at += 1
            at += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


PIN_CLOCK = f"""const RealDate = Date; const pinned = {PINNED_EPOCH * 1000};
class PinnedDate extends RealDate {{ constructor(...a) {{ super(...(a.length ? a : [pinned])); }}
  static now() {{ return pinned; }} }}
globalThis.Date = PinnedDate;
"""


def metadata_action(
    action: Path, inputs: dict[str, str], env: dict[str, str], work: Path
) -> dict[str, str]:
    """The real action's outputs (and the DOCKER_METADATA_OUTPUT_* it exports)."""
    output, exported = work / "md-output", work / "md-env"
    output.write_text("")
    exported.write_text("")
    pin = work / "pin-clock.cjs"
    pin.write_text(PIN_CLOCK)
    defaults = {"context": "workflow", "github-token": "stub-token"}
    run_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")} | env | {
        "GITHUB_OUTPUT": str(output), "GITHUB_ENV": str(exported), "RUNNER_TEMP": str(work),
    }  # fmt: skip
    for name, value in (defaults | inputs).items():
        run_env[f"INPUT_{name.upper().replace(' ', '_')}"] = value
    done = subprocess.run(["node", "--require", str(pin), str(action / "dist/index.cjs")],
                          env=run_env, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    if done.returncode != 0 or "::error::" in done.stdout:
        raise RuntimeError(f"metadata-action failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return read_runner_file(output) | {"__env__": json.dumps(read_runner_file(exported))}


FAKE_DOCKER = """#!/usr/bin/env bash
# stands in for docker (and skopeo): records the arguments, does nothing
python3 -c 'import json,sys; print(json.dumps([sys.argv[1]] + sys.argv[2:]))' "$(basename "$0")" "$@" >> "$FAKE_DOCKER_LOG"
if [[ "$1 $2 $3" == "buildx imagetools inspect" ]]; then echo '{}'; fi
exit 0
"""


def run_step(
    script: str, env: dict[str, str], cwd: Path, checkout: Path, work: Path, shell: str | None
) -> tuple[dict[str, str], dict[str, str], list[list[str]], int]:
    """A `run:` step in real bash: its outputs, its exported env, the docker calls it made."""
    output, exported, log = work / "run-output", work / "run-env", work / "docker-log"
    for path in (output, exported, log):
        path.write_text("")
    bindir = work / "bin"
    bindir.mkdir(exist_ok=True)
    for tool in ("docker", "skopeo"):
        (bindir / tool).write_text(FAKE_DOCKER)
        (bindir / tool).chmod(0o755)
    script_file = work / "step.sh"
    script_file.write_text(script)
    run_env = {"PATH": f"{bindir}:{os.environ['PATH']}", "HOME": str(work)} | env | {
        "GITHUB_OUTPUT": str(output), "GITHUB_ENV": str(exported), "FAKE_DOCKER_LOG": str(log),
        "RUNNER_TEMP": str(work), "GITHUB_WORKSPACE": str(checkout), "GITHUB_STEP_SUMMARY": str(work / "summary"),
    }  # fmt: skip
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)]
    if shell and shell.startswith("sh"):
        command = ["sh", "-e", str(script_file)]
    try:
        done = subprocess.run(
            command, cwd=cwd, env=run_env, capture_output=True, text=True, timeout=30, check=False
        )
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = -1
    calls = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return read_runner_file(output), read_runner_file(exported), calls, code


def bake(
    files: list[str], targets: list[str], sets: list[str], checkout: Path, env: dict[str, str]
) -> dict[str, Any]:
    """The engine's own resolution of a bake-action step."""
    command = ["docker", "buildx", "bake", "--print"]
    for file in files:
        command += ["-f", file]
    for item in sets:
        command += ["--set", item]
    done = subprocess.run(command + targets, cwd=checkout, env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")} | env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"bake --print failed: {done.stderr[-1000:]}")
    return json.loads(done.stdout)


# ---- the workflow walk -----------------------------------------------------------------------


def matrix_rows(strategy: Any, context: dict[str, Any]) -> list[dict[str, Any]]:
    matrix = evaluate((strategy or {}).get("matrix"), context) if strategy else None
    if not matrix:
        return [{}]
    if isinstance(matrix, Unknown):
        raise RuntimeError(f"matrix unknown: {matrix}")
    include = matrix.get("include") or []
    exclude = matrix.get("exclude") or []
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    rows = (
        [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
        if axes
        else []
    )
    rows = [
        r for r in rows if not any(all(_equal(r.get(k), v) for k, v in e.items()) for e in exclude)
    ]
    original = list(rows)
    for extra in include:
        # GitHub's rule: an include joins each original combination whose matrix values it
        # does not change; one that joins none is a combination of its own
        targets = [
            r
            for r in original
            if axes and all(_equal(r.get(k), v) for k, v in extra.items() if k in axes)
        ]
        for row in targets:
            row.update(extra)
        if not targets:
            rows.append(dict(extra))
    return rows or [{}]


def _lines(value: Any) -> list[str]:
    """build-push-action's list inputs: newline or comma separated, `#` lines skipped."""
    if value is None:
        return []
    items = []
    for line in text(value).splitlines():
        if line.strip().startswith("#"):
            continue
        items += [i.strip() for i in line.split(",")]
    return [i for i in items if i]


def _args(value: Any) -> dict[str, str]:
    args = {}
    for line in text(value).splitlines() if value is not None else []:
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, arg = line.partition("=")
            args[name] = arg
    return args


def _bool(value: Any) -> bool:
    return truthy(value) and text(value).lower() not in ("false", "0")


class Walk:
    """One event's run of a workflow file: every job, every matrix row, every step."""

    def __init__(
        self,
        root: Path,
        repo: str,
        action: Path,
        github: dict[str, Any],
        env: dict[str, str],
        checkout: Path,
        work: Path,
    ) -> None:
        self.root, self.repo, self.action, self.github = root, repo, action, github
        self.env, self.checkout, self.work = env, checkout, work
        self.builds: list[dict[str, Any]] = []
        self.manifests: list[dict[str, Any]] = []
        self.unknown: set[str] = set()
        self.notes: list[str] = []
        self.native = "linux/amd64"

    def context(self, **extra: Any) -> dict[str, Any]:
        return {"github": self.github, "secrets": Unknown("secrets"), "vars": Unknown("vars"),
                "runner": {"os": "Linux", "arch": "X64", "temp": str(self.work)}, "job": {"status": "success"},
                "strategy": {"job-index": 0}} | extra  # fmt: skip

    def workflow(self, path: str, inputs: dict[str, Any], label: str) -> dict[str, Any]:
        data = yaml.safe_load((self.root / path).read_text())
        jobs = data.get("jobs") or {}
        call = data.get(True) or data.get("on") or {}
        if isinstance(call, dict) and isinstance(call.get("workflow_call"), dict):
            for name, spec in (call["workflow_call"].get("inputs") or {}).items():
                inputs.setdefault(name, (spec or {}).get("default"))
        wf_env = {}
        base = self.context(inputs=inputs, env={})
        for key, value in (data.get("env") or {}).items():
            wf_env[key] = text(evaluate(value, base | {"env": wf_env}))
        needs_out: dict[str, dict[str, Any]] = {}
        for job_id in self._order(jobs):
            job = jobs[job_id]
            needs = (
                [job.get("needs")] if isinstance(job.get("needs"), str) else job.get("needs") or []
            )
            context = self.context(
                inputs=inputs,
                env=wf_env,
                needs={n: needs_out.get(n, {"outputs": {}, "result": "success"}) for n in needs},
            )
            if not condition(job.get("if"), context):
                needs_out[job_id] = {"outputs": {}, "result": "skipped"}
                continue
            needs_out[job_id] = {
                "outputs": self.job(f"{label}{job_id}", job, context),
                "result": "success",
            }
        call_out = {}
        if isinstance(call, dict) and isinstance(call.get("workflow_call"), dict):
            for name, spec in (call["workflow_call"].get("outputs") or {}).items():
                call_out[name] = text(
                    evaluate(
                        spec.get("value"), self.context(inputs=inputs, env=wf_env, jobs=needs_out)
                    )
                )
        return call_out

    @staticmethod
    def _order(jobs: dict[str, Any]) -> list[str]:
        done: list[str] = []
        while len(done) < len(jobs):
            for job_id, job in jobs.items():
                needs = (
                    [job.get("needs")]
                    if isinstance(job.get("needs"), str)
                    else job.get("needs") or []
                )
                if job_id not in done and all(n in done for n in needs):
                    done.append(job_id)
        return done

    def job(self, label: str, job: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for row in matrix_rows(job.get("strategy"), context):
            row_context = context | {"matrix": row}
            runs_on = text(evaluate(job.get("runs-on"), row_context))
            self.native = "linux/arm64" if "arm" in runs_on else "linux/amd64"
            name = f"{label}" + (f" {json.dumps(row, sort_keys=True)}" if row else "")
            if "uses" in job:
                outputs |= self.call(name, job, row_context)
                continue
            job_env = dict(context["env"])
            for key, value in (job.get("env") or {}).items():
                job_env[key] = text(evaluate(value, row_context | {"env": job_env}))
            steps: dict[str, Any] = {}
            for index, step in enumerate(job.get("steps") or []):
                step_context = row_context | {"env": job_env, "steps": steps}
                if not condition(step.get("if"), step_context):
                    continue
                step_env = dict(job_env)
                for key, value in (step.get("env") or {}).items():
                    step_env[key] = text(evaluate(value, step_context | {"env": step_env}))
                result = self.step(
                    f"{name} step {step.get('id') or step.get('name') or index}",
                    step,
                    step_context | {"env": step_env},
                    step_env,
                    job,
                )
                if result is not None:
                    out, exported = result
                    if step.get("id"):
                        steps[step["id"]] = {
                            "outputs": out,
                            "outcome": "success",
                            "conclusion": "success",
                        }
                    job_env.update(exported)
            job_context = row_context | {"env": job_env, "steps": steps}
            for key, value in (job.get("outputs") or {}).items():
                evaluated = evaluate(value, job_context)
                if text(evaluated):
                    outputs[key] = text(evaluated)
        return outputs

    def call(self, name: str, job: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        uses = str(job["uses"])
        with_ = {k: evaluate(v, context) for k, v in (job.get("with") or {}).items()}
        path = uses.split("@")[0]
        local = (
            uses[2:]
            if uses.startswith("./")
            else path[len(self.repo) + 1 :]
            if path.startswith(f"{self.repo}/")
            else None
        )
        if local is not None and (self.root / local).is_file():
            return self.workflow(local, with_, f"{name} > ")
        if local is not None:
            self.notes.append(
                f"{name}: {local} (tests, no image) is not kept in the corpus; not run"
            )
            return {}
        if path == GITHUB_BUILDER:
            self.github_builder(name, with_)
            return {}
        self.notes.append(f"{name}: the reusable workflow {uses} is not in the corpus; not run")
        return {}

    def github_builder(self, name: str, with_: dict[str, Any]) -> None:
        """docker/github-builder's build workflow: metadata-action with meta-*, one build."""
        inputs = {"images": text(with_.get("meta-images")), "tags": text(with_.get("meta-tags")),
                  "flavor": text(with_.get("meta-flavor"))}  # fmt: skip
        meta = metadata_action(self.action, inputs, self.env, self.work)
        args = {
            k: v.replace("{{meta.version}}", meta["version"])
            for k, v in _args(with_.get("build-args")).items()
        }
        self.record_build(name, {"tags": meta["tags"], "platforms": with_.get("platforms"),
                                 "context": with_.get("context"), "file": with_.get("file"),
                                 "push": with_.get("push"), "target": with_.get("target")}, args)  # fmt: skip
        self.notes.append(
            f"{name}: docker/github-builder's build.yml, read as metadata-action with its meta-* inputs and one build"
        )

    def step(
        self,
        name: str,
        step: dict[str, Any],
        context: dict[str, Any],
        env: dict[str, str],
        job: dict[str, Any],
    ) -> tuple[dict[str, Any], dict[str, str]] | None:
        uses = str(step.get("uses") or "")
        with_ = {k: evaluate(v, context) for k, v in (step.get("with") or {}).items()}
        self._note_unknown(with_)
        if uses.startswith("docker/metadata-action"):
            inputs = {k: text(v) for k, v in with_.items()}
            outputs = metadata_action(self.action, inputs, self.env, self.work)
            exported = json.loads(outputs.pop("__env__"))
            return outputs, exported
        if uses.startswith(BUILD_ACTIONS):
            build = self.record_build(name, with_, _args(with_.get("build-args")))
            return {
                "digest": f"sha256:{'0' * 64}",
                "imageid": "",
                "metadata": json.dumps({"containerimage.digest": "sha256:" + "0" * 64}),
                "build": build,
            }, {}
        if uses.startswith("docker/bake-action"):
            self.record_bake(name, with_, env)
            return {"metadata": "{}"}, {}
        if "run" in step:
            script = text(evaluate(step["run"], context))
            writes = re.search(r"GITHUB_(OUTPUT|ENV)|\bdocker\b", str(step["run"]))
            if not writes:
                return {}, {}
            shell = step.get("shell") or (job.get("defaults") or {}).get("run", {}).get("shell")
            cwd = self.working_directory(
                text(evaluate(step.get("working-directory"), context)) or None
            )
            out, exported, calls, code = run_step(
                script, self.env | env, cwd, self.checkout, self.work, shell
            )
            if code != 0:
                self.notes.append(
                    f"{name}: the run step exited {code} in this sandbox (its outputs as far as it wrote them)"
                )
            self.record_docker_calls(name, calls)
            return out, exported
        return {}, {}

    def working_directory(self, path: str | None) -> Path:
        """A step's working-directory: in the checkout, or (an absolute path, where a merge job
        downloads its legs' digests) a folder of the sandbox holding a stand-in digest file
        in both spellings the workflows read (digest-<arch>.txt, a file named by the digest)."""
        if not path:
            return self.checkout
        if not path.startswith("/"):
            return self.checkout / path
        folder = self.work / "fs" / path.lstrip("/")
        if not folder.exists():
            folder.mkdir(parents=True)
            (folder / "digest-amd64.txt").write_text(f"sha256:{'0' * 64}\n")
            (folder / ("0" * 64)).write_text("")
        return folder

    def _note_unknown(self, values: dict[str, Any]) -> None:
        for value in values.values():
            if isinstance(value, Unknown):
                for match in re.findall(r"(secrets|vars)-[\w-]+", value):
                    self.unknown.add(match)

    def record_build(
        self, name: str, with_: dict[str, Any], args: dict[str, str]
    ) -> dict[str, Any]:
        outputs = text(with_.get("outputs"))
        by_digest = "push-by-digest=true" in outputs
        tags = _lines(with_.get("tags"))
        images = sorted({t.rsplit(":", 1)[0] if ":" in t.split("/")[-1] else t for t in tags})
        named = re.search(r"name=([^,\s]+)", outputs)
        if by_digest and named:
            images = sorted({n.strip() for n in named.group(1).strip('"').split(",")})
        push = _bool(with_.get("push")) or ("push=true" in outputs)
        # no platforms input: the runner's own (the corpus's runners are linux/amd64 but where
        # the job runs on an arm runner)
        platforms = _lines(with_.get("platforms")) or [self.native]
        build = {"step": name, "images": images, "tags": [] if by_digest else tags,
                 "platforms": platforms, "build_args": args,
                 "file": text(with_.get("file")) or None, "context": text(with_.get("context")) or None,
                 "target": text(with_.get("target")) or None, "push": push, "by_digest": by_digest}  # fmt: skip
        self.builds.append(build)
        return build

    def record_bake(self, name: str, with_: dict[str, Any], env: dict[str, str]) -> None:
        sets = _lines_keep_commas(with_.get("set"))
        files = _lines(with_.get("files")) or ["docker-bake.hcl"]
        targets = _lines(with_.get("targets")) or ["default"]
        printed = bake(files, targets, sets, self.checkout, env)
        for target_name, target in printed.get("target", {}).items():
            outputs = " ".join(
                target.get("output", []) if isinstance(target.get("output"), list) else []
            )
            outputs = outputs or json.dumps(target.get("output"))
            by_digest = "push-by-digest=true" in outputs
            tags = target.get("tags") or []
            build = {"step": f"{name} target {target_name}", "images": sorted({t.rsplit(":", 1)[0] for t in tags}),
                     "tags": [] if by_digest else tags, "platforms": target.get("platforms") or [],
                     "build_args": target.get("args") or {}, "file": target.get("dockerfile"),
                     "context": target.get("context"), "target": target.get("target"),
                     "push": _bool(with_.get("push")) or "push=true" in outputs, "by_digest": by_digest}  # fmt: skip
            self.builds.append(build)

    def record_docker_calls(self, name: str, calls: list[list[str]]) -> None:
        for call in calls:
            tool, argv = call[0], call[1:]
            if tool == "skopeo" and argv[:1] == ["copy"]:
                refs = [a.removeprefix("docker://") for a in argv[1:] if a.startswith("docker://")]
                if len(refs) == 2:
                    self.manifests.append(
                        {"step": name, "tags": [refs[1]], "sources": [refs[0]], "dry_run": False}
                    )
                continue
            if tool != "docker":
                continue
            if argv[:3] == ["buildx", "imagetools", "create"] or argv[:2] == ["manifest", "create"]:
                tags, sources, at = [], [], 3 if argv[0] == "buildx" else 2
                while at < len(argv):
                    arg = argv[at]
                    if arg in ("-t", "--tag"):
                        tags.append(argv[at + 1])
                        at += 2
                        continue
                    if arg.startswith("--tag="):
                        tags.append(arg.split("=", 1)[1])
                    elif arg in ("-f", "--file", "--annotation"):
                        at += 1
                    elif not arg.startswith("-"):
                        sources.append(arg)
                    at += 1
                if argv[0] == "manifest":
                    tags, sources = sources[:1], sources[1:]
                self.manifests.append(
                    {"step": name, "tags": tags, "sources": sources, "dry_run": "--dry-run" in argv}
                )


def _lines_keep_commas(value: Any) -> list[str]:
    return (
        [
            line.strip()
            for line in text(value).splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
        if value
        else []
    )


def _repository(tag: str) -> str:
    last = tag.split("/")[-1]
    return tag.rsplit(":", 1)[0] if ":" in last else tag.split("@")[0]


def published(
    builds: list[dict[str, Any]], manifests: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The images the run names: each tagged build, and each manifest a merge job makes (of
    push-by-digest legs, of per-architecture tags, or a copy of an image already named)."""
    images = []
    for build in builds:
        if not build["by_digest"] and build["tags"]:
            images.append({"from": build["step"], "tags": build["tags"], "platforms": build["platforms"],
                           "build_args": build["build_args"], "push": build["push"]})  # fmt: skip
    for manifest in manifests:
        if manifest["dry_run"] or not manifest["tags"]:
            continue
        sources = {s.lower() for s in manifest["sources"]}
        named = [i for i in images if sources & {t.lower() for t in i["tags"]}]
        if not named:
            names = {_repository(t).lower() for t in manifest["tags"]} | {
                _repository(s).lower() for s in manifest["sources"]
            }
            named = [
                b for b in builds if b["by_digest"] and names & {i.lower() for i in b["images"]}
            ]
            named = named or [b for b in builds if b["by_digest"]]
        platforms = sorted({p for leg in named for p in leg["platforms"]})
        args: dict[str, str] = {}
        for leg in named:
            args |= leg["build_args"]
        images.append({"from": manifest["step"], "tags": manifest["tags"], "platforms": platforms,
                       "build_args": args, "push": True,
                       "merged_from": [leg.get("step") or leg.get("from") for leg in named]})  # fmt: skip
    return images


def checkout_of(project: Path, event: dict[str, Any], branch: str, into: Path) -> Path:
    """The project's files as a runner's checkout: one commit, tagged for a tag event."""
    checkout = into / "checkout"
    shutil.copytree(project, checkout, ignore=shutil.ignore_patterns("expected.json", "SOURCE"))
    git_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(into),
        "GIT_AUTHOR_DATE": PINNED,
        "GIT_COMMITTER_DATE": PINNED,
    }

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                       cwd=checkout, env=git_env, check=True, capture_output=True)  # fmt: skip

    git("init", "-q", "-b", branch)
    git("add", "-A")
    git("commit", "-q", "-m", "checkout")
    if event["ref"].startswith("refs/tags/"):
        git("tag", "-a", "-m", "release", event["ref"].removeprefix("refs/tags/"))
    return checkout


def expected_for(name: str, action: Path, stub: Stub) -> dict[str, Any]:
    project = CORPUS / name
    spec = PROJECTS[name]
    repo = name.replace("__", "/", 1)
    workflow_path = f".github/workflows/{spec['workflow']}"
    data = yaml.safe_load((project / workflow_path).read_text())
    stub.default_branch = spec["branch"]
    with tempfile.TemporaryDirectory() as tmp:
        # the checkout's commit (the same files, dates and message give the same one each
        # time, in the test's checkout too): the run steps that ask git for GITHUB_SHA find it
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=checkout_of(project, {"ref": ""}, spec["branch"], Path(tmp)),
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    result: dict[str, Any] = {
        "repository": repo, "workflow": workflow_path, "default_branch": spec["branch"],
        "sha": sha, "pinned_time": PINNED, "events": {},
        "how": "scripts/corpus-expected.py: metadata-action's dist run under node, run steps in bash, "
               "bake by `docker buildx bake --print`, expressions evaluated by the script",
    }  # fmt: skip
    for event_name, event in events(data.get(True) or data.get("on"), spec, repo, sha).items():
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            event_path = work / "event.json"
            event_path.write_text(json.dumps(event["payload"]))
            github = github_context(event, repo, sha)
            env = runner_env(github, str(event_path)) | {"GITHUB_API_URL": stub.url}
            checkout = checkout_of(project, event, spec["branch"], work)
            assert (
                sha
                == subprocess.run(
                    ["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True
                ).stdout.strip()
            )
            walk = Walk(project, repo, action, github, env, checkout, work)
            if event["event_name"] == "workflow_dispatch":
                walk.github["event"] = event["payload"]
            walk.workflow(workflow_path, dict(event["payload"].get("inputs") or {}), "")
            runner = {
                k: v for k, v in env.items() if k not in ("GITHUB_EVENT_PATH", "GITHUB_API_URL")
            }
            result["events"][event_name] = {
                "env": runner, "payload": event["payload"],
                "builds": walk.builds, "manifests": walk.manifests,
                "published": published(walk.builds, walk.manifests),
                "unknown": sorted(walk.unknown), "notes": walk.notes,
            }  # fmt: skip
    return result


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    action = Path(sys.argv[1])
    names = sys.argv[2:] or sorted(PROJECTS)
    stub = Stub()
    for name in names:
        try:
            expected = expected_for(name, action, stub)
        except Exception as error:  # one project's failure is reported, the others still run
            print(f"{name}: FAILED {type(error).__name__}: {error}", file=sys.stderr)
            continue
        (CORPUS / name / "expected.json").write_text(
            json.dumps(expected, indent=2, sort_keys=False) + "\n"
        )
        counts = {e: len(v["published"]) for e, v in expected["events"].items()}
        print(f"{name}: {counts}")


if __name__ == "__main__":
    main()
