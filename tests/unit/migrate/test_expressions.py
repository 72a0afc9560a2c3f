"""migrate/expressions.py: GitHub's `${{ }}` expressions, as a simulated run evaluates them."""

from __future__ import annotations

import pytest

from buildcache.migrate.expressions import UNKNOWN, evaluate, render


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("github.event_name == 'release'", True),
        # a boolean input is a boolean, as GitHub gives `inputs`
        ("github.event_name != 'release' || inputs.test_docker", True),
        ("github.event_name == 'push' || inputs.unticked", False),
        ("matrix.variant == 'full' && '-full' || ''", "-full"),
        ("matrix.variant == 'FULL' && '-full' || ''", "-full"),  # strings compare loosely
        ("!inputs.test_docker", False),
        ("startsWith(github.ref, 'refs/tags/') && 'release' || 'other'", "other"),
        ("format('{0}-{1}', matrix.variant, 'x')", "full-x"),
        ("(github.event_name == 'push') && 'a' || 'b'", "b"),
    ],
)
def test_github_expressions(expression: str, value: object) -> None:
    context = {
        "github.event_name": "release",
        "github.ref": "refs/heads/main",
        "inputs.test_docker": "true",
        "inputs.unticked": "false",
        "matrix.variant": "full",
    }
    assert evaluate(expression, context) == value


def test_render_marks_what_it_cannot_know() -> None:
    assert render("a-${{ secrets.TOKEN }}-${{ vars.X }}-${{ github.sha }}", {}) == (
        f"a-{UNKNOWN}-{UNKNOWN}-{UNKNOWN}"
    )
