"""The default scheduler plugins' Filter and Score as plain functions
(k8s pkg/scheduler/framework/plugins/*). Each filter returns the reasons a node is rejected
(empty = fits); each scorer returns a raw score per node, normalised by ``normalize``.

Filter reasons are upstream's exact strings; they end up counted in the FitError message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shiplane.cluster.decisions.labels import matches_label_selector, matches_node_selector_term
from shiplane.cluster.decisions.pod_resources import node_allocatable, pod_requests

__all__ = [
    "ClusterView",
    "MAX_NODE_SCORE",
    "NodeInfo",
    "filter_inter_pod_affinity",
    "filter_node_affinity",
    "filter_node_name",
    "filter_node_ports",
    "filter_node_resources_fit",
    "filter_node_unschedulable",
    "filter_pod_topology_spread",
    "filter_taint_toleration",
    "normalize",
    "score_balanced_allocation",
    "score_image_locality",
    "score_least_allocated",
    "score_node_affinity",
    "score_taint_toleration",
    "tolerates",
]

MAX_NODE_SCORE = 100
Obj = Mapping[str, Any]

# reasons (exact upstream strings)
ERR_UNSCHEDULABLE = "node(s) were unschedulable"  # nodeunschedulable
ERR_NODE_NAME = "node(s) didn't match the requested node name"  # nodename
ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"  # nodeaffinity
ERR_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports"  # nodeports
ERR_TOO_MANY_PODS = "Too many pods"  # noderesources/fit.go
ERR_SPREAD = "node(s) didn't match pod topology spread constraints"  # podtopologyspread
ERR_SPREAD_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
ERR_AFFINITY = "node(s) didn't match pod affinity rules"  # interpodaffinity/filtering.go
ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"


@dataclass
class NodeInfo:
    """A node and the pods assigned to it, with their summed requests (framework.NodeInfo)."""

    node: Obj
    pods: list = field(default_factory=list)
    requested: dict = field(default_factory=dict)
    non_zero_requested: dict = field(default_factory=dict)
    images: Mapping[str, int] = field(default_factory=dict)  # normalised image name -> bytes
    anti_affinity_pods: int = (
        0  # pods here with required anti-affinity (InterPodAffinity PreFilter)
    )

    name: str = field(init=False)
    labels: Mapping[str, str] = field(init=False)
    allocatable: dict = field(init=False)

    def __post_init__(self) -> None:
        # read once: the filters and scores look these up for every node of every cycle
        self.name = self.node["metadata"]["name"]
        self.labels = (self.node.get("metadata") or {}).get("labels") or {}
        self.allocatable = node_allocatable(self.node)

    def add_pod(self, pod: Obj) -> None:
        self.pods.append(pod)
        if _required_terms(pod, "podAntiAffinity"):
            self.anti_affinity_pods += 1
        for name, amount in pod_requests(pod).items():
            self.requested[name] = self.requested.get(name, 0) + amount
        for name, amount in pod_requests(pod, non_zero=True).items():
            if name in ("cpu", "memory"):
                self.non_zero_requested[name] = self.non_zero_requested.get(name, 0) + amount


@dataclass
class ClusterView:
    """Everything the filters need beyond one node: all nodes (for topology domains)."""

    nodes: list  # list[NodeInfo]
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # per-scheduling-cycle memo (upstream's PreFilter state), keyed by plugin
    cycle_state: dict = field(default_factory=dict)


def incoming_requests(pod: Obj, view: ClusterView, *, non_zero: bool = False) -> dict:
    """The scheduled pod's requests, computed once per cycle (PreFilter/PreScore state)."""
    key = ("requests", non_zero)
    if key not in view.cycle_state:
        view.cycle_state[key] = pod_requests(pod, non_zero=non_zero)
    return view.cycle_state[key]


# ---------------------------------------------------------------- taints
def tolerates(toleration: Obj, taint: Obj) -> bool:
    """v1 Toleration.ToleratesTaint: effect and key must match (empty = any); Exists ignores value."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def _tolerations(pod: Obj) -> list:
    return list((pod.get("spec") or {}).get("tolerations") or [])


def filter_node_unschedulable(pod: Obj, info: NodeInfo, view: ClusterView) -> list[str]:
    """nodeunschedulable: a cordoned node, unless the pod tolerates its unschedulable taint."""
    if not (info.node.get("spec") or {}).get("unschedulable"):
        return []
    taint = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    if any(tolerates(t, taint) for t in _tolerations(pod)):
        return []
    return [ERR_UNSCHEDULABLE]


def filter_node_name(pod: Obj, info: NodeInfo, view: ClusterView) -> list[str]:
    wanted = (pod.get("spec") or {}).get("nodeName")
    return [ERR_NODE_NAME] if wanted and wanted != info.name else []


def filter_taint_toleration(pod: Obj, info: NodeInfo, view: ClusterView) -> list[str]:
    """tainttoleration: the first NoSchedule/NoExecute taint the pod does not tolerate."""
    tolerations = _tolerations(pod)
    for taint in (info.node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(tolerates(t, taint) for t in tolerations):
            return [
                f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"
            ]
    return []


# ---------------------------------------------------------------- node affinity
def _required_node_affinity(pod: Obj) -> Obj | None:
    affinity = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    return affinity.get("requiredDuringSchedulingIgnoredDuringExecution")


def pod_matches_node_selector_and_affinity(pod: Obj, node: Obj) -> bool:
    """nodeaffinity.GetRequiredNodeAffinity(pod).Match(node): nodeSelector AND any required term."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, val in ((pod.get("spec") or {}).get("nodeSelector") or {}).items():
        if labels.get(key) != val:
            return False
    required = _required_node_affinity(pod)
    if required is not None:
        terms = required.get("nodeSelectorTerms") or []
        if not any(matches_node_selector_term(term, node) for term in terms):
            return False
    return True


def filter_node_affinity(pod: Obj, info: NodeInfo, view: ClusterView) -> list[str]:
    return [] if pod_matches_node_selector_and_affinity(pod, info.node) else [ERR_NODE_AFFINITY]


# ---------------------------------------------------------------- ports
def _host_ports(pod: Obj) -> list[tuple[str, str, int]]:
    ports = []
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for port in container.get("ports") or []:
            if int(port.get("hostPort") or 0) > 0:
                ports.append(
                    (
                        port.get("hostIP") or "0.0.0.0",
                        port.get("protocol") or "TCP",
                        int(port["hostPort"]),
                    )
                )
    return ports


def filter_node_ports(pod: Obj, info: NodeInfo, view: ClusterView) -> list[str]:
    """nodeports: a hostPort clashes on the same protocol when either IP is 0.0.0.0 or they match."""
    wanted = _host_ports(pod)
    if not wanted:
        return []
    used = [p for other in info.pods for p in _host_ports(other)]
    for ip, proto, port in wanted:
        for uip, uproto, uport in used:
            if port == uport and proto == uproto and (ip == uip or "0.0.0.0" in (ip, uip)):
                return [ERR_NODE_PORTS]
    return []


# ---------------------------------------------------------------- resources
def filter_node_resources_fit(pod: Obj, info: NodeInfo, view: ClusterView) -> list[str]:
    """noderesources/fit.go fitsRequest: pod count, then every requested resource."""
    reasons = []
    alloc = info.allocatable
    if len(info.pods) + 1 > alloc.get("pods", 0):
        reasons.append(ERR_TOO_MANY_PODS)
    request = {k: v for k, v in incoming_requests(pod, view).items() if k != "pods"}
    if not any(request.values()):
        return reasons
    for name in ("cpu", "memory", "ephemeral-storage"):
        amount = request.pop(name, 0)
        if amount > 0 and amount > alloc.get(name, 0) - info.requested.get(name, 0):
            reasons.append(f"Insufficient {name}")
    for name in sorted(request):  # extended resources (Go map order is random; sorted here)
        amount = request[name]
        if amount > 0 and amount > alloc.get(name, 0) - info.requested.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


# ---------------------------------------------------------------- topology spread
def _spread_selector(pod: Obj, constraint: Obj) -> Obj | None:
    selector = constraint.get("labelSelector")
    keys = constraint.get("matchLabelKeys") or []
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if selector is not None and keys:
        selector = dict(selector)
        extra = [{"key": k, "operator": "In", "values": [labels[k]]} for k in keys if k in labels]
        selector["matchExpressions"] = [*(selector.get("matchExpressions") or []), *extra]
    return selector


def filter_pod_topology_spread(pod: Obj, info: NodeInfo, view: ClusterView) -> list[str]:
    """podtopologyspread/filtering.go: for each DoNotSchedule constraint,
    matching pods in the node's domain + self - global minimum <= maxSkew.

    Domains come from nodes that match the pod's nodeSelector/required affinity
    (nodeAffinityPolicy Honor) and carry every constraint's key; taints are ignored
    (nodeTaintsPolicy Ignore); terminating pods are not counted.
    """
    constraints = [
        c
        for c in (pod.get("spec") or {}).get("topologySpreadConstraints") or []
        if c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"
    ]
    if not constraints:
        return []
    namespace = (pod.get("metadata") or {}).get("namespace", "default")
    own_labels = (pod.get("metadata") or {}).get("labels") or {}
    keys = [c["topologyKey"] for c in constraints]
    state = view.cycle_state.get("PodTopologySpread")
    if state is None:
        state = view.cycle_state["PodTopologySpread"] = _spread_counts(
            pod, constraints, keys, namespace, view
        )
    for constraint, (selector, counts) in zip(constraints, state):
        key = constraint["topologyKey"]
        if key not in info.labels:
            return [ERR_SPREAD_LABEL]
        min_domains = int(constraint.get("minDomains") or 1)
        global_min = min(counts.values()) if counts else 2**31 - 1
        if len(counts) < min_domains:
            global_min = 0
        self_match = 1 if matches_label_selector(selector, own_labels) else 0
        skew = counts.get(info.labels[key], 0) + self_match - global_min
        if skew > int(constraint.get("maxSkew", 1)):
            return [ERR_SPREAD]
    return []


def _spread_counts(
    pod: Obj, constraints: list, keys: list, namespace: str, view: ClusterView
) -> list:
    """PreFilter: matching pods per topology domain, once per scheduling cycle."""
    state = []
    for constraint in constraints:
        key = constraint["topologyKey"]
        selector = _spread_selector(pod, constraint)
        counts: dict[str, int] = {}
        for other in view.nodes:
            if not all(k in other.labels for k in keys):
                continue
            if constraint.get(
                "nodeAffinityPolicy", "Honor"
            ) == "Honor" and not pod_matches_node_selector_and_affinity(pod, other.node):
                continue
            if constraint.get("nodeTaintsPolicy", "Ignore") == "Honor" and filter_taint_toleration(
                pod, other, view
            ):
                continue
            matched = sum(
                1
                for p in other.pods
                if (p.get("metadata") or {}).get("namespace", "default") == namespace
                and not (p.get("metadata") or {}).get("deletionTimestamp")
                and matches_label_selector(selector, (p.get("metadata") or {}).get("labels"))
            )
            domain = other.labels[key]
            counts[domain] = counts.get(domain, 0) + matched
        state.append((selector, counts))
    return state


# ---------------------------------------------------------------- inter-pod affinity
def _term_namespaces_match(term: Obj, owner: Obj, target: Obj, view: ClusterView) -> bool:
    owner_ns = (owner.get("metadata") or {}).get("namespace", "default")
    target_ns = (target.get("metadata") or {}).get("namespace", "default")
    namespaces = term.get("namespaces") or []
    ns_selector = term.get("namespaceSelector")
    if not namespaces and ns_selector is None:
        return target_ns == owner_ns
    if target_ns in namespaces:
        return True
    if ns_selector is not None:
        return matches_label_selector(ns_selector, view.namespace_labels.get(target_ns, {}))
    return False


def _term_matches(term: Obj, owner: Obj, target: Obj, view: ClusterView) -> bool:
    """A PodAffinityTerm of ``owner`` selects ``target``."""
    return _term_namespaces_match(term, owner, target, view) and matches_label_selector(
        term.get("labelSelector"), (target.get("metadata") or {}).get("labels")
    )


def _required_terms(pod: Obj, kind: str) -> list:
    section = ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}
    return list(section.get("requiredDuringSchedulingIgnoredDuringExecution") or [])


def _inter_pod_state(pod: Obj, view: ClusterView) -> tuple[dict, dict, dict]:
    """PreFilter: (affinity, anti-affinity, existing pods' anti-affinity) counts per
    (topologyKey, value), over every assigned pod, once per scheduling cycle."""
    affinity = _required_terms(pod, "podAffinity")
    anti = _required_terms(pod, "podAntiAffinity")
    aff_counts: dict[tuple[str, str], int] = {}
    anti_counts: dict[tuple[str, str], int] = {}
    existing_counts: dict[tuple[str, str], int] = {}
    for other in view.nodes:
        for existing in other.pods:
            for terms, counts in ((affinity, aff_counts), (anti, anti_counts)):
                for term in terms:
                    key = term["topologyKey"]
                    if key in other.labels and _term_matches(term, pod, existing, view):
                        pair = (key, other.labels[key])
                        counts[pair] = counts.get(pair, 0) + 1
            for term in _required_terms(existing, "podAntiAffinity"):
                key = term["topologyKey"]
                if key in other.labels and _term_matches(term, existing, pod, view):
                    pair = (key, other.labels[key])
                    existing_counts[pair] = existing_counts.get(pair, 0) + 1
    return aff_counts, anti_counts, existing_counts


def filter_inter_pod_affinity(pod: Obj, info: NodeInfo, view: ClusterView) -> list[str]:
    """interpodaffinity/filtering.go Filter: affinity, then anti-affinity, then existing pods'
    anti-affinity."""
    affinity = _required_terms(pod, "podAffinity")
    anti = _required_terms(pod, "podAntiAffinity")
    state = view.cycle_state.get("InterPodAffinity")
    if state is None:
        state = view.cycle_state["InterPodAffinity"] = _inter_pod_state(pod, view)
    aff_counts, anti_counts, existing_counts = state
    labels = info.labels
    if affinity:
        pods_exist = True
        for term in affinity:
            key = term["topologyKey"]
            if key not in labels:
                return [ERR_AFFINITY]  # all topology labels must exist on the node
            if aff_counts.get((key, labels[key]), 0) <= 0:
                pods_exist = False
        if not pods_exist:
            # the first pod of a group that selects itself may go anywhere with the keys
            if aff_counts or not all(_term_matches(t, pod, pod, view) for t in affinity):
                return [ERR_AFFINITY]
    for term in anti:
        key = term["topologyKey"]
        if key in labels and anti_counts.get((key, labels[key]), 0) > 0:
            return [ERR_ANTI_AFFINITY]
    if existing_counts and any(existing_counts.get((k, v), 0) > 0 for k, v in labels.items()):
        return [ERR_EXISTING_ANTI_AFFINITY]
    return []


# ---------------------------------------------------------------- PreFilter / PreScore skips
def needs_node_affinity(pod: Obj, view: ClusterView) -> bool:
    return (
        bool((pod.get("spec") or {}).get("nodeSelector"))
        or _required_node_affinity(pod) is not None
    )


def needs_node_ports(pod: Obj, view: ClusterView) -> bool:
    return bool(_host_ports(pod))


def needs_topology_spread(pod: Obj, view: ClusterView) -> bool:
    return any(
        c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"
        for c in (pod.get("spec") or {}).get("topologySpreadConstraints") or []
    )


def needs_inter_pod_affinity(pod: Obj, view: ClusterView) -> bool:
    if _required_terms(pod, "podAffinity") or _required_terms(pod, "podAntiAffinity"):
        return True
    return any(info.anti_affinity_pods for info in view.nodes)


def needs_preferred_node_affinity(pod: Obj, view: ClusterView) -> bool:
    section = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    return bool(section.get("preferredDuringSchedulingIgnoredDuringExecution"))


def needs_image_locality(pod: Obj, view: ClusterView) -> bool:
    return any(info.images for info in view.nodes)


# ---------------------------------------------------------------- scores
def score_taint_toleration(pod: Obj, info: NodeInfo, view: ClusterView) -> int:
    """Count of PreferNoSchedule taints not tolerated (normalised in reverse)."""
    tolerations = [
        t for t in _tolerations(pod) if t.get("effect") in (None, "", "PreferNoSchedule")
    ]
    return sum(
        1
        for taint in (info.node.get("spec") or {}).get("taints") or []
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
    spec = pod.get("spec") or {}
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    total_nodes = len(view.nodes) or 1
    summed = 0
    for container in containers:
        image = normalized_image_name(container.get("image", ""))
        size = info.images.get(image)
        if size is None:
            continue
        key = ("image-holders", image)
        if key not in view.cycle_state:
            view.cycle_state[key] = sum(1 for other in view.nodes if image in other.images)
        holders = view.cycle_state[key]
        summed += int(size * holders / total_nodes)
    max_threshold = _MAX_CONTAINER_THRESHOLD * max(1, len(containers))
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
