"""Pure: a platform as BuildKit reads it (`os/arch[/variant]`), checked at plan time.

BuildKit parses platforms with containerd's rules: the OS and architecture names of Go, and a
few spellings it normalises (`x86_64` is `amd64`, `aarch64` is `arm64`). A name it does not know
fails the build only after the engine is asked, so the plan refuses it first, with the nearest
known name.
"""

from __future__ import annotations

import difflib

# GOOS and GOARCH values BuildKit accepts for images (containerd's platforms package)
KNOWN_OS = (
    "linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix",
    "plan9", "dragonfly", "android", "ios", "js", "wasip1",
)  # fmt: skip
KNOWN_ARCH = (
    "amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64", "mips64le", "mips64",
    "mipsle", "mips", "loong64", "wasm",
)  # fmt: skip
# containerd's normalisation: another spelling -> (architecture, variant)
ARCH_ALIASES = {
    "x86_64": ("amd64", None),
    "x86-64": ("amd64", None),
    "aarch64": ("arm64", None),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "i386": ("386", None),
    "i686": ("386", None),
}
KNOWN_VARIANTS = {
    "arm": ("v5", "v6", "v7", "v8"),
    "arm64": ("v8", "v9"),
    "amd64": ("v1", "v2", "v3", "v4"),
}


class PlatformError(ValueError):
    """A platform BuildKit would refuse: the sentence says why and what was meant."""


def normal_platform(text: str) -> str:
    """`text` as BuildKit names it (`linux/x86_64` -> `linux/amd64`). Raises PlatformError."""
    parts = text.strip().lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise PlatformError(f"{text!r} is not a platform like 'linux/amd64' or 'linux/arm/v7'")
    os, arch, *rest = parts
    variant = rest[0] if rest else None
    if os not in KNOWN_OS:
        raise PlatformError(f"{text!r}: BuildKit knows no OS {os!r}{_nearest(os, KNOWN_OS)}")
    if arch in ARCH_ALIASES:
        arch, implied = ARCH_ALIASES[arch]
        variant = variant or implied
    if arch not in KNOWN_ARCH:
        raise PlatformError(
            f"{text!r}: BuildKit knows no architecture {arch!r}{_nearest(arch, KNOWN_ARCH)}"
        )
    _check_variant(text, arch, variant)
    return "/".join(p for p in (os, arch, variant) if p)


def _check_variant(text: str, arch: str, variant: str | None) -> None:
    known = KNOWN_VARIANTS.get(arch, ())
    if variant is not None and variant not in known:
        which = f" (it has {', '.join(known)})" if known else " (it has none)"
        raise PlatformError(f"{text!r}: {arch} has no variant {variant!r}{which}")


def _nearest(name: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
