"""The default scheduler Filter plugins as plain functions (k8s pkg/scheduler/framework/plugins:
nodeunschedulable, nodename, tainttoleration, nodeaffinity, nodeports, noderesources/fit.go,
podtopologyspread/filtering.go, interpodaffinity/filtering.go). Each returns the reasons a node
is rejected (empty = fits), in upstream's exact words, and each ``needs_*`` says whether the
plugin matters for a pod at all (PreFilter returning Skip).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shiplane.cluster.decisions.labels import matches_label_selector, matches_node_selector_term
from shiplane.cluster.decisions.scheduler_snapshot import (
    ClusterView,
    NodeInfo,
    incoming_requests,
    required_terms,
)

__all__ = [
    "filter_inter_pod_affinity",
    "filter_node_affinity",
    "filter_node_name",
    "filter_node_ports",
    "filter_node_resources_fit",
    "filter_node_unschedulable",
    "filter_pod_topology_spread",
    "filter_taint_toleration",
    "needs_inter_pod_affinity",
    "needs_node_affinity",
    "needs_node_ports",
    "needs_topology_spread",
    "pod_matches_node_selector_and_affinity",
    "tolerates",
]

Obj = Mapping[str, Any]

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


# ---------------------------------------------------------------- taints
def tolerates(toleration: Obj, taint: Obj) -> bool:
    """v1 Toleration.ToleratesTaint: effect and key must match (empty = any); Exists
    ignores the value."""
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
    if not info.unschedulable:
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
    for taint in info.taints:
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
    """nodeports: a hostPort clashes on the same protocol when either IP is 0.0.0.0 or
    they are equal."""
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
def _fit_request(pod: Obj, view: ClusterView) -> list[tuple[str, int]]:
    """The resources fitsRequest checks, in its order: cpu, memory, ephemeral-storage, then
    extended resources (Go iterates a map there; sorted here). Empty for best-effort pods."""
    key = "fit-request"
    if key not in view.cycle_state:
        request = {k: v for k, v in incoming_requests(pod, view).items() if k != "pods"}
        ordered = [(n, request.pop(n, 0)) for n in ("cpu", "memory", "ephemeral-storage")]
        ordered += sorted(request.items())
        view.cycle_state[key] = [(n, a) for n, a in ordered if a > 0]
    return view.cycle_state[key]


def filter_node_resources_fit(pod: Obj, info: NodeInfo, view: ClusterView) -> list[str]:
    """noderesources/fit.go fitsRequest: pod count, then every requested resource."""
    reasons = []
    alloc = info.allocatable
    if len(info.pods) + 1 > alloc.get("pods", 0):
        reasons.append(ERR_TOO_MANY_PODS)
    requested = info.requested
    for name, amount in _fit_request(pod, view):
        if amount > alloc.get(name, 0) - requested.get(name, 0):
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


def _inter_pod_state(pod: Obj, view: ClusterView) -> tuple[dict, dict, dict]:
    """PreFilter: (affinity, anti-affinity, existing pods' anti-affinity) counts per
    (topologyKey, value), over every assigned pod, once per scheduling cycle."""
    affinity = required_terms(pod, "podAffinity")
    anti = required_terms(pod, "podAntiAffinity")
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
            for term in required_terms(existing, "podAntiAffinity"):
                key = term["topologyKey"]
                if key in other.labels and _term_matches(term, existing, pod, view):
                    pair = (key, other.labels[key])
                    existing_counts[pair] = existing_counts.get(pair, 0) + 1
    return aff_counts, anti_counts, existing_counts


def filter_inter_pod_affinity(pod: Obj, info: NodeInfo, view: ClusterView) -> list[str]:
    """interpodaffinity/filtering.go Filter: affinity, then anti-affinity, then existing pods'
    anti-affinity."""
    affinity = required_terms(pod, "podAffinity")
    anti = required_terms(pod, "podAntiAffinity")
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
    if required_terms(pod, "podAffinity") or required_terms(pod, "podAntiAffinity"):
        return True
    return any(info.anti_affinity_pods for info in view.nodes)
