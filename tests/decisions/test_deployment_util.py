"""Deployment arithmetic (k8s pkg/controller/deployment/util/deployment_util_test.go:
TestResolveFenceposts, TestNewRSNewReplicas, TestDeploymentComplete, TestDeploymentProgressing,
TestDeploymentTimedOut, TestAnnotationUtils; controller_utils_test.go TestComputeHash)."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from k8s_objects import T0, at, deployment, replicaset, template

from shiplane.cluster.decisions import deployment_util as du
from shiplane.cluster.decisions import template_hash as th
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.errors import InvalidIntOrPercent


@pytest.mark.parametrize(
    "surge,unavailable,desired,expected",
    [
        ("0%", "0%", 0, (0, 1)),
        ("39%", "39%", 10, (4, 3)),
        ("25%", "25%", 4, (1, 1)),
        ("25%", "25%", 1, (1, 0)),
        (0, 0, 5, (0, 1)),
        (2, 0, 5, (2, 0)),
        ("100%", "0%", 3, (3, 0)),
        (None, None, 3, (0, 1)),
    ],
)
def test_resolve_fenceposts(surge, unavailable, desired, expected):
    assert du.resolve_fenceposts(surge, unavailable, desired) == expected


@pytest.mark.parametrize("surge,unavailable", [("oops", "1%"), ("55%", "urg"), ("5", "1")])
def test_resolve_fenceposts_rejects_bad_values(surge, unavailable):
    with pytest.raises(InvalidIntOrPercent):
        du.resolve_fenceposts(surge, unavailable, 7)


def test_max_unavailable_is_capped_and_zero_for_recreate_or_no_replicas():
    assert du.max_unavailable(deployment(replicas=2, unavailable=5, surge=0)) == 2
    assert du.max_unavailable(deployment(replicas=0, unavailable=5)) == 0
    assert du.max_unavailable(deployment(strategy="Recreate")) == 0
    assert du.max_surge(deployment(strategy="Recreate")) == 0
    # defaults when the strategy has no rollingUpdate block: 25% / 25%
    d = deployment(replicas=8)
    del d["spec"]["strategy"]["rollingUpdate"]
    assert (du.max_surge(d), du.max_unavailable(d)) == (2, 2)


@given(st.integers(0, 200), st.integers(0, 100), st.integers(0, 100))
def test_fenceposts_properties(desired, surge_pct, unavail_pct):
    surge, unavailable = du.resolve_fenceposts(f"{surge_pct}%", f"{unavail_pct}%", desired)
    assert surge >= surge_pct * desired / 100 > surge - 1  # rounded up
    assert unavailable == max(
        unavail_pct * desired // 100, 1 if surge == 0 and unavail_pct * desired // 100 == 0 else 0
    )
    assert surge + unavailable > 0


@pytest.mark.parametrize(
    "strategy,dep_replicas,new_rs,surge,expected",
    [
        ("RollingUpdate", 1, 5, 1, 5),  # can not scale up - to newRSReplicas
        ("RollingUpdate", 6, 2, 10, 6),  # scale up - to depReplicas
        ("Recreate", 3, 1, 1, 3),  # recreate - to depReplicas
    ],
)
def test_new_rs_new_replicas(strategy, dep_replicas, new_rs, surge, expected):
    d = deployment(replicas=dep_replicas, surge=surge, unavailable=0, strategy=strategy)
    rs = replicaset("web-new", template("web:1"), new_rs)
    assert du.new_rs_new_replicas(d, [rs], rs) == expected


def test_new_rs_new_replicas_counts_old_pods_against_surge():
    d = deployment(replicas=10, surge=2, unavailable=0)
    old = replicaset("web-old", template("web:0"), 10)
    new = replicaset("web-new", template("web:1"), 0)
    assert du.new_rs_new_replicas(d, [old, new], new) == 2
    old["spec"]["replicas"] = 5
    assert du.new_rs_new_replicas(d, [old, new], new) == 7


def test_fnv32a_known_vectors():
    # FNV-1a 32-bit reference values (draft-eastlake-fnv test vectors)
    assert th.fnv32a(b"") == 0x811C9DC5
    assert th.fnv32a(b"a") == 0xE40C292C
    assert th.fnv32a(b"foobar") == 0xBF9CF968


def test_safe_encode_string_maps_digits_like_rand_safe_encode():
    # '0'..'9' are ord 48..57 -> alphanums[ord % 27]
    assert th.safe_encode_string("0123456789") == "456789bcdf"  # as in real hashes like 7c79c4bf97
    assert set(th.safe_encode_string("4294967295")) <= set(th.SAFE_ALPHABET)


def test_compute_hash_is_stable_and_sensitive_to_template_and_collision_count():
    t = template("web:1")
    h = th.compute_hash(t, None)
    assert h == th.compute_hash(template("web:1"), None)
    assert h != th.compute_hash(template("web:2"), None)
    assert th.compute_hash(t, 1) != th.compute_hash(t, 2) != h
    assert 1 <= len(h) <= 10 and set(h) <= set(th.SAFE_ALPHABET)


def test_equal_ignore_hash():
    a, b = template("web:1"), template("web:1")
    b["metadata"]["labels"]["pod-template-hash"] = "abc"
    assert th.equal_ignore_hash(a, b)
    b["metadata"]["labels"]["tier"] = "x"
    assert not th.equal_ignore_hash(a, b)
    c = template("web:1")
    c["spec"]["volumes"] = []  # nil and empty collections compare equal (Semantic.DeepEqual)
    assert th.equal_ignore_hash(a, c)
    assert not th.equal_ignore_hash(a, template("web:2"))


def test_new_rs_annotations_copy_and_revision():
    d = deployment()
    d["metadata"]["annotations"] = {
        "team": "pay",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        du.REVISION_ANNOTATION: "9",
    }
    rs = {"metadata": {}}
    assert du.set_new_replica_set_annotations(d, rs, 3, exists=False)
    ann = rs["metadata"]["annotations"]
    assert ann == {
        "team": "pay",
        du.REVISION_ANNOTATION: "3",
        du.DESIRED_REPLICAS_ANNOTATION: "3",
        du.MAX_REPLICAS_ANNOTATION: "4",
    }
    assert not du.set_new_replica_set_annotations(d, rs, 3, exists=True)


def test_revision_history_grows_when_an_old_rs_is_reused():
    d = deployment()
    rs = {"metadata": {"annotations": {du.REVISION_ANNOTATION: "1"}}}
    du.set_new_replica_set_annotations(d, rs, 3, exists=True)
    assert rs["metadata"]["annotations"][du.REVISION_HISTORY_ANNOTATION] == "1"
    du.set_new_replica_set_annotations(d, rs, 5, exists=True)
    assert rs["metadata"]["annotations"][du.REVISION_HISTORY_ANNOTATION] == "1,3"
    assert rs["metadata"]["annotations"][du.REVISION_ANNOTATION] == "5"
    # a lower revision never overwrites a higher one
    du.set_new_replica_set_annotations(d, rs, 4, exists=True)
    assert rs["metadata"]["annotations"][du.REVISION_ANNOTATION] == "5"


def test_revision_history_is_trimmed_to_2000_chars():
    d = deployment()
    long_history = ",".join(str(10**5 + i) for i in range(333))  # 1997 chars
    rs = {
        "metadata": {
            "annotations": {
                du.REVISION_ANNOTATION: "999999",
                du.REVISION_HISTORY_ANNOTATION: long_history,
            }
        }
    }
    du.set_new_replica_set_annotations(d, rs, 1000000, exists=True)
    history = rs["metadata"]["annotations"][du.REVISION_HISTORY_ANNOTATION]
    assert (
        len(history) <= 2000 and history.endswith(",999999") and not history.startswith("100000,")
    )


def test_set_condition_keeps_transition_time_for_same_status():
    status = {}
    du.set_condition(
        status, du.new_condition("Progressing", "True", "NewReplicaSetCreated", "m", T0)
    )
    du.set_condition(
        status, du.new_condition("Progressing", "True", "ReplicaSetUpdated", "m2", at(10))
    )
    cond = du.get_condition(status, "Progressing")
    assert cond["reason"] == "ReplicaSetUpdated"
    assert cond["lastTransitionTime"] == format_time(T0) and cond["lastUpdateTime"] == format_time(
        at(10)
    )
    du.set_condition(
        status, du.new_condition("Progressing", "True", "ReplicaSetUpdated", "m3", at(20))
    )
    assert du.get_condition(status, "Progressing")["message"] == "m2"  # same status+reason: no-op


def test_deployment_complete_and_progressing():
    d = deployment(replicas=3, generation=2)
    done = {"updatedReplicas": 3, "replicas": 3, "availableReplicas": 3, "observedGeneration": 2}
    assert du.deployment_complete(d, done)
    assert not du.deployment_complete(d, {**done, "observedGeneration": 1})
    assert not du.deployment_complete(d, {**done, "replicas": 4})
    d["status"] = {"replicas": 4, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3}
    assert du.deployment_progressing(
        d, {"replicas": 4, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3}
    )
    assert du.deployment_progressing(
        d, {"replicas": 3, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3}
    )
    assert not du.deployment_progressing(d, dict(d["status"]))


def test_deployment_timed_out_uses_last_update_time_strictly():
    d = deployment(progressDeadlineSeconds=600)
    status = {"conditions": [du.new_condition("Progressing", "True", "ReplicaSetUpdated", "m", T0)]}
    assert not du.deployment_timed_out(d, status, at(600))
    assert du.deployment_timed_out(d, status, at(600) + timedelta(microseconds=1))
    status["conditions"][0]["reason"] = "NewReplicaSetAvailable"
    assert not du.deployment_timed_out(d, status, at(10_000))
    assert not du.deployment_timed_out(
        deployment(progressDeadlineSeconds=2**31 - 1), {"conditions": []}, at(10**6)
    )


def test_new_replicaset_object():
    d = deployment(name="api", replicas=2, minReadySeconds=5)
    rs = th.new_replicaset(d, None)
    h = th.compute_hash(d["spec"]["template"], None)
    assert rs["metadata"]["name"] == f"api-{h}" and rs["spec"]["replicas"] == 0
    assert rs["spec"]["minReadySeconds"] == 5
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "api", "pod-template-hash": h}
    assert d["spec"]["template"]["metadata"]["labels"] == {"app": "api"}  # input untouched
