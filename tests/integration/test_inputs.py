"""What a build hands BuildKit besides its context, on the real engine and registries: a secret
read by a RUN step (and found nowhere else), a named context, build arguments from the run and
the built-in ones a Dockerfile declares, and the provenance attestation, read back from the
registry."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import urllib.parse
import uuid
from typing import Any

from python_on_whales import DockerClient

from tests.integration.conftest import Project, manifest, registry_get

DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG BUILDCACHE_VARIANT
ARG BUILDCACHE_REVISION
ARG FROM_RUN
RUN --mount=type=secret,id=token echo {nonce} && sha256sum /run/secrets/token | cut -d' ' -f1 > /token.sha256
COPY --from=shared note.txt /shared.txt
RUN echo "$BUILDCACHE_VARIANT $FROM_RUN" > /facts
"""
PROVENANCE_TYPE = "https://slsa.dev/provenance/v0.2"


def _config(project: Project, base_image: str, extra: str = "") -> str:
    ghcr, hub = project.registries.ghcr, project.registries.hub
    return (
        f'images = ["{ghcr}/{project.name}", "{hub}/{project.name}"]\n'
        'platforms = ["linux/amd64"]\n'
        f'build-args = {{ BASE_IMAGE = "{base_image}" }}\n'
        f"{extra}\n"
        "[secrets]\n"
        'token = { env = "WIDGET_TOKEN" }\n\n'
        "[contexts]\n"
        'shared = "shared"\n\n'
        "[variants.slim]\n"
    )


def _blob(project: Project, digest: str) -> bytes:
    response = registry_get(project.registries.ghcr, f"{project.name}/blobs/{digest}")
    response.raise_for_status()
    return response.content


def _files(project: Project, image: dict[str, Any]) -> dict[str, bytes]:
    """Every regular file of an image's layers (the later layer wins), read over the registry."""
    files: dict[str, bytes] = {}
    for layer in image["layers"]:
        data = _blob(project, layer["digest"])
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    files[member.name] = extracted.read()
    return files


def _attestations(project: Project, index: dict[str, Any]) -> list[dict[str, Any]]:
    """The in-toto statements attached to an index, read back."""
    statements = []
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("vnd.docker.reference.type") != "attestation-manifest":
            continue
        own = registry_get(project.registries.ghcr, f"{project.name}/manifests/{entry['digest']}")
        for layer in own.json()["layers"]:
            statements.append(json.loads(_blob(project, layer["digest"])))
    return statements


def test_secrets_contexts_args_and_provenance_reach_buildkit_and_the_secret_nothing_else(
    project: Project, base_image: str
) -> None:
    (project.path / "shared").mkdir()
    (project.path / "shared" / "note.txt").write_text("from the shared context\n")
    # a secret is not part of a step's cache key (BuildKit's rule): a step of its own per test
    (project.path / "Dockerfile").write_text(DOCKERFILE.replace("{nonce}", project.name))
    project.write_config(_config(project, base_image, '[attest]\nprovenance = "max"\n'))
    token = f"tok-{uuid.uuid4().hex}+/="  # characters that base64 and URL quoting change
    env = {"WIDGET_TOKEN": token, "RUN_VALUE": "hello from the run"}

    # without the secret's variable, nothing runs: one sentence, exit 2
    missing = project.run("build", "--push", "--version", "1.0", env={"RUN_VALUE": "x"})
    assert missing.returncode == 2
    assert "secret 'token' is missing" in missing.stderr
    assert "WIDGET_TOKEN" in missing.stderr

    # as a GitHub Actions step, every file buildcache writes kept: raw log, summary, outputs
    written = {name: project.path / f"{name}.out" for name in ("raw", "summary", "outputs")}
    github = {
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "branch",
        "GITHUB_REF_NAME": "main", "GITHUB_STEP_SUMMARY": str(written["summary"]),
        "GITHUB_OUTPUT": str(written["outputs"]),
    }  # fmt: skip
    result, data = project.run_json(
        "build", "--push", "--version", "1.0", "--build-arg", "FROM_RUN=${RUN_VALUE}",
        "--progress", "plain", "--raw-log", str(written["raw"]), env={**env, **github},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert all(path.stat().st_size > 0 for path in written.values())
    index = manifest(f"{project.registries.ghcr}/{project.name}:1.0")
    assert index is not None
    image_entry = next(m for m in index["manifests"] if m["platform"]["os"] == "linux")
    image = registry_get(
        project.registries.ghcr, f"{project.name}/manifests/{image_entry['digest']}"
    ).json()
    files = _files(project, image)
    # the RUN step read the secret (its hash is in the image, the value is not)
    assert files["token.sha256"].decode().strip() == hashlib.sha256(token.encode()).hexdigest()
    assert files["shared.txt"] == b"from the shared context\n"
    # the built-in argument the Dockerfile declares, and the one from the command line
    assert files["facts"] == b"slim hello from the run\n"

    # provenance mode=max: a SLSA statement with the build's configuration
    statements = _attestations(project, index)
    assert [s["predicateType"] for s in statements] == [PROVENANCE_TYPE]
    assert "buildConfig" in statements[0]["predicate"]

    # the secret's value is nowhere: not in buildcache's output or the files it wrote, the image
    # config, any layer, the provenance; nor in the tty or quiet views of a build that reruns
    # the step
    config_blob = _blob(project, image["config"]["digest"])
    everything = [result.stdout, result.stderr, json.dumps(data), config_blob.decode()]
    everything += [path.read_text() for path in written.values()]
    for progress in ("tty", "quiet"):
        again = project.run("build", "-V", "t", "--no-cache", "--progress", progress, env=env)
        assert again.returncode == 0, again.stderr
        everything += [again.stdout, again.stderr]
    everything += [json.dumps(s) for s in statements]
    everything += [content.decode(errors="replace") for content in files.values()]
    # ... not even encoded: base64 (as in a docker config or a provenance blob) or URL-quoted
    forms = [token, base64.b64encode(token.encode()).decode(), urllib.parse.quote(token, safe="")]
    assert not [(form, text) for text in everything for form in forms if form in text]

    # provenance off: one platform and no attestation make a plain manifest, not an index; it
    # is copied as it is, so every tag on both registries has the digest buildx pushed
    result, data = project.run_json(
        "build", "--push", "--version", "1.1", "--provenance", "off", "--build-arg", "FROM_RUN=x",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    digest = data["variants"][0]["digest"]
    for registry in (project.registries.ghcr, project.registries.hub):
        for tag in ("1.1", "latest"):
            plain = manifest(f"{registry}/{project.name}:{tag}")
            assert plain is not None, (registry, tag)
            assert "manifests" not in plain, (registry, tag)
            assert plain["_digest"] == digest, (registry, tag)

    # the version is not declared by the Dockerfile: a new one changes no cache key
    result, data = project.run_json(
        "build", "--push", "--version", "1.2", "--provenance", "off", "--build-arg", "FROM_RUN=x",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    steps = data["variants"][0]["cache"]["steps"]
    assert steps["cached"] == steps["total"] > 0, steps


SCANNER = """\
#!/bin/sh
# A BuildKit SBOM generator (docs/attestations/sbom-protocol.md): one SPDX document per target
name=$(basename "$BUILDKIT_SCAN_SOURCE")
count=$(find "$BUILDKIT_SCAN_SOURCE" -type f | wc -l)
cat > "$BUILDKIT_SCAN_DESTINATION/$name.spdx.json" <<EOF
{"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://spdx.dev/Document",
 "subject": [], "predicate": {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
 "name": "$name", "dataLicense": "CC0-1.0", "documentNamespace": "https://example.invalid/$name",
 "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: scan.sh"]},
 "comment": "files: $count"}}
EOF
"""


def test_an_sbom_from_the_configured_generator_sits_beside_the_provenance(
    project: Project, base_image: str, docker: DockerClient
) -> None:
    # BuildKit's default scanner (docker/buildkit-syft-scanner) cannot be pulled offline: a
    # generator of our own, pushed to the test registry, follows the same protocol
    scanner = project.path / "scanner"
    scanner.mkdir()
    (scanner / "scan.sh").write_text(SCANNER)
    (scanner / "Dockerfile").write_text(
        'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY scan.sh /scan.sh\nENTRYPOINT ["/bin/sh", "/scan.sh"]\n'
    )
    generator = f"{project.registries.ghcr}/{project.name}-scanner:1"
    docker.buildx.build(
        scanner, build_args={"BASE_IMAGE": base_image}, tags=[generator], push=True,
        platforms=["linux/amd64"], provenance=False,
    )  # fmt: skip
    (project.path / "shared").mkdir()
    (project.path / "shared" / "note.txt").write_text("x\n")
    (project.path / "Dockerfile").write_text(DOCKERFILE.replace("{nonce}", project.name))
    attest = f'[attest]\nprovenance = "max"\nsbom = true\nsbom-generator = "{generator}"\n'
    project.write_config(_config(project, base_image, attest))

    result = project.run("build", "--push", "--version", "1.0", env={"WIDGET_TOKEN": "t"})
    assert result.returncode == 0, result.stderr
    index = manifest(f"{project.registries.ghcr}/{project.name}:1.0")
    assert index is not None
    statements = {s["predicateType"]: s for s in _attestations(project, index)}
    assert set(statements) == {PROVENANCE_TYPE, "https://spdx.dev/Document"}
    # the generator scanned the image's files
    files = int(statements["https://spdx.dev/Document"]["predicate"]["comment"].split()[-1])
    assert files > 3


def test_build_args_and_labels_reach_the_image_as_written_not_as_bake_templates(
    project: Project, base_image: str
) -> None:
    # bake reads every string of its JSON file as an HCL template: unescaped, the first value
    # became "X" and the second broke the bake
    written = '${upper("x")} %{ if true }y%{ endif } ${HOME} $${kept}'
    (project.path / "Dockerfile").write_text(
        f"ARG BASE_IMAGE\nFROM ${{BASE_IMAGE}}\nARG GREETING\n"
        f"RUN echo {project.name} && printf '%s' \"$GREETING\" > /greeting\n"
    )
    ghcr = project.registries.ghcr
    project.write_config(
        f'images = ["{ghcr}/{project.name}"]\n'
        'platforms = ["linux/amd64"]\n'
        f"build-args = {{ BASE_IMAGE = {json.dumps(base_image)}, GREETING = {json.dumps(written)} }}\n"
        f"labels = {{ greeting = {json.dumps(written)} }}\n"
        "[variants.slim]\n"
    )
    result = project.run("build", "--push", "--version", "1.0", "--provenance", "off")
    assert result.returncode == 0, result.stderr
    image = manifest(f"{ghcr}/{project.name}:1.0")
    assert image is not None
    assert _files(project, image)["greeting"] == written.encode()
    config = json.loads(_blob(project, image["config"]["digest"]))
    assert config["config"]["Labels"]["greeting"] == written
