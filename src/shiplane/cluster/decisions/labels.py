"""Label selectors (k8s apimachinery/pkg/apis/meta/v1/helpers.go ``LabelSelectorAsSelector``)
and node selector terms (k8s component-helpers/scheduling/corev1/nodeaffinity).

A ``LabelSelector`` is ``{"matchLabels": {...}, "matchExpressions": [{key, operator, values}]}``;
all requirements are ANDed. An empty selector matches everything, a missing (None) one nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shiplane.cluster.decisions.errors import DecisionInputError

__all__ = [
    "match_field_or_label_requirement",
    "matches_label_selector",
    "matches_node_selector_term",
]


def _requirement(labels: Mapping[str, str], key: str, operator: str, values: list[str]) -> bool:
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        # nodeaffinity: both sides must parse as integers, otherwise the term does not match
        if not present or len(values) != 1:
            return False
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    raise DecisionInputError(f"unknown selector operator {operator!r} for key {key!r}")


def matches_label_selector(
    selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None
) -> bool:
    """Whether ``labels`` satisfy a metav1.LabelSelector (None selector matches nothing)."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        if expr.get("operator") in ("Gt", "Lt"):
            raise DecisionInputError(
                f"label selector operator {expr['operator']!r} is only valid for nodes"
            )
        if not _requirement(labels, expr["key"], expr["operator"], list(expr.get("values") or [])):
            return False
    return True


def match_field_or_label_requirement(labels: Mapping[str, str], expr: Mapping[str, Any]) -> bool:
    """One NodeSelectorRequirement (operators In NotIn Exists DoesNotExist Gt Lt)."""
    return _requirement(labels, expr["key"], expr["operator"], list(expr.get("values") or []))


def matches_node_selector_term(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """A NodeSelectorTerm: matchExpressions over labels AND matchFields (only metadata.name).

    An empty term matches no node (nodeaffinity.go: "a null or empty term matches no objects").
    """
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = (node.get("metadata") or {}).get("labels") or {}
    if not all(match_field_or_label_requirement(labels, e) for e in exprs):
        return False
    name_fields = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    for expr in fields:
        if expr["key"] not in name_fields:
            return False
        if not _requirement(
            name_fields, expr["key"], expr["operator"], list(expr.get("values") or [])
        ):
            return False
    return True
