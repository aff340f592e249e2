"""The default scheduler Score plugins as plain functions (k8s pkg/scheduler/framework/plugins:
tainttoleration, nodeaffinity, noderesources least_allocated.go and balanced_allocation.go,
imagelocality) and helper.DefaultNormalizeScore. Raw scores are per node; ``normalize`` maps
them to 0..100 where upstream's plugin has a NormalizeScore step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from shiplane.cluster.decisions.labels import matches_label_selector, matches_node_selector_term
from shiplane.cluster.decisions.scheduler_filters import (
    _spread_selector,
    _tolerations,
    pod_matches_node_selector_and_affinity,
    tolerates,
)
from shiplane.cluster.decisions.scheduler_snapshot import ClusterView, NodeInfo, incoming_requests

__all__ = [
    "MAX_NODE_SCORE",
    "needs_image_locality",
    "needs_spread_score",
    "needs_taint_score",
    "normalize_spread",
    "score_pod_topology_spread",
    "needs_preferred_node_affinity",
    "normalize",
    "normalized_image_name",
    "score_balanced_allocation",
    "score_image_locality",
    "score_least_allocated",
    "score_node_affinity",
    "score_taint_toleration",
]

MAX_NODE_SCORE = 100
Obj = Mapping[str, Any]


def needs_preferred_node_affinity(pod: Obj, view: ClusterView) -> bool:
    section = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    return bool(section.get("preferredDuringSchedulingIgnoredDuringExecution"))


def needs_image_locality(pod: Obj, view: ClusterView) -> bool:
    return any(info.images for info in view.nodes)


def needs_taint_score(pod: Obj, view: ClusterView) -> bool:
    """Without any PreferNoSchedule taint every node gets the same (reversed: full) score."""
    return any(t.get("effect") == "PreferNoSchedule" for info in view.nodes for t in info.taints)


def score_taint_toleration(pod: Obj, info: NodeInfo, view: ClusterView) -> int:
    """Count of PreferNoSchedule taints not tolerated (normalised in reverse)."""
    tolerations = [
        t for t in _tolerations(pod) if t.get("effect") in (None, "", "PreferNoSchedule")
    ]
    return sum(
        1
        for taint in info.taints
        if taint.get("effect") == "PreferNoSchedule"
        and not any(tolerates(t, taint) for t in tolerations)
    )


def score_node_affinity(pod: Obj, info: NodeInfo, view: ClusterView) -> int:
    """Sum of the weights of matching preferredDuringScheduling terms."""
    section = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    total = 0
    for pref in section.get("preferredDuringSchedulingIgnoredDuringExecution") or []:
        if int(pref.get("weight") or 0) and matches_node_selector_term(
            pref.get("preference") or {}, info.node
        ):
            total += int(pref["weight"])
    return total


def score_least_allocated(pod: Obj, info: NodeInfo, view: ClusterView) -> int:
    """noderesources/least_allocated.go over cpu and memory (weight 1 each), non-zero requests."""
    request = incoming_requests(pod, view, non_zero=True)
    total, weights = 0, 0
    for name in ("cpu", "memory"):
        capacity = info.allocatable.get(name, 0)
        requested = info.non_zero_requested.get(name, 0) + request.get(name, 0)
        score = (
            0
            if capacity == 0 or requested > capacity
            else (capacity - requested) * MAX_NODE_SCORE // capacity
        )
        total += score
        weights += 1
    return total // weights


def score_balanced_allocation(pod: Obj, info: NodeInfo, view: ClusterView) -> int:
    """balanced_allocation.go: (1 - std of cpu/memory fractions) * 100, actual requests;
    best-effort pods are skipped (score 0, upstream PreScore returns Skip)."""
    request = incoming_requests(pod, view)
    if not request.get("cpu") and not request.get("memory"):
        return 0
    fractions = []
    for name in ("cpu", "memory"):
        capacity = info.allocatable.get(name, 0)
        if capacity == 0:
            continue
        fractions.append(min(1.0, (info.requested.get(name, 0) + request.get(name, 0)) / capacity))
    std = abs(fractions[0] - fractions[1]) / 2 if len(fractions) == 2 else 0.0
    return int((1 - std) * MAX_NODE_SCORE)


MB = 1024 * 1024
_MIN_IMAGE_THRESHOLD = 23 * MB  # imagelocality/image_locality.go
_MAX_CONTAINER_THRESHOLD = 1000 * MB


def normalized_image_name(name: str) -> str:
    """normalizedImageName: a name without tag or digest means :latest."""
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in name:
        return name + ":latest"
    return name


def score_image_locality(pod: Obj, info: NodeInfo, view: ClusterView) -> int:
    """Sum of image sizes present on the node, scaled by how many nodes have them (spread)."""
    images = view.cycle_state.get("pod-images")
    if images is None:  # once per scheduling cycle, not once per node
        spec = pod.get("spec") or {}
        containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
        images = view.cycle_state["pod-images"] = [
            normalized_image_name(c.get("image", "")) for c in containers]
    total_nodes = len(view.nodes) or 1
    summed = 0
    for image in images:
        size = info.images.get(image)
        if size is None:
            continue
        key = ("image-holders", image)
        if key not in view.cycle_state:
            view.cycle_state[key] = sum(1 for other in view.nodes if image in other.images)
        holders = view.cycle_state[key]
        summed += int(size * holders / total_nodes)
    max_threshold = _MAX_CONTAINER_THRESHOLD * max(1, len(images))
    summed = min(max(summed, _MIN_IMAGE_THRESHOLD), max_threshold)
    return (
        MAX_NODE_SCORE * (summed - _MIN_IMAGE_THRESHOLD) // (max_threshold - _MIN_IMAGE_THRESHOLD)
    )


def normalize(scores: dict[str, int], *, reverse: bool) -> dict[str, int]:
    """helper.DefaultNormalizeScore: scale to 0..100 by the maximum (optionally reversed)."""
    top = max(scores.values(), default=0)
    if top == 0:
        return {name: MAX_NODE_SCORE if reverse else 0 for name in scores}
    out = {}
    for name, score in scores.items():
        value = MAX_NODE_SCORE * score // top
        out[name] = MAX_NODE_SCORE - value if reverse else value
    return out


# ---------------------------------------------------------------- PodTopologySpread (scoring.go)
HOSTNAME_KEY = "kubernetes.io/hostname"
# apis/config/v1 defaults: SystemDefaultConstraints, used when a pod declares none of its own
SYSTEM_DEFAULT_CONSTRAINTS = (
    {"topologyKey": HOSTNAME_KEY, "maxSkew": 3, "whenUnsatisfiable": "ScheduleAnyway"},
    {
        "topologyKey": "topology.kubernetes.io/zone",
        "maxSkew": 5,
        "whenUnsatisfiable": "ScheduleAnyway",
    },
)


def _soft_constraints(pod: Obj, view: ClusterView) -> list:
    """(constraint, selector) pairs: the pod's ScheduleAnyway constraints, or - when it declares
    none - the system defaults with the selector of the controllers/services selecting it."""
    declared = (pod.get("spec") or {}).get("topologySpreadConstraints") or []
    if declared:
        return [(c, _spread_selector(pod, c)) for c in declared
                if c.get("whenUnsatisfiable") == "ScheduleAnyway"]  # fmt: skip
    if not view.default_spread_selector:
        return []
    return [(c, view.default_spread_selector) for c in SYSTEM_DEFAULT_CONSTRAINTS]


def needs_spread_score(pod: Obj, view: ClusterView) -> bool:
    return bool(_soft_constraints(pod, view))


def _count(info: NodeInfo, selector: Obj, namespace: str) -> int:
    return sum(
        1 for p in info.pods
        if (p.get("metadata") or {}).get("namespace", "default") == namespace
        and not (p.get("metadata") or {}).get("deletionTimestamp")
        and matches_label_selector(selector, (p.get("metadata") or {}).get("labels"))
    )  # fmt: skip


def _spread_state(pod: Obj, view: ClusterView) -> dict:
    """PreScore: domain sizes, pod counts per (key, value) and the ignored nodes."""
    if "spread-score" in view.cycle_state:
        return view.cycle_state["spread-score"]
    constraints = _soft_constraints(pod, view)
    feasible = view.cycle_state.get("feasible", view.nodes)
    require_all = bool((pod.get("spec") or {}).get("topologySpreadConstraints"))
    keys = [c["topologyKey"] for c, _ in constraints]
    ignored = {i.name for i in feasible if require_all and not all(k in i.labels for k in keys)}
    counts: dict[tuple[str, str], int] = {}
    sizes = [0] * len(constraints)
    for info in feasible:
        if info.name in ignored:
            continue
        for n, (c, _) in enumerate(constraints):
            key = c["topologyKey"]
            if key != HOSTNAME_KEY and key in info.labels and (key, info.labels[key]) not in counts:
                counts[(key, info.labels[key])] = 0
                sizes[n] += 1
    namespace = (pod.get("metadata") or {}).get("namespace", "default")
    for info in view.nodes:
        if require_all and not all(k in info.labels for k in keys):
            continue
        for c, selector in constraints:
            if c.get(
                "nodeAffinityPolicy", "Honor"
            ) == "Honor" and not pod_matches_node_selector_and_affinity(pod, info.node):
                continue
            pair = (c["topologyKey"], info.labels.get(c["topologyKey"]))
            if pair in counts:
                counts[pair] += _count(info, selector, namespace)
    weights = []
    for n, (c, _) in enumerate(constraints):
        size = len(feasible) - len(ignored) if c["topologyKey"] == HOSTNAME_KEY else sizes[n]
        weights.append(math.log(size + 2))  # topologyNormalizingWeight
    state = {"constraints": constraints, "counts": counts, "weights": weights, "ignored": ignored,
             "namespace": namespace}  # fmt: skip
    view.cycle_state["spread-score"] = state
    return state


def score_pod_topology_spread(pod: Obj, info: NodeInfo, view: ClusterView) -> int:
    """Matching pods in the node's domains, weighted by log(domains + 2), plus maxSkew - 1 per
    constraint: lower is better (NormalizeScore inverts it)."""
    state = _spread_state(pod, view)
    if info.name in state["ignored"]:
        return 0
    score = 0.0
    for (c, selector), weight in zip(state["constraints"], state["weights"]):
        key = c["topologyKey"]
        if key not in info.labels:
            continue
        if key == HOSTNAME_KEY:
            count = _count(info, selector, state["namespace"])
        else:
            count = state["counts"].get((key, info.labels[key]), 0)
        score += count * weight + (int(c.get("maxSkew", 1)) - 1)  # scoreForCount
    return int(score + 0.5)  # math.Round (scores are >= 0)


def normalize_spread(scores: dict[str, int], pod: Obj, view: ClusterView) -> dict[str, int]:
    """PodTopologySpread NormalizeScore: MAX * (max + min - s) / max; ignored nodes get 0."""
    ignored = _spread_state(pod, view)["ignored"]
    counted = [s for name, s in scores.items() if name not in ignored]
    low, high = (min(counted), max(counted)) if counted else (0, 0)
    out = {}
    for name, s in scores.items():
        if name in ignored:
            out[name] = 0
        elif high == 0:
            out[name] = MAX_NODE_SCORE
        else:
            out[name] = MAX_NODE_SCORE * (high + low - s) // high
    return out
