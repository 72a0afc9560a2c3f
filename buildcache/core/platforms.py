"""Pure: a platform as BuildKit reads it (`os/arch[/variant]`), checked at plan time.

BuildKit parses platforms with containerd's rules (its platforms package, `normalizeArch`): the
OS and architecture names of Go, and the spellings it normalises, so that the plan names each
platform as the pushed index will: `x86_64` is `amd64`, `aarch64` is `arm64`, `linux/arm` and
`linux/arm/7` are `linux/arm/v7`, `linux/arm64/v8` is `linux/arm64`, `linux/amd64/v1` is
`linux/amd64`, `macos` is `darwin`. A name it does not know fails the build only after the
engine is asked, so the plan refuses it first, with the nearest known name.
"""

from __future__ import annotations

import difflib

# GOOS and GOARCH values BuildKit accepts for images (containerd's platforms package)
KNOWN_OS = (
    "linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix",
    "plan9", "dragonfly", "android", "ios", "js", "wasip1", "hurd", "nacl", "zos",
)  # fmt: skip
KNOWN_ARCH = (
    "amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64", "mips64le", "mips64",
    "mipsle", "mips", "loong64", "wasm", "amd64p32", "armbe", "arm64be", "mips64p32",
    "mips64p32le", "ppc", "riscv", "s390", "sparc", "sparc64",
)  # fmt: skip
OS_ALIASES = {"macos": "darwin"}
# containerd's normalisation: another spelling -> (architecture, the variant it implies; "" for
# none, whatever was written; None to keep the one written)
ARCH_ALIASES: dict[str, tuple[str, str | None]] = {
    "x86_64": ("amd64", None),
    "x86-64": ("amd64", None),
    "aarch64": ("arm64", None),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),  # not containerd's: buildcache's own kindness, as before
}
# a variant that names the architecture's baseline, which containerd drops or spells out
VARIANT_ALIASES = {
    "amd64": {"v1": ""},
    "arm64": {"8": "", "v8": ""},
    "arm": {"": "v7", "7": "v7", "5": "v5", "6": "v6", "8": "v8"},
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
    os = OS_ALIASES.get(os, os)
    if os not in KNOWN_OS:
        raise PlatformError(f"{text!r}: BuildKit knows no OS {os!r}{_nearest(os, KNOWN_OS)}")
    arch, variant = _normal_arch(arch, rest[0] if rest else "")
    if arch not in KNOWN_ARCH:
        raise PlatformError(
            f"{text!r}: BuildKit knows no architecture {arch!r}{_nearest(arch, KNOWN_ARCH)}"
        )
    _check_variant(text, arch, variant or None)
    return "/".join(p for p in (os, arch, variant) if p)


def _normal_arch(arch: str, variant: str) -> tuple[str, str]:
    """An architecture and its variant ("" for none) as containerd's normalizeArch names them."""
    if arch in ARCH_ALIASES:
        arch, implied = ARCH_ALIASES[arch]
        variant = variant if implied is None else implied
    return arch, VARIANT_ALIASES.get(arch, {}).get(variant, variant)


def _check_variant(text: str, arch: str, variant: str | None) -> None:
    known = KNOWN_VARIANTS.get(arch, ())
    if variant is not None and variant not in known:
        which = f" (it has {', '.join(known)})" if known else " (it has none)"
        raise PlatformError(f"{text!r}: {arch} has no variant {variant!r}{which}")


def _nearest(name: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
