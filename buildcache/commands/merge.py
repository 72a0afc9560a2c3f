"""`buildcache merge`: per-platform `build --push-by-digest` results -> tagged indexes."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from buildcache.commands.build import retry_policy
from buildcache.core.config.model import Config
from buildcache.core.merge import merge as merge_results
from buildcache.core.merge import read_results
from buildcache.core.publish import Publisher, RetryPolicy
from buildcache.core.reference import ImageRef
from buildcache.errors import BuildcacheError, BuildFailed
from buildcache.registry.client import RegistryClient
from buildcache.ui.console import print_json, say
from buildcache.ui.tables import publish_table


def merge(
    results: list[Path],
    load_config: Callable[[], Config],
    *,
    as_json: bool,
    console: Console,
    explicit_config: bool = False,
) -> None:
    from buildcache.docker import engine

    merged = read_results(results)
    try:
        config: Config | None = load_config()
    except BuildcacheError:
        if explicit_config:
            raise
        config = None
    client = engine.make_client()
    engine.require_docker_command(client)

    def digest_of(ref: ImageRef) -> str:
        with RegistryClient(ref.registry) as registry:
            manifest = registry.manifest(ref.repository, ref.tag or "")
        if manifest is None or not manifest.digest:
            raise BuildFailed(f"{ref} was made but cannot be read back")
        return manifest.digest

    def copy(sources: Sequence[ImageRef], targets: Sequence[ImageRef]) -> None:
        engine.copy_image(client, sources, targets)

    publisher = Publisher(
        copy=copy,
        policy=retry_policy(config) if config else RetryPolicy(),
        sleep=time.sleep,
        on_event=lambda message: say(console, f"retry: {message}", "yellow"),
    )
    published = merge_results(merged, publisher, digest_of)
    if published:
        console.print(publish_table(published))
    if as_json:
        print_json(
            {
                "version": merged.version,
                "variants": [
                    {
                        "name": v.name,
                        "platforms": merged.platforms[v.name],
                        "sources": [str(s) for s in merged.sources[v.name]],
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
    say(
        console,
        f"merged {len(merged.variants)} variant(s) for {', '.join(platforms)}",
        "bold green",
    )
