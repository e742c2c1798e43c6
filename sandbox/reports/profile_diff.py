"""What changed between two API profiles: one scenario's manifests side by side, as a diff."""

from __future__ import annotations

import difflib

from sandbox.catalog.scenarios import ApplyStep, Scenario
from sandbox.walkthrough.render import make_context, render_manifest, shown_yaml


def documented_yaml(scenario: Scenario, token: str) -> str:
    """The scenario's manifests as its profile's docs write them (real provider), keys masked."""
    ctx = make_context(scenario, token, "openai", None)
    docs = [doc for step in scenario.steps if isinstance(step, ApplyStep)
            for manifest in step.manifests for doc in render_manifest(manifest, ctx)]
    return shown_yaml(docs, ctx)


def manifests_diff(before: Scenario, after: Scenario, token: str) -> str:
    """A unified diff from ``before``'s manifests to ``after``'s, headed by their profiles."""
    left = documented_yaml(before, token).splitlines(keepends=True)
    right = documented_yaml(after, token).splitlines(keepends=True)
    return "".join(difflib.unified_diff(left, right, f"{before.profile}/{before.id}",
                                        f"{after.profile}/{after.id}", n=3))
