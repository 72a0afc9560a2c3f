"""migrate/shell_tags.py: the tags a shell step computes, as metadata-action's rules."""

from __future__ import annotations

from buildcache.migrate.shell_tags import ManualRun, ShellStep, shell_tags

TRIGGERS = {
    "release": {"types": ["published"]},
    "push": {"branches": ["main"]},
    "pull_request": None,
    "schedule": [{"cron": "0 3 * * 1"}],
    "workflow_dispatch": {"inputs": {"test_docker": {"type": "boolean", "default": False}}},
}
VARIANTS = [("slim", {"variant": "slim"}), ("full", {"variant": "full"})]


def _tags(script: str, triggers: dict = TRIGGERS, variants: list = VARIANTS):  # type: ignore[no-untyped-def]
    step = ShellStep(script, "tags", {"SUFFIX": "${{ matrix.variant == 'full' && '-full' || '' }}"})
    return shell_tags(step, triggers=triggers, variants=variants, repository="Acme/CCC")


EVERY_EVENT = """
case "${{ github.event_name }}" in
  release) V="${{ github.ref_name }}"; T="${V#v} v${V#v} ${V%.*} latest" ;;
  pull_request) T="pr-${{ github.event.pull_request.number }} $(git rev-parse --short HEAD)" ;;
  schedule) T="nightly" ;;
  *) if [ "${{ inputs.test_docker }}" = true ]; then T=test; else T="$GITHUB_REF_NAME sha-${GITHUB_SHA::7}"; fi ;;
esac
for t in $T; do L="${L:+$L,}ghcr.io/${{ github.repository }}:$t$SUFFIX"; done
echo "tags=$L" >> "$GITHUB_OUTPUT"
"""


def test_each_event_s_tags_become_the_nearest_rule_and_each_guess_is_said() -> None:
    found = _tags(EVERY_EVENT)
    assert found.images == ["ghcr.io/acme/ccc"]
    assert found.rules == [
        "type=match,pattern=^v?(.*)$,group=1,priority=901",
        "type=ref,event=tag",
        "type=semver,pattern=v{{major}}.{{minor}}",  # ${V%.*} of v1.2.3 is v1.2
        "type=ref,event=branch",
        "type=sha",
        "type=ref,event=pr",
        "type=schedule",
        "type=match,pattern=^test$",
    ]
    assert found.flavor == ["latest=auto"]
    assert found.manual == [ManualRun("test_docker", "test")]
    assert found.latest_tags == {"full": "latest-full"}
    assert any("a pull request was tagged pr-12: type=ref,event=pr" in g for g in found.guesses)
    # what git would print is not known: that tag is said and left out
    assert any(
        n.startswith("tags: a pull request: a tag the script makes from a command")
        for n in found.notes
    )


def test_a_tag_no_rule_makes_and_another_suffix_are_notes_not_failures() -> None:
    script = """
if [ "${{ github.event_name }}" = release ]; then T="stable"; else T=edge; fi
[ -n "$SUFFIX" ] && P="full-" || P=""
echo "tags=acme/ccc:$P$T" >> "$GITHUB_OUTPUT"
"""
    found = _tags(script, {"release": None, "push": {"branches": ["main"]}})
    assert found.rules == ["type=edge,branch=main"]
    assert found.flavor == ["latest=false"]  # a release that never moved latest
    notes = "\n".join(found.notes)
    assert "a release v1.2.3 was tagged stable, a tag no rule makes" in notes
    assert "tagged full full-edge; buildcache tags it as the default variant with -full" in notes


def test_a_step_that_writes_no_tag_leaves_buildcache_s_own() -> None:
    found = _tags('echo "version=1" >> "$GITHUB_OUTPUT"', {"push": None}, VARIANTS[:1])
    assert (found.rules, found.images) == ([], [])
    assert found.notes == [
        "tags: the step writing tags gave no tag init could read as a rule; buildcache's own "
        "(see docs/tags.md) apply"
    ]


def test_a_workflow_run_only_by_hand_is_tagged_as_its_plain_manual_run_is() -> None:
    script = """
if [ "${{ inputs.test_docker }}" = "true" ]; then T=test; else T=edge; fi
echo "tags=acme/ccc:$T$SUFFIX" >> "$GITHUB_OUTPUT"
"""
    found = _tags(script, {"workflow_dispatch": TRIGGERS["workflow_dispatch"]})
    assert found.rules == ["type=edge,branch=main", "type=match,pattern=^test$"]
    assert found.manual == [ManualRun("test_docker", "test")]
    # no trigger init knows: read as a push to main
    assert _tags(script, {}).rules == ["type=edge,branch=main"]


def test_another_variant_s_version_and_own_name_are_what_buildcache_gives_it_no_note() -> None:
    """full tagged 1.2.3-full and full on a release: buildcache's own tags for it, not a
    difference to note (a trial's init said it was one)."""
    script = """
V="${{ github.ref_name }}"; V="${V#v}"
if [ -n "$SUFFIX" ]; then T="$V$SUFFIX full"; else T="$V latest"; fi
for t in $T; do L="${L:+$L,}ghcr.io/acme/ccc:$t"; done
echo "tags=$L" >> "$GITHUB_OUTPUT"
"""
    found = _tags(script, {"release": {"types": ["published"]}})
    assert not [n for n in found.notes if "tagged full" in n], found.notes
    assert "full" not in found.latest_tags
