"""`buildcache merge`: per-platform `build --push-by-digest` results -> tagged indexes."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.text import Text

from buildcache import engine
from buildcache.build import print_publish
from buildcache.commands.build import retry_policy
from buildcache.config import Config
from buildcache.errors import BuildFailed
from buildcache.merge import merge as merge_results
from buildcache.merge import read_results
from buildcache.output import print_json
from buildcache.publish import Publisher, RetryPolicy
from buildcache.registry import RegistryClient


def merge(results: list[Path], config: Config | None, *, as_json: bool, console: Console) -> None:
    merged = read_results(results)
    client = engine.make_client()
    engine.require_docker_command(client)

    def digest_of(image: str, tag: str) -> str:
        host, repo = image.split("/", 1)
        with RegistryClient(host) as registry:
            manifest = registry.manifest(repo, tag)
        if manifest is None or not manifest.digest:
            raise BuildFailed(f"{image}:{tag} was made but cannot be read back")
        return manifest.digest

    publisher = Publisher(
        copy=lambda sources, targets: engine.copy_image(client, list(sources), list(targets)),
        policy=retry_policy(config) if config else RetryPolicy(),
        sleep=time.sleep,
        on_event=lambda message: console.print(Text(f"retry: {message}", style="yellow")),
    )
    published = merge_results(merged, publisher, digest_of)
    print_publish(console, published)
    if as_json:
        print_json(
            {
                "version": merged.version,
                "variants": [
                    {
                        "name": v.name,
                        "platforms": merged.platforms[v.name],
                        "sources": merged.sources[v.name],
                        "publish": [r.to_json() for r in published if r.variant == v.name],
                    }
                    for v in merged.variants
                ],
            }
        )
    if any(r.status != "done" for r in published):
        raise BuildFailed(
            "not every tag was published (the table above says which)",
            hint="run the same merge again: it copies by digest what is missing",
        )
    platforms = sorted({p for ps in merged.platforms.values() for p in ps})
    console.print(
        Text(
            f"merged {len(merged.variants)} variant(s) for {', '.join(platforms)}",
            style="bold green",
        )
    )
