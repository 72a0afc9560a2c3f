"""Pure: the OCI labels and annotations of a run's images, from what the run knows.

As docker/metadata-action does by default: `org.opencontainers.image.source` (the repository URL,
from the CI or the git remote, credentials stripped), `.revision` (the full commit), `.version`,
`.created` (taken once per run, so every variant and platform agree; SOURCE_DATE_EPOCH when set),
and `.title`, `.description`, `.licenses`, `.url` from `[project]` in pyproject.toml. The config's
`[labels]` and `[annotations]` (and a variant's) add to them or override them. Labels go into
each image's config; annotations onto its index and each platform's manifest, where ghcr.io
reads the package's description and its repository link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from buildcache.core.config.model import Config
from buildcache.core.plan.ci import Repository

OCI = "org.opencontainers.image."
# the variant an image was built as: `merge` checks each runner's image says the variant its
# result claims (a config label: no layer, and no cache, changes with it)
VARIANT_LABEL = "dev.buildcache.variant"
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


@dataclass(frozen=True)
class Described:
    """A label or annotation value and where it came from (shown by `plan`)."""

    value: str
    origin: str


def repository_url(ci: Repository | None, remote: str | None) -> Described | None:
    """The repository's web URL: the CI's own, else the git remote's (never its credentials)."""
    if ci is not None:
        return Described(ci.url, ci.origin)
    return _web_url(remote) if remote else None


def _web_url(remote: str) -> Described | None:
    """A git remote's web URL: scp-like and ssh:// remotes as https, credentials dropped."""
    url = remote.strip()
    scp = _SCP_LIKE.match(url) if "://" not in url else None
    if scp:
        url = f"https://{scp.group('host')}/{scp.group('path')}"
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    host_part, slash, path = rest.partition("/")
    host = host_part.rsplit("@", 1)[-1]  # user:token@host -> host
    if scheme in ("ssh", "git"):
        scheme = "https"
        host = host.split(":", 1)[0]
    path = path.removesuffix(".git").rstrip("/")
    return Described(f"{scheme}://{host}{slash}{path}", "git remote origin")


def source_date_epoch(
    env: Mapping[str, str], commit_time: int | None, *, reproducible: bool
) -> str | None:
    """The run's SOURCE_DATE_EPOCH: the environment's, else, for a reproducible build, the
    commit's time; None when neither (not a git checkout, or not asked for)."""
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return epoch
    return str(commit_time) if reproducible and commit_time is not None else None


def run_time(env: Mapping[str, str], now: datetime) -> datetime:
    """The run's one time: SOURCE_DATE_EPOCH where it is set, as `.created` reads it, so that a
    reproducible run's `{{date}}` tags say the same moment as its label; else `now`."""
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    return datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else now


def created_at(epoch: str | None, now: datetime) -> Described:
    """One time for the whole run; SOURCE_DATE_EPOCH (reproducible builds) wins."""
    if epoch is not None:
        stamp = datetime.fromtimestamp(int(epoch), UTC)
        return Described(stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), "SOURCE_DATE_EPOCH")
    return Described(now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "the time of this run")


def project_fields(project: Mapping[str, Any]) -> dict[str, Described]:
    """title, description, licenses, url from a pyproject.toml `[project]` table."""
    found: dict[str, Described] = {}
    origin = "pyproject.toml [project]"
    if isinstance(project.get("name"), str):
        found["title"] = Described(project["name"], origin)
    if isinstance(project.get("description"), str) and project["description"].strip():
        found["description"] = Described(" ".join(project["description"].split()), origin)
    licenses = _licenses(project.get("license"))
    if licenses:
        found["licenses"] = Described(licenses, origin)
    url = _url(project.get("urls"))
    if url is not None:
        found["url"] = Described(url[1], f"{origin} urls.{url[0]}")
    return found


def _licenses(license_: Any) -> str | None:
    """`license = "MIT"`, or a one-line `license = { text = "..." }` (not a whole licence)."""
    if isinstance(license_, str):
        return license_
    text = license_.get("text") if isinstance(license_, dict) else None
    if not isinstance(text, str) or "\n" in text.strip() or len(text.strip()) >= 100:
        return None
    return text.strip() or None


def _url(urls: Any) -> tuple[str, str] | None:
    """The first of the project's URLs that is its home: (its key, the URL)."""
    if not isinstance(urls, dict):
        return None
    for key in ("Homepage", "homepage", "Documentation", "Repository", "Source"):
        if isinstance(urls.get(key), str):
            return key, urls[key]
    return None


def oci_labels(
    *,
    repository: Repository | None,
    remote: str | None,
    sha: str | None,
    version: str,
    now: datetime,
    epoch: str | None,
    project: Mapping[str, Any],
    extra: Mapping[str, Described],
) -> dict[str, Described]:
    """The labels of a run's images: the OCI defaults, then the config's over them."""
    labels: dict[str, Described] = {}
    source = repository_url(repository, remote)
    if source is not None:
        # metadata-action's defaults from the repository: its page, and its name as the title
        labels[OCI + "source"] = source
        labels[OCI + "url"] = source
        labels[OCI + "title"] = Described(
            source.value.rstrip("/").rsplit("/", 1)[-1], source.origin
        )
    if sha:
        labels[OCI + "revision"] = Described(sha, "the commit built")
    labels[OCI + "version"] = Described(version, "the version of this run")
    labels[OCI + "created"] = created_at(epoch, now)
    for field, described in project_fields(project).items():
        labels[OCI + field] = described
    return {**labels, **extra}


def csv_field(text: str) -> str:
    """One field of buildx's comma-separated --output value, quoted as encoding/csv reads it."""
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


Metadata = tuple[dict[str, Described], dict[str, Described]]  # (labels, annotations)


def with_command_line(
    found: Metadata, labels: Mapping[str, str], annotations: Mapping[str, str]
) -> Metadata:
    """--label and --annotation over everything else; an OCI label given so is an annotation
    too, as the config's are."""
    own = {k: Described(v, "--label") for k, v in labels.items()}
    own_oci = {k: v for k, v in own.items() if k.startswith(OCI)}
    given = {k: Described(v, "--annotation") for k, v in annotations.items()}
    return {**found[0], **own}, {**found[1], **own_oci, **given}


def variant_metadata(
    config: Config,
    *,
    repository: Repository | None,
    remote: str | None,
    sha: str | None,
    version: str,
    now: datetime,
    epoch: str | None = None,
) -> dict[str, Metadata]:
    """Each variant's (labels, annotations): the OCI defaults of the run, the config's tables
    over them, the variant's over those. The annotations start from the OCI keys of the labels."""
    labels = oci_labels(
        repository=repository,
        remote=remote,
        sha=sha,
        version=version,
        now=now,
        epoch=epoch,
        project=config.project,
        extra={k: Described(v, "[labels]") for k, v in config.labels.items()},
    )
    annotations = {
        **{k: v for k, v in labels.items() if k.startswith(OCI)},
        **{k: Described(v, "[annotations]") for k, v in config.annotations.items()},
    }
    found = {}
    for variant in config.variants:
        where = f"[variants.{variant.name}."
        own = {VARIANT_LABEL: Described(variant.name, "the variant built")}
        found[variant.name] = (
            {
                **labels,
                **own,
                **{k: Described(v, where + "labels]") for k, v in variant.labels.items()},
            },
            {
                **annotations,
                **{k: Described(v, where + "annotations]") for k, v in variant.annotations.items()},
            },
        )
    return found
