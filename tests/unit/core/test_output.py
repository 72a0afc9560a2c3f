"""core/output.py: buildx's --output (build-push-action's outputs) read as what the build does."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildcache.core.output import Export, Output, check_names, combined, parse_output
from buildcache.core.reference import ImageRef
from buildcache.errors import UsageError

CWD = Path("/repo")
WIDGET = ImageRef("ghcr.io", "acme/widget")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("type=registry", Output(push=True)),
        ("type=image,push=true", Output(push=True)),
        ("type=image,push=false", Output()),
        ("type=image", Output()),
        (
            "type=image,push-by-digest=true,name-canonical=true,push=true",
            Output(push=True, push_by_digest=True),
        ),
        (
            'type=image,"name=ghcr.io/acme/widget:x,acme/widget",push=true',
            Output(push=True, names=(WIDGET, ImageRef("docker.io", "acme/widget"))),
        ),
        ("type=docker", Output(load=True)),
        ("type=cacheonly", Output()),
        ("type=local,dest=out", Output(export=Export("local", CWD / "out"))),
        ("dest=out", Output(export=Export("local", CWD / "out"))),  # buildx: no type is local
        ("type=tar,dest=/tmp/i.tar", Output(export=Export("tar", Path("/tmp/i.tar")))),
        (
            "type=oci,dest=i.tar,compression=zstd",
            Output(export=Export("oci", CWD / "i.tar", ("compression=zstd",))),
        ),
        ("type=docker,dest=i.tar", Output(export=Export("docker", CWD / "i.tar"))),
    ],
)
def test_an_output_is_read_as_buildx_reads_it(text: str, expected: Output) -> None:
    assert parse_output([text], CWD) == expected


@pytest.mark.parametrize(
    ("texts", "words"),
    [
        (["type=gha"], "type=gha is not an exporter buildcache can use"),
        (["type=local"], "type=local writes files, and needs dest=PATH"),
        (["type=oci"], "type=oci writes files, and needs dest=PATH"),
        (["push=true"], "type=(none) is not an exporter"),
        (["type=image,push"], "'push' is not KEY=VALUE"),
        (["type=image,name=Not A Name,push=true"], "is not a valid image name"),
        (["type=docker", "type=registry"], "--output is given 2 times"),
    ],
)
def test_an_output_buildcache_cannot_use_is_one_sentence(texts: list[str], words: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse_output(texts, CWD)
    assert words in refused.value.message


def test_an_export_is_written_back_for_buildx_quoted_where_a_field_needs_it() -> None:
    export = Export("local", Path("/out dir,1"), ("platform-split=false",))
    assert export.to_option() == 'type=local,"dest=/out dir,1",platform-split=false'


def test_push_by_digest_with_the_push_flag_pushes_by_digest_and_never_tagged() -> None:
    given = parse_output(["type=image,push-by-digest=true"], CWD)
    assert combined(given, push=True, load=False, push_by_digest=False) == Output(
        push=False, push_by_digest=True
    )
    with pytest.raises(UsageError, match="pushes nothing without push=true"):
        combined(given, push=False, load=False, push_by_digest=False)


def test_files_and_a_push_or_a_load_are_one_too_many() -> None:
    files = parse_output(["type=local,dest=out"], CWD)
    for push, load in ((True, False), (False, True)):
        with pytest.raises(UsageError, match="cannot be combined with a push or a load"):
            combined(files, push=push, load=load, push_by_digest=False)
    assert combined(None, push=False, load=True, push_by_digest=False) == Output(load=True)


def test_a_name_must_be_an_image_of_the_config() -> None:
    check_names(Output(push=True, names=(WIDGET,)), [WIDGET])
    with pytest.raises(UsageError, match=r"name=quay.io/acme/widget is not an image of the config"):
        check_names(Output(push=True, names=(ImageRef("quay.io", "acme/widget"),)), [WIDGET])
