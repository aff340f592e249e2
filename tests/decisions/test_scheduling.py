"""Scheduler core: every default filter, the scores, and FitError's message (k8s pkg/scheduler/
framework/types.go FitError.Error, plugins/*/..._test.go, schedule_one.go numFeasibleNodesToFind)."""

import pytest
from k8s_objects import node

from shiplane.cluster.decisions import scheduler_scores as sp
from shiplane.cluster.decisions.pod_resources import pod_requests
from shiplane.cluster.decisions.scheduler_snapshot import ClusterView
from shiplane.cluster.decisions.scheduling import (
    build_node_infos,
    fit_error_message,
    num_feasible_nodes_to_find,
    schedule,
)

MB = 1024 * 1024


def new_pod(cpu=None, memory=None, name="p", labels=None, **spec):
    requests = {}
    if cpu:
        requests["cpu"] = cpu
    if memory:
        requests["memory"] = memory
    p = {
        "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
        "spec": {
            "containers": [{"name": "c", "image": "app:1", "resources": {"requests": requests}}]
        },
    }
    p["spec"].update(spec)
    return p


def placed(name, node_name, cpu=None, memory=None, labels=None, **spec):
    p = new_pod(cpu, memory, name=name, labels=labels, **spec)
    p["spec"]["nodeName"] = node_name
    p["status"] = {"phase": "Running"}
    return p


def message(p, nodes, pods=()):
    result = schedule(p, nodes, list(pods))
    assert result.node is None, result
    return result.error.message


def test_issue_example_message():
    nodes = [
        node("gpu", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
        node("a", cpu="2"),
        node("b", cpu="2"),
    ]
    assert (
        message(new_pod(cpu="3"), nodes)
        == "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu."
    )


def test_reasons_are_sorted_as_strings_like_upstream():
    nodes = [node(f"n{i}", cpu="1") for i in range(10)] + [
        node("x", unschedulable=True),
        node("y", unschedulable=True),
    ]
    # "10 ..." sorts before "2 ..." because FitError sorts the formatted strings
    assert (
        message(new_pod(cpu="2"), nodes)
        == "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were unschedulable."
    )
    assert fit_error_message(0, {}) == "0/0 nodes are available:"


def test_node_unschedulable_unless_tolerated():
    nodes = [node("a", unschedulable=True)]
    assert message(new_pod(), nodes) == "0/1 nodes are available: 1 node(s) were unschedulable."
    tolerant = new_pod(
        tolerations=[
            {
                "key": "node.kubernetes.io/unschedulable",
                "operator": "Exists",
                "effect": "NoSchedule",
            }
        ]
    )
    assert schedule(tolerant, nodes, []).node == "a"


def test_node_name_filter():
    p = new_pod(nodeName="b")
    assert schedule(p, [node("a"), node("b")], []).node == "b"
    assert (
        message(p, [node("a")])
        == "0/1 nodes are available: 1 node(s) didn't match the requested node name."
    )


@pytest.mark.parametrize(
    "toleration,tolerated",
    [
        ({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}, True),
        (
            {"key": "dedicated", "value": "gpu"},
            True,
        ),  # operator defaults to Equal, empty effect = all
        ({"key": "dedicated", "operator": "Equal", "value": "cpu", "effect": "NoSchedule"}, False),
        ({"key": "dedicated", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),  # empty key + Exists tolerates everything
        ({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "other", "operator": "Exists"}, False),
    ],
)
def test_taint_toleration_operators(toleration, tolerated):
    nodes = [node("a", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])]
    result = schedule(new_pod(tolerations=[toleration]), nodes, [])
    assert (result.node == "a") is tolerated


def test_no_execute_taints_filter_and_prefer_no_schedule_does_not():
    nodes = [
        node("a", taints=[{"key": "k", "value": "", "effect": "NoExecute"}]),
        node("b", taints=[{"key": "soft", "value": "x", "effect": "PreferNoSchedule"}]),
    ]
    assert schedule(new_pod(), nodes, []).node == "b"
    assert (
        message(new_pod(), nodes[:1])
        == "0/1 nodes are available: 1 node(s) had untolerated taint {k: }."
    )


def affinity(*terms):
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}
        }
    }


@pytest.mark.parametrize(
    "expr,matches",
    [
        ({"key": "zone", "operator": "In", "values": ["a", "b"]}, {"n1", "n2"}),
        ({"key": "zone", "operator": "NotIn", "values": ["a"]}, {"n2", "n3"}),
        ({"key": "gpu", "operator": "Exists"}, {"n3"}),
        ({"key": "gpu", "operator": "DoesNotExist"}, {"n1", "n2"}),
        ({"key": "cores", "operator": "Gt", "values": ["4"]}, {"n2"}),
        ({"key": "cores", "operator": "Lt", "values": ["8"]}, {"n1"}),
    ],
)
def test_node_affinity_operators(expr, matches):
    nodes = [
        node("n1", labels={"zone": "a", "cores": "4"}),
        node("n2", labels={"zone": "b", "cores": "16"}),
        node("n3", labels={"gpu": "yes", "cores": "x"}),
    ]
    result = schedule(new_pod(affinity=affinity({"matchExpressions": [expr]})), nodes, [])
    assert set(result.feasible) == matches


def test_node_selector_and_affinity_terms_are_anded_terms_ored():
    nodes = [node("n1", labels={"zone": "a", "disk": "ssd"}), node("n2", labels={"zone": "b"})]
    p = new_pod(
        nodeSelector={"disk": "ssd"},
        affinity=affinity(
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
        ),
    )
    assert schedule(p, nodes, []).node == "n1"
    assert (
        message(new_pod(nodeSelector={"disk": "hdd"}), nodes)
        == "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
    )


def test_node_ports():
    web = {"name": "c", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]}
    existing = placed("old", "a", containers=[web])
    assert (
        message(new_pod(containers=[web]), [node("a")], [existing])
        == "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."
    )
    udp = {
        "name": "c",
        "image": "x",
        "ports": [{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}],
    }
    assert schedule(new_pod(containers=[udp]), [node("a")], [existing]).node == "a"
    other_ip = {
        "name": "c",
        "image": "x",
        "ports": [{"containerPort": 80, "hostPort": 8080, "hostIP": "10.0.0.2"}],
    }
    assert (
        schedule(new_pod(containers=[other_ip]), [node("a")], [existing]).node is None
    )  # 0.0.0.0 clashes with all


def test_resources_fit_counts_existing_requests_pods_and_memory():
    nodes = [node("a", cpu="2", memory="4Gi", pods="2")]
    existing = [placed("e1", "a", cpu="1500m", memory="1Gi")]
    assert (
        message(new_pod(cpu="600m", memory="3500Mi"), nodes, existing)
        == "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."
    )
    full = existing + [placed("e2", "a")]
    assert message(new_pod(), nodes, full) == "0/1 nodes are available: 1 Too many pods."
    assert schedule(new_pod(cpu="500m", memory="3Gi"), nodes, existing).node == "a"
    finished = [placed("done", "a", cpu="2")]
    finished[0]["status"]["phase"] = "Succeeded"
    assert schedule(new_pod(cpu="2"), nodes, finished).node == "a"


def test_extended_resources():
    n = node("a")
    n["status"]["allocatable"]["example.com/gpu"] = "1"
    p = new_pod()
    p["spec"]["containers"][0]["resources"]["requests"]["example.com/gpu"] = "2"
    assert message(p, [n]) == "0/1 nodes are available: 1 Insufficient example.com/gpu."


def test_pod_requests_init_containers_sidecars_and_overhead():
    p = new_pod(
        cpu="500m",
        memory="100Mi",
        initContainers=[
            {"name": "i1", "resources": {"requests": {"cpu": "2", "memory": "10Mi"}}},
            {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m"}}},
            {"name": "i2", "resources": {"requests": {"cpu": "1950m"}}},
        ],
        overhead={"cpu": "10m"},
    )
    # init max: max(2000, 100 + 1950) = 2050; main: 500 + sidecar 100 = 600; -> 2050 + overhead 10
    assert pod_requests(p) == {"cpu": 2060, "memory": 100 * MB}
    assert pod_requests(new_pod(), non_zero=True) == {"cpu": 100, "memory": 200 * MB}


def spread_pod(name, labels, max_skew=1, key="zone", **extra):
    constraint = {
        "maxSkew": max_skew,
        "topologyKey": key,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}},
        **extra,
    }
    return new_pod(name=name, labels=labels, topologySpreadConstraints=[constraint])


def test_pod_topology_spread_hard_constraint():
    nodes = [node("a1", labels={"zone": "a"}), node("b1", labels={"zone": "b"}), node("nolabel")]
    existing = [placed("w1", "a1", labels={"app": "web"})]
    result = schedule(spread_pod("new", {"app": "web"}), nodes, existing)
    assert result.feasible == ("b1",)
    msg = message(spread_pod("new", {"app": "web"}), nodes[2:], existing)
    assert (
        msg
        == "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label)."
    )
    existing.append(placed("w2", "b1", labels={"app": "web"}))
    existing.append(placed("w3", "b1", labels={"app": "web"}))
    assert schedule(spread_pod("new", {"app": "web"}), nodes, existing).feasible == ("a1",)
    cordoned = [node("a1", labels={"zone": "a"}, unschedulable=True), nodes[1]]
    assert message(spread_pod("new", {"app": "web"}), cordoned, existing) == (
        "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, "
        "1 node(s) were unschedulable."
    )


def test_topology_spread_min_domains_and_terminating_pods():
    nodes = [node("a1", labels={"zone": "a"})]
    existing = [placed("w1", "a1", labels={"app": "web"})]
    # only one domain but minDomains 2: the global minimum counts as 0 -> skew 2 > 1
    assert schedule(spread_pod("n", {"app": "web"}, minDomains=2), nodes, existing).node is None
    assert schedule(spread_pod("n", {"app": "web"}), nodes, existing).node == "a1"
    existing[0]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert schedule(spread_pod("n", {"app": "web"}, minDomains=2), nodes, existing).node == "a1"


def pod_affinity_term(labels, key="kubernetes.io/hostname"):
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key}


def test_inter_pod_affinity_required():
    nodes = [node("a"), node("b")]
    cache = [placed("cache", "b", labels={"app": "cache"})]
    wants_cache = new_pod(
        affinity={
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    pod_affinity_term({"app": "cache"})
                ]
            }
        }
    )
    assert schedule(wants_cache, nodes, cache).feasible == ("b",)
    assert (
        message(wants_cache, nodes, [])
        == "0/2 nodes are available: 2 node(s) didn't match pod affinity rules."
    )
    # the first pod of a self-affine group may land anywhere
    first = new_pod(
        labels={"app": "cache"},
        affinity={
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    pod_affinity_term({"app": "cache"})
                ]
            }
        },
    )
    assert set(schedule(first, nodes, []).feasible) == {"a", "b"}


def test_inter_pod_anti_affinity_and_existing_pods_anti_affinity():
    nodes = [
        node("a", labels={"zone": "z1"}),
        node("b", labels={"zone": "z1"}),
        node("c", labels={"zone": "z2"}),
    ]
    web = [placed("w1", "a", labels={"app": "web"})]
    spread = new_pod(
        labels={"app": "web"},
        affinity={
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    pod_affinity_term({"app": "web"}, key="zone")
                ]
            }
        },
    )
    assert schedule(spread, nodes, web).feasible == ("c",)
    assert (
        message(spread, nodes[:2], web)
        == "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."
    )
    loner = placed(
        "loner",
        "c",
        labels={"app": "db"},
        affinity={
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    pod_affinity_term({"app": "web"})
                ]
            }
        },
    )
    assert (
        message(new_pod(labels={"app": "web"}), nodes[2:], [loner])
        == "0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules."
    )
    other_ns = new_pod(labels={"app": "web"})
    other_ns["metadata"]["namespace"] = "other"
    assert (
        schedule(other_ns, nodes[2:], [loner]).node == "c"
    )  # terms default to the owner's namespace


def test_first_failing_filter_decides_a_nodes_reason():
    n = node("a", cpu="1", taints=[{"key": "t", "value": "v", "effect": "NoSchedule"}])
    result = schedule(new_pod(cpu="2"), [n], [])
    assert result.error.node_reasons == {"a": ("node(s) had untolerated taint {t: v}",)}
    assert result.error.failed_plugins == {"a": "TaintToleration"}


def infos(nodes, pods=(), cache=None):
    view_infos = build_node_infos(nodes, list(pods), cache)
    return view_infos, ClusterView(view_infos)


def test_least_allocated_and_balanced_allocation_scores():
    def score(scorer, p):  # one scheduling cycle per pod: the view memoises the pod's requests
        (info,), view = infos([node("a", cpu="4", memory="8Gi")])
        return scorer(p, info, view)

    assert score(sp.score_least_allocated, new_pod(cpu="1", memory="2Gi")) == 75
    assert score(sp.score_balanced_allocation, new_pod(cpu="1", memory="2Gi")) == 100
    assert score(sp.score_balanced_allocation, new_pod(cpu="2", memory="2Gi")) == 87
    assert score(sp.score_balanced_allocation, new_pod()) == 0  # best-effort pods are skipped
    # LeastAllocated counts 100m / 200Mi for containers without requests
    (info,), view = infos([node("a", cpu="1", memory="400Mi")], [placed("e", "a")])
    assert sp.score_least_allocated(new_pod(), info, view) == (80 + 0) // 2


def test_image_locality_score():
    nodes = [node("a"), node("b")]
    view_infos, view = infos(nodes, cache={"a": {"app:1": 500 * MB}})
    assert sp.score_image_locality(new_pod(), view_infos[0], view) == 100 * (
        250 * MB - 23 * MB
    ) // (977 * MB)
    assert sp.score_image_locality(new_pod(), view_infos[1], view) == 0
    # node.status.images is used when no cache is given; "app" means "app:latest"
    view_infos, view = infos([node("a", images={"app:latest": 2000 * MB})])
    p = new_pod()
    p["spec"]["containers"][0]["image"] = "app"
    assert sp.score_image_locality(p, view_infos[0], view) == 100


def test_taint_and_node_affinity_scores_normalised():
    soft = lambda k: {"key": k, "value": "", "effect": "PreferNoSchedule"}  # noqa: E731
    nodes = [node("a", taints=[soft("x"), soft("y")]), node("b", taints=[soft("x")]), node("c")]
    view_infos, view = infos(nodes)
    raw = {i.name: sp.score_taint_toleration(new_pod(), i, view) for i in view_infos}
    assert raw == {"a": 2, "b": 1, "c": 0}
    assert sp.normalize(raw, reverse=True) == {"a": 0, "b": 50, "c": 100}
    tolerant = new_pod(
        tolerations=[{"key": "x", "operator": "Exists", "effect": "PreferNoSchedule"}]
    )
    assert sp.score_taint_toleration(tolerant, view_infos[0], view) == 1
    pref = new_pod(
        affinity={
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 30,
                        "preference": {
                            "matchExpressions": [
                                {"key": "kubernetes.io/hostname", "operator": "In", "values": ["b"]}
                            ]
                        },
                    },
                    {
                        "weight": 10,
                        "preference": {
                            "matchExpressions": [
                                {
                                    "key": "kubernetes.io/hostname",
                                    "operator": "NotIn",
                                    "values": ["a"],
                                }
                            ]
                        },
                    },
                ]
            }
        }
    )
    raw = {i.name: sp.score_node_affinity(pref, i, view) for i in view_infos}
    assert raw == {"a": 0, "b": 40, "c": 10}
    assert sp.normalize(raw, reverse=False) == {"a": 0, "b": 100, "c": 25}
    assert sp.normalize({"a": 0, "b": 0}, reverse=True) == {"a": 100, "b": 100}


def test_weighted_total_picks_best_and_ties_go_to_first_name():
    nodes = [node("b"), node("a"), node("c", cpu="8")]
    result = schedule(new_pod(cpu="1", memory="1Gi"), nodes, [])
    assert result.node == "c"  # more room: LeastAllocated
    assert schedule(new_pod(cpu="1", memory="1Gi"), nodes[:2], []).node == "a"
    soft = [{"key": "x", "value": "", "effect": "PreferNoSchedule"}]
    tainted = [node("a", taints=soft), node("b")]
    result = schedule(new_pod(), tainted, [])
    assert result.node == "b" and result.scores["b"] - result.scores["a"] == 3 * 100  # weight 3


def test_single_feasible_node_is_not_scored():
    result = schedule(new_pod(), [node("a")], [])
    assert result.node == "a" and result.scores == {}


@pytest.mark.parametrize(
    "total,expected", [(5, 5), (99, 99), (100, 100), (1000, 420), (5000, 500), (200, 100)]
)
def test_num_feasible_nodes_to_find(total, expected):
    assert num_feasible_nodes_to_find(total) == expected


def test_search_stops_early_and_rotates_start_index():
    nodes = [node(f"n{i:03}") for i in range(1000)]
    first = schedule(new_pod(), nodes, [])
    assert len(first.feasible) == 420 and first.next_start_index == 420
    second = schedule(new_pod(), nodes, [], start_index=first.next_start_index)
    assert second.feasible[0] == "n420"


def test_no_nodes():
    assert schedule(new_pod(), [], []).error.message == "0/0 nodes are available:"


def test_scheduling_outcome_events_and_condition():
    from shiplane.cluster.decisions.events import Event
    from shiplane.cluster.decisions.scheduling import scheduling_outcome

    ok = schedule(new_pod(), [node("a")], [])
    assert scheduling_outcome(new_pod(), ok) == (
        Event("Normal", "Scheduled", "Successfully assigned default/p to a"),
        None,
    )
    bad = schedule(new_pod(cpu="9"), [node("a")], [])
    event, condition = scheduling_outcome(new_pod(), bad)
    assert event == Event(
        "Warning", "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu."
    )
    assert condition == {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient cpu.",
    }


def test_total_score_matches_upstream_arithmetic_without_taints():
    # TaintToleration 3 x 100 (no PreferNoSchedule taints), LeastAllocated (75 + 87) // 2 = 81,
    # BalancedAllocation int((1 - |0.25 - 0.125| / 2) * 100) = 93, NodeAffinity/ImageLocality 0
    result = schedule(new_pod(cpu="1", memory="1Gi"), [node("a"), node("b")], [])
    assert result.scores == {"a": 474, "b": 474} and result.node == "a"


def test_topology_spread_scoring_with_system_default_constraints():
    nodes = [node("n1", labels={"topology.kubernetes.io/zone": "z1"}),
             node("n2", labels={"topology.kubernetes.io/zone": "z1"}),
             node("n3", labels={"topology.kubernetes.io/zone": "z2"})]  # fmt: skip
    web = {"app": "web"}
    existing = [
        placed("w1", "n1", labels=web),
        placed("w2", "n1", labels=web),
        placed("w3", "n3", labels=web),
    ]
    selector = {"matchLabels": web}
    view_infos = build_node_infos(nodes, existing)
    view = ClusterView(view_infos, default_spread_selector=selector)
    p = new_pod(labels=web)
    raw = {i.name: sp.score_pod_topology_spread(p, i, view) for i in view_infos}
    # hostname: count * ln(3 + 2) + (3 - 1); zone: count * ln(2 + 2) + (5 - 1), rounded
    assert raw == {"n1": 12, "n2": 9, "n3": 9}
    assert sp.normalize_spread(raw, p, view) == {"n1": 75, "n2": 100, "n3": 100}
    with_spread = schedule(p, nodes, existing, default_spread_selector=selector)
    without = schedule(p, nodes, existing)
    assert with_spread.scores["n1"] - without.scores["n1"] == 2 * 75
    assert with_spread.scores["n2"] - without.scores["n2"] == 2 * 100


def test_declared_schedule_anyway_constraint_ignores_nodes_without_the_key():
    nodes = [node("a", labels={"rack": "r1"}), node("b", labels={"rack": "r2"}), node("c")]
    existing = [placed("w1", "a", labels={"app": "web"})]
    constraint = {"maxSkew": 1, "topologyKey": "rack", "whenUnsatisfiable": "ScheduleAnyway",
                  "labelSelector": {"matchLabels": {"app": "web"}}}  # fmt: skip
    p = new_pod(labels={"app": "web"}, topologySpreadConstraints=[constraint])
    view_infos = build_node_infos(nodes, existing)
    view = ClusterView(view_infos)
    raw = {i.name: sp.score_pod_topology_spread(p, i, view) for i in view_infos}
    assert raw == {"a": 1, "b": 0, "c": 0}  # ln(2 + 2) * 1 + 0, rounded
    assert sp.normalize_spread(raw, p, view) == {"a": 0, "b": 100, "c": 0}
    assert schedule(p, nodes, existing).node == "b"
