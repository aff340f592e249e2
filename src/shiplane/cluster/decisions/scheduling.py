"""The scheduler's decision for one pod (k8s pkg/scheduler/schedule_one.go schedulePod,
findNodesThatFitPod, prioritizeNodes, selectHost; framework/types.go FitError).

Theory of operation: ``schedule(pod, nodes, pods, image_cache)`` runs the default Filter plugins
in upstream order on each node (a node's status comes from the first plugin that rejects it),
stops once enough feasible nodes are found (numFeasibleNodesToFind, starting at
``start_index`` like upstream's rotating nextStartNodeIndex), scores the feasible nodes with the
default Score plugins and weights, and picks the best. Upstream picks uniformly among equal
scores; here the tie goes to the node that comes first by name, so results are reproducible.
If nothing fits, ``ScheduleResult.error`` is a :class:`FitError` whose ``message`` is
upstream's ``0/N nodes are available: ...`` text.

Not modelled: preemption (the message has no "preemption: ..." tail), volume plugins,
PodTopologySpread and InterPodAffinity scoring (their filters are implemented), scheduling gates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from shiplane.cluster.decisions import scheduler_filters as f
from shiplane.cluster.decisions import scheduler_scores as sc
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.scheduler_snapshot import ClusterView, NodeInfo

__all__ = [
    "FILTERS",
    "FitError",
    "SCORERS",
    "ScheduleResult",
    "build_node_infos",
    "fit_error_message",
    "num_feasible_nodes_to_find",
    "schedule",
    "schedule_on_snapshot",
    "scheduling_outcome",
]

Obj = Mapping[str, Any]

# default_plugins.go order (Filter extension point); the second item says whether the plugin
# matters for this pod at all (upstream PreFilter returning Skip), so irrelevant ones cost nothing
FILTERS = (
    ("NodeUnschedulable", None, f.filter_node_unschedulable),
    ("NodeName", None, f.filter_node_name),
    ("TaintToleration", None, f.filter_taint_toleration),
    ("NodeAffinity", f.needs_node_affinity, f.filter_node_affinity),
    ("NodePorts", f.needs_node_ports, f.filter_node_ports),
    ("NodeResourcesFit", None, f.filter_node_resources_fit),
    ("PodTopologySpread", f.needs_topology_spread, f.filter_pod_topology_spread),
    ("InterPodAffinity", f.needs_inter_pod_affinity, f.filter_inter_pod_affinity),
)
# plugins whose answer for a node depends only on the pod and that node (not on other nodes'
# pods): schedule_on_snapshot remembers their results per node until the node's pods change,
# so the pods of one ReplicaSet, which share a spec, cost a lookup on every node they do not
# change. PodTopologySpread and InterPodAffinity look across nodes and always run; ImageLocality
# is remembered together with how many nodes hold each of the pod's images.
NODE_LOCAL = frozenset({"NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
                        "NodePorts", "NodeResourcesFit", "NodeResourcesBalancedAllocation",
                        "ImageLocality"})
_MEMO_LIMIT = 32  # remembered results per node (distinct pod specs, filters and scores)
# the node-local filters come first in upstream's order, so running them as one remembered
# group before the others keeps the order (and so which plugin a rejection is charged to)
assert [name for name, _, _ in FILTERS if name in NODE_LOCAL] == \
    [name for name, _, _ in FILTERS][:len([n for n, _, _ in FILTERS if n in NODE_LOCAL])]
# (name, relevance, scorer, weight, normalisation: None | "forward" | "reverse" | function)
SCORERS = (
    ("TaintToleration", sc.needs_taint_score, sc.score_taint_toleration, 3, "reverse"),
    ("NodeAffinity", sc.needs_preferred_node_affinity, sc.score_node_affinity, 2, "forward"),
    ("NodeResourcesFit", None, sc.score_least_allocated, 1, None),
    ("NodeResourcesBalancedAllocation", None, sc.score_balanced_allocation, 1, None),
    ("ImageLocality", sc.needs_image_locality, sc.score_image_locality, 1, None),
    (
        "PodTopologySpread",
        sc.needs_spread_score,
        sc.score_pod_topology_spread,
        2,
        sc.normalize_spread,
    ),
)
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5


def fit_error_message(num_all_nodes: int, node_reasons: Mapping[str, Sequence[str]]) -> str:
    """FitError.Error: reasons counted over nodes, "<count> <reason>" sorted as strings."""
    histogram: dict[str, int] = {}
    for reasons in node_reasons.values():
        for reason in reasons:
            histogram[reason] = histogram.get(reason, 0) + 1
    message = f"0/{num_all_nodes} nodes are available:"
    entries = sorted(f"{count} {reason}" for reason, count in histogram.items())
    if entries:
        message += " " + ", ".join(entries) + "."
    return message


@dataclass(frozen=True)
class FitError:
    num_all_nodes: int
    node_reasons: Mapping[str, tuple[str, ...]]  # node -> reasons of the first failing plugin
    failed_plugins: Mapping[str, str] = field(default_factory=dict)  # node -> plugin

    @property
    def message(self) -> str:
        return fit_error_message(self.num_all_nodes, self.node_reasons)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ScheduleResult:
    node: str | None
    error: FitError | None = None
    scores: Mapping[str, int] = field(default_factory=dict)  # weighted totals of feasible nodes
    feasible: tuple[str, ...] = ()
    next_start_index: int = 0

    @property
    def scheduled(self) -> bool:
        return self.node is not None


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """schedule_one.go numFeasibleNodesToFind (adaptive 50% - nodes/125, at least 5%, >= 100)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def _is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def build_node_infos(
    nodes: Sequence[Obj],
    pods: Sequence[Obj] | Mapping[str, Sequence[Obj]],
    image_cache: Mapping[str, Mapping[str, int]] | None = None,
) -> list[NodeInfo]:
    """NodeInfos: assigned, non-terminal pods per node; images from ``image_cache``
    (node -> {image: bytes}) or else from node.status.images."""
    if isinstance(pods, Mapping):
        flat = [pod for group in pods.values() for pod in group]
    else:
        flat = list(pods)
    by_node: dict[str, list] = {}
    for pod in flat:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name and not _is_terminal(pod):
            by_node.setdefault(node_name, []).append(pod)
    infos = []
    for node in nodes:
        name = node["metadata"]["name"]
        if image_cache is not None:
            images = {
                sc.normalized_image_name(k): int(v)
                for k, v in (image_cache.get(name) or {}).items()
            }
        else:
            images = {}
            for entry in (node.get("status") or {}).get("images") or []:
                for image_name in entry.get("names") or []:
                    images[sc.normalized_image_name(image_name)] = int(entry.get("sizeBytes") or 0)
        info = NodeInfo(node=node, images=images)
        for pod in by_node.get(name, []):
            info.add_pod(pod)
        infos.append(info)
    return infos


def schedule(
    pod: Obj,
    nodes: Sequence[Obj],
    pods: Sequence[Obj] | Mapping[str, Sequence[Obj]],
    image_cache: Mapping[str, Mapping[str, int]] | None = None,
    *,
    start_index: int = 0,
    percentage_of_nodes_to_score: int = 0,
    namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
    default_spread_selector: Mapping[str, Any] | None = None,
) -> ScheduleResult:
    """Pick a node for ``pod`` or explain, in upstream's words, why none fits."""
    infos = build_node_infos(nodes, pods, image_cache)
    return schedule_on_snapshot(
        pod,
        infos,
        start_index=start_index,
        percentage_of_nodes_to_score=percentage_of_nodes_to_score,
        namespace_labels=namespace_labels,
        default_spread_selector=default_spread_selector,
    )


def schedule_on_snapshot(
    pod: Obj,
    infos: Sequence[NodeInfo],
    *,
    start_index: int = 0,
    percentage_of_nodes_to_score: int = 0,
    namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
    default_spread_selector: Mapping[str, Any] | None = None,
) -> ScheduleResult:
    """:func:`schedule` over NodeInfos the caller keeps up to date (upstream's scheduler cache
    snapshot): after binding, ``info.add_pod(pod)`` on the chosen node instead of rebuilding."""
    infos = list(infos)
    view = ClusterView(
        infos, namespace_labels or {}, default_spread_selector=default_spread_selector
    )
    total = len(infos)
    if total == 0:
        return ScheduleResult(None, FitError(0, {}))
    wanted = num_feasible_nodes_to_find(total, percentage_of_nodes_to_score)
    filters = [
        (name, check)
        for name, relevant, check in FILTERS
        if relevant is None or relevant(pod, view)
    ]
    spec_key = _spec_key(pod)
    local_filters = [(name, check) for name, check in filters if name in NODE_LOCAL]
    other_filters = [(name, check) for name, check in filters if name not in NODE_LOCAL]
    filter_key = ("filters", spec_key)
    feasible: list[NodeInfo] = []
    reasons: dict[str, tuple[str, ...]] = {}
    plugins: dict[str, str] = {}
    processed = 0
    for offset in range(total):
        if len(feasible) >= wanted:
            break
        info = infos[(start_index + offset) % total]
        processed += 1
        if spec_key is None:
            verdict = _first_failure(local_filters, pod, info, view)
        else:
            verdict = info.memo.get(filter_key, _UNKNOWN)
            if verdict is _UNKNOWN:
                verdict = _remember(info, filter_key, _first_failure(local_filters, pod, info,
                                                                     view))
        if verdict is None and other_filters:
            verdict = _first_failure(other_filters, pod, info, view)
        if verdict is None:
            feasible.append(info)
        else:
            plugins[info.name], reasons[info.name] = verdict
    next_start = (start_index + processed) % total
    if not feasible:
        return ScheduleResult(None, FitError(total, reasons, plugins), next_start_index=next_start)
    names = tuple(info.name for info in feasible)
    if len(feasible) == 1:  # schedulePod: a single feasible node needs no scoring
        return ScheduleResult(feasible[0].name, None, {}, names, next_start)
    view.cycle_state["feasible"] = feasible
    totals = {info.name: 0 for info in feasible}
    scorers = []
    for plugin, relevant, scorer, weight, how in SCORERS:
        if relevant is not None and not relevant(pod, view):
            # every node would get the same raw score 0: normalised that is 0, or 100 reversed
            if how == "reverse":
                for name in totals:
                    totals[name] += sc.MAX_NODE_SCORE * weight
            continue
        scorers.append((plugin, scorer, weight, how))
    local_raw = _local_scores(pod, feasible, view, spec_key,
                              [(p, scorer) for p, scorer, _, _ in scorers if p in NODE_LOCAL])
    for plugin, scorer, weight, how in scorers:
        if plugin in NODE_LOCAL:
            raw = {info.name: local_raw[info.name][plugin] for info in feasible}
        else:
            raw = {info.name: scorer(pod, info, view) for info in feasible}
        if callable(how):
            raw = how(raw, pod, view)
        elif how is not None:
            raw = sc.normalize(raw, reverse=how == "reverse")
        for name, score in raw.items():
            totals[name] += score * weight
    best = min(names, key=lambda n: (-totals[n], n))
    return ScheduleResult(best, None, totals, names, next_start)


_UNKNOWN = object()


def _first_failure(filters: Sequence[tuple[str, Any]], pod: Obj, info: NodeInfo,
                   view: ClusterView) -> tuple[str, tuple[str, ...]] | None:
    """The first filter plugin that rejects the node, with its reasons; None: it fits."""
    for plugin, check in filters:
        failed = check(pod, info, view)
        if failed:
            return plugin, tuple(failed)
    return None


def _local_scores(pod: Obj, feasible: Sequence[NodeInfo], view: ClusterView,
                  spec_key: bytes | None, scorers: Sequence[tuple[str, Any]]) -> dict:
    """node name -> {plugin: raw score} for the node-local score plugins, remembered per node
    (ImageLocality's score also depends on how many nodes hold the pod's images)."""
    if spec_key is None:
        return {info.name: {p: scorer(pod, info, view) for p, scorer in scorers}
                for info in feasible}
    key = ("scores", spec_key, _image_holders(pod, view))
    out = {}
    for info in feasible:
        entry = info.memo.get(key)
        if entry is None:
            entry = _remember(info, key, {})
        for plugin, scorer in scorers:
            if plugin not in entry:
                entry[plugin] = scorer(pod, info, view)
        out[info.name] = entry
    return out


def _spec_key(pod: Obj) -> bytes | None:
    """What the node-local plugins read of a pod: its spec (None: not JSON, do not remember)."""
    try:
        return orjson.dumps(pod.get("spec") or {}, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None


def _image_holders(pod: Obj, view: ClusterView) -> tuple[int, ...]:
    """How many nodes hold each of the pod's images (ImageLocality's spread), once a cycle."""
    if "image-holders" not in view.cycle_state:
        spec = pod.get("spec") or {}
        images = [sc.normalized_image_name(c.get("image", ""))
                  for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]]
        holders = []
        for image in images:  # the per-image counts score_image_locality reads, shared
            key = ("image-holders", image)
            if key not in view.cycle_state:
                view.cycle_state[key] = sum(1 for info in view.nodes if image in info.images)
            holders.append(view.cycle_state[key])
        view.cycle_state["image-holders"] = tuple(holders)
    return view.cycle_state["image-holders"]


def _remember(info: NodeInfo, key: Any, value: Any) -> Any:
    if len(info.memo) >= _MEMO_LIMIT:
        info.memo.clear()
    info.memo[key] = value
    return value


def scheduling_outcome(pod: Obj, result: ScheduleResult) -> tuple[Event, dict | None]:
    """What the scheduler records: Scheduled "Successfully assigned ns/name to node" (the
    binding sets PodScheduled=True), or FailedScheduling with the FitError message and the
    PodScheduled=False/Unschedulable condition to patch onto the pending pod."""
    meta = pod.get("metadata") or {}
    ref = f"{meta.get('namespace', 'default')}/{meta.get('name', '')}"
    if result.node is not None:
        return Event("Normal", "Scheduled", f"Successfully assigned {ref} to {result.node}"), None
    message = result.error.message if result.error else "0/0 nodes are available:"
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": message,
    }
    return Event("Warning", "FailedScheduling", message), condition
