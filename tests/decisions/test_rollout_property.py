"""Property: a whole rolling update driven by plan_deployment + plan_replicaset over an idealised
pod model keeps availability >= replicas - maxUnavailable and pods <= replicas + maxSurge at every
observed state, and converges (k8s test/e2e/apps/deployment.go testRollingUpdateDeployment checks
the same bounds on a real cluster)."""

from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shiplane.cluster.decisions import deployment_util as du
from shiplane.cluster.decisions.clock import format_time
from shiplane.cluster.decisions.pods import is_pod_available
from shiplane.cluster.decisions.replicaset import (
    calculate_replicaset_status,
    plan_replicaset,
    pod_from_template,
)
from shiplane.cluster.decisions.rollout import (
    CreateReplicaSet,
    DeleteReplicaSet,
    UpdateDeployment,
    UpdateReplicaSet,
    plan_deployment,
)
from shiplane.cluster.decisions.rollout_client import rollout_status

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Cluster:
    """ReplicaSets and pods; pods become Ready at a random time after creation."""

    def __init__(self, deployment: dict, seed: int, max_ready_delay: int):
        self.d = deployment
        self.rss: dict[str, dict] = {}
        self.pods: list[dict] = []
        self.now = T0
        self.rng = random.Random(seed)
        self.max_delay = max_ready_delay
        self.counter = 0

    def pods_of(self, rs_name: str) -> list[dict]:
        return [p for p in self.pods if p["metadata"]["ownerReferences"][0]["name"] == rs_name]

    def deployment_step(self) -> None:
        plan = plan_deployment(self.d, list(self.rss.values()), self.pods, self.now)
        for action in plan.actions:
            if isinstance(action, CreateReplicaSet):
                rs = copy.deepcopy(action.replicaset)
                rs["metadata"].update(
                    uid=rs["metadata"]["name"],
                    generation=1,
                    creationTimestamp=format_time(self.now),
                )
                self.rss[rs["metadata"]["name"]] = rs
            elif isinstance(action, UpdateReplicaSet):
                rs = copy.deepcopy(action.replicaset)
                old = self.rss[rs["metadata"]["name"]]
                if rs["spec"] != old["spec"]:
                    rs["metadata"]["generation"] = old["metadata"]["generation"] + 1
                self.rss[rs["metadata"]["name"]] = rs
            elif isinstance(action, DeleteReplicaSet):
                del self.rss[action.name]
                self.pods = [
                    p
                    for p in self.pods
                    if p["metadata"]["ownerReferences"][0]["name"] != action.name
                ]
            elif isinstance(action, UpdateDeployment):
                self.d["metadata"]["annotations"] = action.annotations
                self.d["status"] = action.status

    def replicaset_step(self) -> None:
        for rs in self.rss.values():
            plan = plan_replicaset(rs, self.pods_of(rs["metadata"]["name"]), self.now)
            for _ in range(plan.create):
                pod = pod_from_template(rs)
                self.counter += 1
                pod["metadata"]["name"] = f"{rs['metadata']['name']}-{self.counter}"
                pod["metadata"]["uid"] = pod["metadata"]["name"]
                pod["metadata"]["creationTimestamp"] = format_time(self.now)
                pod["spec"]["nodeName"] = "node-1"
                pod["status"] = {"phase": "Running", "conditions": []}
                pod["_ready_at"] = self.now + timedelta(seconds=self.rng.randint(0, self.max_delay))
                self.pods.append(pod)
            gone = set(plan.delete)
            self.pods = [p for p in self.pods if p["metadata"]["name"] not in gone]

    def kubelet_and_status_step(self, only: str | None = None) -> None:
        """Pods become Ready; ReplicaSet statuses are recomputed (only ``only``'s if given:
        the ReplicaSet controller syncs each ReplicaSet on its own)."""
        for pod in self.pods:
            if not pod["status"]["conditions"] and pod["_ready_at"] <= self.now:
                pod["status"]["conditions"] = [
                    {"type": "Ready", "status": "True", "lastTransitionTime": format_time(self.now)}
                ]
        for rs in self.rss.values():
            if only is not None and rs["metadata"]["name"] != only:
                continue
            rs["status"] = calculate_replicaset_status(
                rs, self.pods_of(rs["metadata"]["name"]), self.now
            )

    def available(self) -> int:
        min_ready = int(self.d["spec"].get("minReadySeconds") or 0)
        return sum(is_pod_available(p, min_ready, self.now) for p in self.pods)


def make_deployment(replicas: int, surge, unavailable, min_ready: int, image: str) -> dict:
    return {
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "d-uid",
            "generation": 1,
            "annotations": {},
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": min_ready,
            "progressDeadlineSeconds": 600,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
        "status": {},
    }


def run_until_stable(cluster: Cluster, steps: int, check=None) -> bool:
    for _ in range(steps):
        cluster.deployment_step()
        cluster.replicaset_step()
        if check:
            check(cluster)
        cluster.now += timedelta(seconds=1)
        cluster.kubelet_and_status_step()
        if check:
            check(cluster)
        if complete(cluster):
            return True
    return False


def complete(cluster: Cluster) -> bool:
    d = cluster.d
    want = d["spec"]["replicas"]
    status = d.get("status") or {}
    new_name = None
    for rs in cluster.rss.values():
        if du.equal_ignore_hash(rs["spec"]["template"], d["spec"]["template"]):
            new_name = rs["metadata"]["name"]
    olds_zero = all(
        rs["spec"]["replicas"] == 0 and not cluster.pods_of(rs["metadata"]["name"])
        for rs in cluster.rss.values()
        if rs["metadata"]["name"] != new_name
    )
    return (
        du.deployment_complete(d, status)
        and status.get("updatedReplicas") == want
        and olds_zero
        and du.get_condition(status, "Progressing")["reason"] == "NewReplicaSetAvailable"
    )


percent = st.integers(0, 100).map(lambda n: f"{n}%")
int_or_percent = st.one_of(st.integers(0, 5), percent)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    replicas=st.integers(1, 10),
    surge=int_or_percent,
    unavailable=int_or_percent,
    min_ready=st.integers(0, 3),
    max_delay=st.integers(0, 4),
    seed=st.integers(0, 2**16),
)
def test_rolling_update_keeps_bounds_and_converges(
    replicas, surge, unavailable, min_ready, max_delay, seed
):
    d = make_deployment(replicas, surge, unavailable, min_ready, "web:1")
    cluster = Cluster(d, seed, max_delay)
    assert run_until_stable(cluster, 200), "initial rollout did not converge"
    max_surge = du.max_surge(d)
    max_unavailable = du.max_unavailable(d)

    def check(c: Cluster) -> None:
        assert len(c.pods) <= replicas + max_surge, (len(c.pods), replicas, max_surge)
        assert c.available() >= replicas - max_unavailable, (
            c.available(),
            replicas,
            max_unavailable,
        )

    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    d["metadata"]["generation"] += 1
    assert run_until_stable(cluster, 400, check), "rolling update did not converge"
    assert d["metadata"]["annotations"][du.REVISION_ANNOTATION] == "2"
    assert len(cluster.rss) == 2
    assert rollout_status(d).message == 'deployment "web" successfully rolled out'
    images = {p["spec"]["containers"][0]["image"] for p in cluster.pods}
    assert images == {"web:2"}


@settings(max_examples=40, deadline=None)
@given(
    replicas=st.integers(1, 8),
    surge=st.integers(0, 3),
    unavailable=st.integers(0, 3),
    switch_after=st.integers(0, 6),
    seed=st.integers(0, 2**16),
)
def test_rollover_mid_rollout_converges_to_latest_template(
    replicas, surge, unavailable, switch_after, seed
):
    d = make_deployment(replicas, surge, unavailable, 0, "web:1")
    cluster = Cluster(d, seed, 3)
    assert run_until_stable(cluster, 200)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    d["metadata"]["generation"] += 1
    run_until_stable(cluster, switch_after)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:3"
    d["metadata"]["generation"] += 1
    assert run_until_stable(cluster, 400, lambda c: None)
    assert {p["spec"]["containers"][0]["image"] for p in cluster.pods} == {"web:3"}
    # a template the controller never saw gets no revision of its own
    assert d["metadata"]["annotations"][du.REVISION_ANNOTATION] == ("3" if switch_after else "2")


@settings(max_examples=30, deadline=None)
@given(replicas=st.integers(0, 8), new_replicas=st.integers(0, 12), seed=st.integers(0, 2**16))
def test_scaling_in_the_middle_of_a_rollout_converges(replicas, new_replicas, seed):
    d = make_deployment(replicas, "25%", "25%", 0, "web:1")
    cluster = Cluster(d, seed, 2)
    assert run_until_stable(cluster, 200)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    d["metadata"]["generation"] += 1
    run_until_stable(cluster, 2)
    d["spec"]["replicas"] = new_replicas
    d["metadata"]["generation"] += 1
    assert run_until_stable(cluster, 400)
    assert len(cluster.pods) == new_replicas


@settings(max_examples=30, deadline=None)
@given(replicas=st.integers(1, 8), max_delay=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_recreate_never_runs_old_and_new_pods_together(replicas, max_delay, seed):
    d = make_deployment(replicas, 1, 0, 0, "web:1")
    d["spec"]["strategy"] = {"type": "Recreate"}
    cluster = Cluster(d, seed, max_delay)
    assert run_until_stable(cluster, 200)

    def check(c: Cluster) -> None:
        images = {p["spec"]["containers"][0]["image"] for p in c.pods}
        assert len(images) <= 1, images

    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    d["metadata"]["generation"] += 1
    assert run_until_stable(cluster, 400, check)
    assert {p["spec"]["containers"][0]["image"] for p in cluster.pods} == {"web:2"}



@settings(max_examples=40, deadline=None)
@given(
    replicas=st.integers(2, 8),
    surge=int_or_percent,
    unavailable=int_or_percent,
    max_delay=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_old_replicasets_never_grow_when_status_lags(replicas, surge, unavailable, max_delay,
                                                     seed):
    """The controllers run interleaved in any order, so the Deployment controller often plans
    on ReplicaSet statuses from before its own last scale-down (availableReplicas above
    spec.replicas). No write it plans may then grow an old ReplicaSet or push the sizes past
    replicas + maxSurge (rolling.go cleanupUnhealthyReplicas refuses such a "scale down")."""
    d = make_deployment(replicas, surge, unavailable, 0, "web:1")
    cluster = Cluster(d, seed, max_delay)
    assert run_until_stable(cluster, 200)
    bound = replicas + du.max_surge(d)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    d["metadata"]["generation"] += 1
    rng = random.Random(seed)
    for _ in range(300):
        step = rng.randrange(3)
        if step == 0:
            plan = plan_deployment(d, list(cluster.rss.values()), cluster.pods, cluster.now)
            sizes = {n: rs["spec"]["replicas"] for n, rs in cluster.rss.items()}
            for action in plan.actions:
                if isinstance(action, UpdateReplicaSet):
                    name = action.replicaset["metadata"]["name"]
                    if name != plan.new_replicaset:
                        assert action.replicaset["spec"]["replicas"] <= sizes[name], name
                    sizes[name] = action.replicaset["spec"]["replicas"]
                    assert sum(sizes.values()) <= bound, sizes
            cluster.deployment_step()
        elif step == 1:
            cluster.replicaset_step()
        else:
            cluster.now += timedelta(seconds=1)
            cluster.kubelet_and_status_step(only=rng.choice(list(cluster.rss)))
        if complete(cluster):
            break
    assert run_until_stable(cluster, 400), "rolling update did not converge"
    assert {p["spec"]["containers"][0]["image"] for p in cluster.pods} == {"web:2"}
