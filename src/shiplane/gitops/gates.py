"""Promotion gates as one pure function: facts in, a verdict per gate out.

Before ``shiplane promote`` commits, every gate must pass (the issue's list, cf.
Kargo's verification before Freight moves downstream):

- ``source-synced``: the source environment's Application is Synced and Healthy,
  and the revision it synced holds exactly the tag being promoted;
- ``pipeline-passed``: the service pipeline that built that tag passed;
- ``target-policies``: the target environment's policies pass on the manifests
  the promotion would produce (error-severity violations refuse);
- ``approval``: environments that need it (prod) have an approval by someone
  other than the author of the promotion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["APPROVAL_ENVIRONMENTS", "Gate", "GateFacts", "evaluate_gates", "pipeline_verdict"]

APPROVAL_ENVIRONMENTS = frozenset({"prod", "production"})


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.detail}"


@dataclass(frozen=True)
class GateFacts:
    tag: str
    target_environment: str
    author: str
    source_status: Mapping[str, Any] = field(default_factory=dict)  # Application status
    source_tag_at_synced_revision: str | None = None
    pipeline_passed: bool | None = None  # None: no pipeline result known for the tag
    policy_violations: Sequence[str] = ()  # error-severity, already rendered as text
    approvers: Sequence[str] = ()
    needs_approval: bool | None = None  # default: target in APPROVAL_ENVIRONMENTS


def evaluate_gates(facts: GateFacts) -> list[Gate]:
    gates = []
    sync = (facts.source_status.get("sync") or {}).get("status", "Unknown")
    health = (facts.source_status.get("health") or {}).get("status", "Unknown")
    at_tag = facts.source_tag_at_synced_revision
    if not facts.source_status:
        gates.append(Gate("source-synced", False, "no status known for the source application"))
    elif sync != "Synced" or health != "Healthy":
        gates.append(Gate("source-synced", False, f"source application is {sync}/{health}, "
                                                  "needs Synced/Healthy"))
    elif at_tag != facts.tag:
        gates.append(Gate("source-synced", False, f"source synced tag {at_tag!r}, not "
                                                  f"{facts.tag!r}"))
    else:
        gates.append(Gate("source-synced", True, f"Synced/Healthy at {facts.tag}"))
    if facts.pipeline_passed is None:
        gates.append(Gate("pipeline-passed", False, f"no pipeline result for tag {facts.tag}"))
    else:
        gates.append(Gate("pipeline-passed", facts.pipeline_passed,
                          "pipeline passed" if facts.pipeline_passed else "pipeline failed"))
    if facts.policy_violations:
        gates.append(Gate("target-policies", False, "; ".join(facts.policy_violations)))
    else:
        gates.append(Gate("target-policies", True,
                          f"policies of {facts.target_environment} pass"))
    needs = facts.needs_approval if facts.needs_approval is not None \
        else facts.target_environment in APPROVAL_ENVIRONMENTS
    others = [a for a in facts.approvers if a != facts.author]
    if not needs:
        gates.append(Gate("approval", True, f"{facts.target_environment} needs no approval"))
    elif others:
        gates.append(Gate("approval", True, f"approved by {', '.join(others)}"))
    elif facts.approvers:
        gates.append(Gate("approval", False, f"only the author {facts.author} approved; "
                                             "someone else must approve"))
    else:
        gates.append(Gate("approval", False, f"{facts.target_environment} needs an approval by "
                                             f"someone other than {facts.author}"))
    return gates


def pipeline_verdict(runs: Sequence[Any], tag: str) -> tuple[bool | None, str]:
    """Did the pipeline that built ``tag`` pass? From pipeline run records (newest first:
    ``image_tags``, ``status`` with ``finished``); ``None`` when no finished run built it."""
    for run in runs:
        if tag in (getattr(run, "image_tags", None) or []) and run.status.finished:
            passed = str(getattr(run.status, "value", run.status)) == "succeeded"
            return passed, f"run {run.id} {getattr(run.status, 'value', run.status)}"
    return None, f"no finished pipeline run built {tag}"
