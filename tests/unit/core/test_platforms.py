"""core/platforms.py: platforms as BuildKit reads them, refused at plan time where it would."""

from __future__ import annotations

import pytest

from buildcache.core.platforms import PlatformError, normal_platform


@pytest.mark.parametrize(
    ("written", "named"),
    [
        ("linux/amd64", "linux/amd64"),
        ("linux/arm/v7", "linux/arm/v7"),
        ("linux/arm64/v8", "linux/arm64"),  # containerd's normalizeArch: the baseline named
        ("linux/arm64/8", "linux/arm64"),
        ("linux/arm64/v9", "linux/arm64/v9"),
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/arm/6", "linux/arm/v6"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/amd64/v1", "linux/amd64"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/x86_64/v2", "linux/amd64/v2"),
        ("linux/i386", "linux/386"),
        ("linux/aarch64/v8", "linux/arm64"),
        ("linux/armel", "linux/arm/v6"),
        ("macos/arm64", "darwin/arm64"),
        ("linux/riscv64", "linux/riscv64"),
        ("linux/x86_64", "linux/amd64"),  # containerd's spellings
        ("linux/aarch64", "linux/arm64"),
        ("linux/armhf", "linux/arm/v7"),
        ("Linux/AMD64", "linux/amd64"),
        ("windows/amd64", "windows/amd64"),
    ],
)
def test_a_platform_is_named_as_buildkit_names_it(written: str, named: str) -> None:
    assert normal_platform(written) == named


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("linux/foo", "knows no architecture 'foo'"),
        ("linux/amd46", "did you mean 'amd64'?"),
        ("lnux/amd64", "did you mean 'linux'?"),
        ("linux/arm/v9", "arm has no variant 'v9' (it has v5, v6, v7, v8)"),
        ("linux/s390x/v2", "s390x has no variant 'v2' (it has none)"),
        ("linux", "is not a platform like 'linux/amd64'"),
        ("linux/amd64/v2/x", "is not a platform like"),
        ("linux//amd64", "is not a platform like"),
    ],
)
def test_a_platform_buildkit_would_refuse_is_refused_with_the_nearest_name(
    written: str, words: str
) -> None:
    with pytest.raises(
        PlatformError, match=words.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        normal_platform(written)
