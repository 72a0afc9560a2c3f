"""Pure: every rule about secrets that buildcache itself did not declare as secrets: a build
argument named like one is shown as ***, warned about, hidden in BuildKit's own text, and kept
in a cache's record only as a short keyed hash that tells a change and cannot confirm a guess."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping

SECRET_WORDS = ("TOKEN", "PASSWORD", "PASSWD", "SECRET", "KEY", "CREDENTIAL")


def looks_secret(name: str) -> bool:
    return any(word in name.upper() for word in SECRET_WORDS)


# what a record keeps of a secret-looking value: an HMAC of it under the record's own random key,
# cut to 16 bits. Enough to say "changed" (1 change in 65,536 goes unseen), too little to
# confirm a guess: every candidate matches with a chance of 1 in 65,536, so a list of a million
# leaves ~15 standing, and no table computed before the key was drawn applies (docs/cache.md)
KEPT_PREFIX = "hmac16:"


def kept_value(name: str, value: str | None, key: str) -> str | None:
    """What a record keeps of an argument's value: a secret-looking one only as a 16-bit HMAC
    under the record's `key` (the same key and value, the same text: comparable)."""
    if value is None or not looks_secret(name):
        return value
    mac = hmac.new(bytes.fromhex(key), f"{name}\0{value}".encode(), hashlib.sha256)
    return KEPT_PREFIX + mac.hexdigest()[:4]


def secret_looking_args(names: Iterable[str]) -> list[str]:
    """Build arguments named like secrets: their values end up in the image's history and its
    provenance, where anyone who can pull the image reads them. buildcache shows them as ***."""
    return [
        f"the build argument {name} looks like a secret: build arguments are kept in the image's "
        "history; pass secrets with [secrets] or --secret and RUN --mount=type=secret instead"
        for name in sorted(set(names))
        if looks_secret(name)
    ]


def redactor(args: Iterable[Mapping[str, str]]) -> Callable[[str], str]:
    """What hides the values of secret-looking build arguments in BuildKit's own text (it
    expands arguments into step names: `RUN login "hunter2"`) before buildcache shows or logs
    it; values under 4 characters are left, they would hide too much else."""
    values = {v for given in args for k, v in given.items() if looks_secret(k) and len(v) >= 4}
    forms = sorted({form for v in values for form in (v, json.dumps(v)[1:-1])}, key=len)
    if not forms:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(form) for form in reversed(forms)))
    return lambda text: pattern.sub("***", text)


def shown_args(args: Mapping[str, str]) -> dict[str, str]:
    """Build arguments as buildcache prints them: a secret-looking one's value hidden."""
    return {name: "***" if looks_secret(name) else value for name, value in args.items()}
