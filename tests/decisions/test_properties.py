"""Property tests for the scheduler, ReplicaSet deletion ranking, HPA bounds and PDB arithmetic."""

import re
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from k8s_objects import T0, at, pod

from shiplane.cluster.decisions.autoscaling import AutoscalerMemory, MetricSample, plan_hpa
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.disruption import pdb_status
from shiplane.cluster.decisions.pods import is_pod_ready
from shiplane.cluster.decisions.replicaset import pods_to_delete
from shiplane.cluster.decisions.scheduler_snapshot import ClusterView
from shiplane.cluster.decisions.scheduling import FILTERS, build_node_infos, schedule

taint = st.fixed_dictionaries(
    {
        "key": st.sampled_from(["a", "b"]),
        "value": st.sampled_from(["", "x"]),
        "effect": st.sampled_from(["NoSchedule", "NoExecute", "PreferNoSchedule"]),
    }
)
node_st = st.builds(
    lambda i, cpu, pods, zone, taints, cordoned: {
        "metadata": {"name": f"n{i}", "labels": {"zone": zone}},
        "spec": {"taints": taints, "unschedulable": cordoned},
        "status": {"allocatable": {"cpu": f"{cpu}m", "memory": "4Gi", "pods": str(pods)}},
    },
    st.integers(),
    st.integers(0, 4000),
    st.integers(0, 3),
    st.sampled_from(["z1", "z2"]),
    st.lists(taint, max_size=2),
    st.booleans(),
)
nodes_st = st.lists(node_st, min_size=1, max_size=8).map(
    lambda ns: [dict(n, metadata={**n["metadata"], "name": f"n{i}"}) for i, n in enumerate(ns)]
)


@settings(max_examples=150, deadline=None)
@given(
    nodes=nodes_st,
    cpu=st.integers(0, 3000),
    zone=st.sampled_from([None, "z1", "z2"]),
    tolerate=st.booleans(),
    placed=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 2000)), max_size=6),
)
def test_schedule_result_is_consistent_with_filters(nodes, cpu, zone, tolerate, placed):
    spec = {
        "containers": [{"name": "c", "image": "x:1", "resources": {"requests": {"cpu": f"{cpu}m"}}}]
    }
    if zone:
        spec["nodeSelector"] = {"zone": zone}
    if tolerate:
        spec["tolerations"] = [{"key": "a", "operator": "Exists"}]
    candidate = {"metadata": {"name": "p", "namespace": "default"}, "spec": spec}
    existing = [
        {
            "metadata": {"name": f"e{i}", "namespace": "default"},
            "spec": {
                "nodeName": f"n{idx % len(nodes)}",
                "containers": [{"name": "c", "resources": {"requests": {"cpu": f"{c}m"}}}],
            },
            "status": {"phase": "Running"},
        }
        for i, (idx, c) in enumerate(placed)
    ]
    result = schedule(candidate, nodes, existing)
    infos = {i.name: i for i in build_node_infos(nodes, existing)}
    view = ClusterView(list(infos.values()))
    fits = {
        name
        for name, info in infos.items()
        if not any(check(candidate, info, view) for _, _, check in FILTERS)
    }
    assert set(result.feasible) == fits
    if fits:
        assert result.node in fits and result.error is None
        if len(fits) > 1:
            assert result.scores[result.node] == max(result.scores.values())
    else:
        assert result.node is None
        counts = [int(n) for n in re.findall(r"(?:: |, )(\d+) ", result.error.message)]
        assert sum(counts) >= len(nodes) and result.error.message.endswith(".")
        assert result.error.message.startswith(f"0/{len(nodes)} nodes are available: ")


spec_st = st.builds(
    lambda cpu, zone, tolerate, image: {
        "containers": [{"name": "c", "image": image,
                        "resources": {"requests": {"cpu": f"{cpu}m"}}}],
        **({"nodeSelector": {"zone": zone}} if zone else {}),
        **({"tolerations": [{"key": "a", "operator": "Exists"}]} if tolerate else {}),
    },
    st.integers(0, 1500),
    st.sampled_from([None, "z1", "z2"]),
    st.booleans(),
    st.sampled_from(["web:1", "web:2"]),
)


@settings(max_examples=100, deadline=None)
@given(
    nodes=nodes_st,
    specs=st.lists(spec_st, min_size=1, max_size=3),
    order=st.lists(st.integers(0, 2), min_size=1, max_size=12),
    images=st.lists(st.sampled_from(["web:1", "web:2"]), max_size=8),
)
def test_remembered_node_results_change_no_decision(nodes, specs, order, images):
    """schedule_on_snapshot remembers node-local filter/score results on each NodeInfo until
    its pods change: a run over long-lived infos decides exactly as one over infos built anew
    for every pod."""
    from shiplane.cluster.decisions.scheduling import schedule_on_snapshot

    for node, image in zip(nodes, images):  # some nodes hold an image (ImageLocality)
        node["status"]["images"] = [{"names": [image], "sizeBytes": 300 * 1024 * 1024}]
    kept = build_node_infos(nodes, [])
    bound: list[dict] = []
    start = 0
    for i, which in enumerate(order):
        candidate = {"metadata": {"name": f"p{i}", "namespace": "default"},
                     "spec": specs[which % len(specs)]}
        fresh = schedule_on_snapshot(candidate, build_node_infos(nodes, bound), start_index=start)
        remembered = schedule_on_snapshot(candidate, kept, start_index=start)
        assert (remembered.node, remembered.scores, remembered.feasible) == \
            (fresh.node, fresh.scores, fresh.feasible)
        assert str(remembered.error) == str(fresh.error)
        start = fresh.next_start_index
        if fresh.node is not None:
            placed = {**candidate, "spec": {**candidate["spec"], "nodeName": fresh.node},
                      "status": {"phase": "Running"}}
            bound.append(placed)
            next(info for info in kept if info.name == fresh.node).add_pod(placed)


pod_st = st.builds(
    lambda i, node, phase, ready, since, restarts: pod(
        f"p{i}",
        node=node,
        phase=phase,
        ready=ready,
        ready_since=since,
        created=since,
        restarts=restarts,
    ),
    st.integers(),
    st.sampled_from(["", "n1", "n2"]),
    st.sampled_from(["Pending", "Running", "Unknown"]),
    st.booleans(),
    st.floats(0, 1000),
    st.integers(0, 3),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(pod_st, min_size=1, max_size=12, unique_by=lambda p: p["metadata"]["name"]),
    st.integers(1, 12),
)
def test_deletion_prefers_unassigned_then_unready(pods, count):
    chosen = pods_to_delete(pods, pods, min(count, len(pods)), at(2000))
    kept = [p for p in pods if p not in chosen]
    assert len(chosen) == min(count, len(pods))
    if any(not p["spec"].get("nodeName") for p in kept):
        assert all(not p["spec"].get("nodeName") for p in chosen)
    same_phase_running = [
        p for p in kept if p["status"]["phase"] == "Running" and p["spec"].get("nodeName")
    ]
    for victim in chosen:
        if (
            victim["status"]["phase"] == "Running"
            and victim["spec"].get("nodeName")
            and is_pod_ready(victim)
        ):
            assert all(is_pod_ready(p) for p in same_phase_running)


def _upstream_less(a, b, related, now):
    """controller_utils.go ActivePodsWithRanks.Less, written out plainly as the oracle."""
    import math

    from shiplane.cluster.decisions.clock import parse_time
    from shiplane.cluster.decisions.pods import ready_since

    def log_rank(t):
        nanos = (now - t).total_seconds() * 1e9
        return int(math.log2(nanos)) if nanos > 0 else -1

    def newer_first(ta, tb):  # afterOrZero, or LogarithmicScaleDown rank then UID
        if ta is None or tb is None:
            return ta is None
        if log_rank(ta) == log_rank(tb):
            return a["metadata"]["uid"] < b["metadata"]["uid"]
        return log_rank(ta) < log_rank(tb)

    na, nb = a["spec"].get("nodeName", ""), b["spec"].get("nodeName", "")
    if bool(na) != bool(nb):
        return not na
    order = {"Pending": 0, "Unknown": 1, "Running": 2}
    if order[a["status"]["phase"]] != order[b["status"]["phase"]]:
        return order[a["status"]["phase"]] < order[b["status"]["phase"]]
    if is_pod_ready(a) != is_pod_ready(b):
        return not is_pod_ready(a)
    if related[na] != related[nb]:
        return related[na] > related[nb]
    if is_pod_ready(a) and is_pod_ready(b) and ready_since(a) != ready_since(b):
        return newer_first(ready_since(a), ready_since(b))
    ra = max(s["restartCount"] for s in a["status"].get("containerStatuses") or [{"restartCount": 0}])
    rb = max(s["restartCount"] for s in b["status"].get("containerStatuses") or [{"restartCount": 0}])
    if ra != rb:
        return ra > rb
    ca, cb = (parse_time(p["metadata"].get("creationTimestamp")) for p in (a, b))
    if ca != cb:
        return newer_first(ca, cb)
    return False


@settings(max_examples=200, deadline=None)
@given(
    st.lists(pod_st, min_size=2, max_size=14, unique_by=lambda p: p["metadata"]["name"]),
    st.integers(1, 13),
    st.lists(st.integers(0, 1999), min_size=14, max_size=14, unique=True),
    st.lists(st.integers(0, 1999), min_size=14, max_size=14, unique=True),
)
def test_deletion_takes_the_first_pods_of_upstreams_order(pods, count, created, ready):
    """pods_to_delete (precomputed ranks, heapq.nsmallest) picks what a full sort by upstream's
    Less picks. Timestamps are distinct per pod: with equal ones Less is not transitive (equal
    times fall through to restarts, equal log ranks of different times go by UID), and then no
    two algorithms need agree, upstream's sort.Sort included."""
    import functools

    for p, c, r in zip(pods, created, ready):
        p["metadata"]["creationTimestamp"] = format_time(at(c))
        for cond in p["status"]["conditions"]:
            cond["lastTransitionTime"] = format_time(at(r))
    count = min(count, len(pods) - 1)
    now = at(2000)
    related = Counter(p["spec"].get("nodeName", "") for p in pods)  # all pods are active

    def cmp(a, b):
        return -1 if _upstream_less(a, b, related, now) else (
            1 if _upstream_less(b, a, related, now) else 0)

    ordered = sorted(pods, key=functools.cmp_to_key(cmp))
    chosen = pods_to_delete(pods, pods, count, now)
    assert [p["metadata"]["name"] for p in chosen] == \
        [p["metadata"]["name"] for p in ordered[:count]]
    # ranks kept by (uid, resourceVersion) across plans change nothing
    for p in pods:
        p["metadata"]["resourceVersion"] = "7"
    cache: dict = {}
    for _ in range(2):
        again = pods_to_delete(pods, pods, count, now, cache)
        assert [p["metadata"]["name"] for p in again] == [p["metadata"]["name"] for p in chosen]
    assert len(cache) == len(pods)


@settings(max_examples=100, deadline=None)
@given(
    current=st.integers(1, 50),
    usage=st.lists(st.integers(0, 5000), min_size=1, max_size=50),
    min_r=st.integers(1, 5),
    max_r=st.integers(5, 60),
)
def test_hpa_stays_within_bounds_and_rate(current, usage, min_r, max_r):
    current = max(min(current, max_r), min_r)
    pods_ = [
        {
            "metadata": {"name": f"p{i}"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
            "status": {
                "phase": "Running",
                "startTime": format_time(at(-3600)),
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "lastTransitionTime": format_time(at(-3600)),
                    }
                ],
            },
        }
        for i in range(current)
    ]
    metrics = {"cpu": {f"p{i}": MetricSample(usage[i % len(usage)], T0) for i in range(current)}}
    hpa = {
        "spec": {
            "minReplicas": min_r,
            "maxReplicas": max_r,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 60},
                    },
                }
            ],
        },
        "status": {"desiredReplicas": current},
    }
    decision = plan_hpa(hpa, current, pods_, metrics, AutoscalerMemory(), T0)
    assert min_r <= decision.desired <= max_r
    assert decision.desired <= max(current + 4, 2 * current)
    assert decision.desired >= current  # status.desiredReplicas seeds the 300 s window


@settings(max_examples=100, deadline=None)
@given(
    ready=st.integers(0, 20),
    unready=st.integers(0, 5),
    spec=st.one_of(
        st.integers(0, 25).map(lambda n: {"minAvailable": n}),
        st.integers(0, 100).map(lambda n: {"minAvailable": f"{n}%"}),
        st.integers(0, 25).map(lambda n: {"maxUnavailable": n}),
        st.integers(0, 100).map(lambda n: {"maxUnavailable": f"{n}%"}),
    ),
)
def test_pdb_disruptions_allowed_is_healthy_minus_desired(ready, unready, spec):
    pods_ = [pod(f"r{i}", labels={"app": "w"}) for i in range(ready)] + [
        pod(f"u{i}", labels={"app": "w"}, ready=False) for i in range(unready)
    ]
    pdb = {
        "metadata": {"name": "b", "namespace": "default", "generation": 1},
        "spec": {"selector": {"matchLabels": {"app": "w"}}, **spec},
    }
    status, _ = pdb_status(pdb, pods_, T0, scale=ready + unready)
    assert status["currentHealthy"] == ready
    expected_allowed = max(0, ready - status["desiredHealthy"]) if status["expectedPods"] > 0 else 0
    assert status["disruptionsAllowed"] == expected_allowed
    assert (status["conditions"][0]["status"] == "True") == (expected_allowed > 0)
