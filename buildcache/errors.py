"""The errors buildcache reports, each with its exit code.

They are raised anywhere and caught once, in cli/main.py, which prints the message (never a traceback
unless --debug) and exits with the code. The codes are part of the interface: CI scripts branch
on them. A docker failure becomes one of these in engine.py, and nowhere else.
"""

from __future__ import annotations

import re
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    BUILD_FAILED = 1  # the build, a push or a cache gate failed
    USAGE = 2  # bad command line or config
    ENVIRONMENT = 3  # no docker, no buildx, no daemon, or a builder that cannot do the job
    INTERNAL = 4  # a bug in buildcache: rerun with --debug and report it
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM: a cancelled CI job, `timeout` (128 + SIGTERM)


class BuildcacheError(Exception):
    """An error with a message meant for the user."""

    exit_code: ExitCode = ExitCode.BUILD_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = shortened(message)
        super().__init__(message)
        self.message = message
        self.hint = shortened(hint) if hint else hint


# a value quoted in a message ('...' or "..."), longer than a reader can take in
_LONG_QUOTED = re.compile(r"""(['"])([^'"]{160,})\1""")


def shortened(message: str) -> str:
    """The message with every long quoted value cut, its length said: a 100,000-character
    variable must not make a 100 KB error line."""

    def cut(match: re.Match[str]) -> str:
        quote, value = match.group(1), match.group(2)
        return f"{quote}{value[:60]}...{value[-20:]}{quote} ({len(value):,} characters)"

    return _LONG_QUOTED.sub(cut, message)


class UsageError(BuildcacheError):
    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A config file or environment value that is wrong; names the file and the key."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        # as the user wrote them, control characters escaped: the error stays one line and
        # shows what is wrong
        where = ": ".join(
            re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group())[1:-1], part)
            for part in (source, key)
            if part
        )
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.reason = message  # without the file and key
        self.source = source
        self.key = key


class EnvironmentProblem(BuildcacheError):
    """Docker, buildx, the daemon or the builder is missing or cannot do what is asked."""

    exit_code = ExitCode.ENVIRONMENT


class MigrationDiffers(BuildcacheError):
    """`init --from` wrote a config that plans other tags than the workflow for an event."""

    exit_code = ExitCode.BUILD_FAILED


class BuildFailed(BuildcacheError):
    exit_code = ExitCode.BUILD_FAILED


class PublishStopped(BuildFailed):
    """Ctrl-C or SIGTERM while publishing: reported with the publish table, then the run stops
    as on any signal (130 or 143)."""


class RegistryError(BuildcacheError):
    """A registry's HTTP API refused or could not be reached; `status` is its HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.retry_after = retry_after  # seconds, as the registry's Retry-After header asked


class PublishError(Exception):
    """One registry call of publishing failed (a tag written, a hold decided); the publisher
    decides whether to try again."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after  # the registry's Retry-After, in seconds, where it gave one

    @classmethod
    def of(cls, error: RegistryError, reason: str | None = None) -> PublishError:
        """A registry call's failure, its Retry-After kept for the retry's wait."""
        return cls(reason or error.message, error.retry_after)
