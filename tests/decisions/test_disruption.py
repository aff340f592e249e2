"""PDB status and eviction (k8s pkg/controller/disruption/disruption_test.go, pkg/registry/core/pod/
storage/eviction_test.go TestEviction, TestEvictionIgnorePDB)."""

from k8s_objects import T0, at, pod

from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.disruption import (
    decide_eviction,
    expected_scale,
    matching_pdbs,
    pdb_status,
)
from shiplane.cluster.decisions.events import Event


def pdb(
    name="web-pdb",
    min_available=None,
    max_unavailable=None,
    status=None,
    generation=1,
    selector=None,
    **spec,
):
    body = {"selector": {"matchLabels": {"app": "web"}} if selector is None else selector, **spec}
    if min_available is not None:
        body["minAvailable"] = min_available
    if max_unavailable is not None:
        body["maxUnavailable"] = max_unavailable
    return {
        "metadata": {"name": name, "namespace": "default", "generation": generation},
        "spec": body,
        "status": status or {},
    }


def web(name, **kw):
    return pod(name, labels={"app": "web"}, **kw)


def test_min_available_int_counts_selected_pods():
    status, events = pdb_status(
        pdb(min_available=2), [web("a"), web("b"), web("c"), pod("x", labels={"app": "db"})], T0
    )
    assert {
        k: status[k]
        for k in ("currentHealthy", "desiredHealthy", "expectedPods", "disruptionsAllowed")
    } == {"currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3, "disruptionsAllowed": 1}
    assert status["conditions"][0] | {"lastTransitionTime": None} == {
        "type": "DisruptionAllowed",
        "status": "True",
        "reason": "SufficientPods",
        "message": "",
        "observedGeneration": 1,
        "lastTransitionTime": None,
    }
    assert events == ()


def test_percentages_and_max_unavailable_use_the_controllers_scale_rounding_up():
    pods = [web("a"), web("b"), web("c")]
    assert pdb_status(pdb(min_available="50%"), pods, T0, scale=3)[0]["desiredHealthy"] == 2
    status = pdb_status(pdb(max_unavailable="25%"), pods, T0, scale=4)[0]
    assert (status["desiredHealthy"], status["expectedPods"], status["disruptionsAllowed"]) == (
        3,
        4,
        0,
    )
    assert status["conditions"][0]["reason"] == "InsufficientPods"
    assert pdb_status(pdb(max_unavailable=1), pods, T0, scale=3)[0]["disruptionsAllowed"] == 1
    assert pdb_status(pdb(max_unavailable=5), pods, T0, scale=3)[0]["desiredHealthy"] == 0


def test_unready_deleting_and_recently_evicted_pods_are_not_healthy():
    p = pdb(
        min_available=1,
        status={"disruptedPods": {"a": format_time(at(0)), "gone": format_time(at(0))}},
    )
    pods = [web("a"), web("b", ready=False), web("c", deleting=True), web("d")]
    status = pdb_status(p, pods, at(60))[0]
    assert status["currentHealthy"] == 1 and status["disruptedPods"] == {"a": format_time(at(0))}
    later = pdb_status(p, pods, at(121))[
        0
    ]  # after DeletionTimeout (2 min) the eviction is forgotten
    assert later["currentHealthy"] == 2 and "disruptedPods" not in later


def test_no_pods():
    status, events = pdb_status(pdb(min_available=0), [], T0)
    assert status["disruptionsAllowed"] == 0 and events == (
        Event("Normal", "NoPods", "No matching pods found"),
    )


def test_expected_scale_counts_each_controller_once_via_the_deployment():
    pods = [web("a", owner="rs1"), web("b", owner="rs1"), web("c", owner="rs2"), web("orphan")]
    rs1 = {"metadata": {"uid": "rs1-uid"}, "spec": {"replicas": 2}}
    rs2 = {"metadata": {"uid": "rs2-uid"}, "spec": {"replicas": 1}}
    deploy = {"metadata": {"uid": "d-uid"}, "spec": {"replicas": 5}}
    controllers = {"rs1-uid": rs1, "rs2-uid": rs2}
    assert expected_scale(pods, controllers) == (3, ["orphan"])
    assert expected_scale(pods, controllers, {"rs1-uid": deploy, "rs2-uid": deploy}) == (
        5,
        ["orphan"],
    )


def budget(allowed, desired=2, healthy=2, observed=1, **extra):
    return pdb(
        min_available=2,
        status={
            "disruptionsAllowed": allowed,
            "desiredHealthy": desired,
            "currentHealthy": healthy,
            "observedGeneration": observed,
            **extra,
        },
    )


def test_eviction_allowed_decrements_and_records_disrupted_pod():
    decision = decide_eviction(web("a"), [budget(1, healthy=3)], at(5))
    assert decision.code == 201 and decision.delete_pod and decision.pdb_name == "web-pdb"
    assert decision.status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "code": 201,
    }
    assert decision.pdb_status["disruptionsAllowed"] == 0
    assert decision.pdb_status["disruptedPods"] == {"a": format_time(at(5))}
    assert decision.pdb_status["conditions"][0]["reason"] == "InsufficientPods"


def test_eviction_blocked_429_with_upstream_body():
    decision = decide_eviction(web("a"), [budget(0, desired=3, healthy=3)], T0)
    assert decision.code == 429 and not decision.delete_pod
    assert decision.status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "code": 429,
        "message": "Cannot evict pod as it would violate the pod's disruption budget.",
        "reason": "TooManyRequests",
        "details": {
            "causes": [
                {
                    "reason": "DisruptionBudget",
                    "message": "The disruption budget web-pdb needs 3 healthy pods and has 3 currently",
                }
            ]
        },
    }


def test_eviction_with_two_pdbs_is_500():
    decision = decide_eviction(web("a"), [budget(1), pdb("second", min_available=1)], T0)
    assert decision.code == 500
    assert (
        decision.status["message"]
        == "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
    )


def test_eviction_without_pdb_or_for_pods_that_can_ignore_it():
    assert decide_eviction(web("a"), [], T0).code == 201
    assert decide_eviction(pod("x", labels={"app": "db"}), [budget(0)], T0).code == 201
    assert decide_eviction(web("p", phase="Pending", ready=False), [budget(0)], T0).delete_pod
    assert decide_eviction(web("s", phase="Succeeded"), [budget(0)], T0).code == 201
    # empty selector matches nothing in the eviction path
    assert matching_pdbs(web("a"), [pdb(selector={})]) == []


def test_unready_pod_eviction_policies():
    unready = web("u", ready=False)
    assert (
        decide_eviction(unready, [budget(0, desired=2, healthy=2)], T0).code == 201
    )  # IfHealthyBudget
    assert decide_eviction(unready, [budget(0, desired=3, healthy=2)], T0).code == 429
    always = budget(0, desired=3, healthy=2)
    always["spec"]["unhealthyPodEvictionPolicy"] = "AlwaysAllow"
    assert decide_eviction(unready, [always], T0).code == 201


def test_stale_pdb_status_asks_to_retry():
    decision = decide_eviction(web("a"), [budget(1, observed=0)], T0)
    assert decision.code == 429
    assert decision.status["details"] == {
        "causes": [
            {
                "reason": "DisruptionBudget",
                "message": "The disruption budget web-pdb is still being processed by the server.",
            }
        ],
        "retryAfterSeconds": 10,
    }
    assert decide_eviction(web("a"), [budget(-1)], T0).code == 403
