"""Builders for Kubernetes-shaped dicts used by the decision-core tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shiplane.cluster.decisions.clock import format_time

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def deployment(
    name="web",
    replicas=3,
    surge="25%",
    unavailable="25%",
    image="web:1",
    strategy="RollingUpdate",
    generation=1,
    status=None,
    **spec_extra,
) -> dict:
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": image}]},
        },
        "strategy": {"type": strategy},
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }
    if strategy == "RollingUpdate":
        spec["strategy"]["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    spec.update(spec_extra)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"{name}-uid",
            "generation": generation,
            "annotations": {},
        },
        "spec": spec,
        "status": status or {},
    }


def replicaset(
    name,
    template,
    replicas,
    available=None,
    actual=None,
    ready=None,
    revision=None,
    created=0,
    desired=None,
    max_replicas=None,
    generation=1,
) -> dict:
    annotations = {}
    if revision is not None:
        annotations["deployment.kubernetes.io/revision"] = str(revision)
    if desired is not None:
        annotations["deployment.kubernetes.io/desired-replicas"] = str(desired)
    if max_replicas is not None:
        annotations["deployment.kubernetes.io/max-replicas"] = str(max_replicas)
    actual = replicas if actual is None else actual
    available = actual if available is None else available
    ready = available if ready is None else ready
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"{name}-uid",
            "generation": generation,
            "creationTimestamp": format_time(at(created)),
            "annotations": annotations,
            "labels": dict(template["metadata"]["labels"]),
        },
        "spec": {
            "replicas": replicas,
            "template": template,
            "minReadySeconds": 0,
            "selector": {"matchLabels": dict(template["metadata"]["labels"])},
        },
        "status": {
            "replicas": actual,
            "availableReplicas": available,
            "readyReplicas": ready,
            "observedGeneration": generation,
        },
    }


def template(image: str, app="web") -> dict:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def pod(
    name,
    labels=None,
    node="",
    phase="Running",
    ready=True,
    ready_since=0.0,
    created=0.0,
    namespace="default",
    ip="10.0.0.1",
    owner=None,
    deleting=False,
    restarts=0,
    **spec,
) -> dict:
    conditions = []
    if ready is not None:
        conditions.append(
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": format_time(at(ready_since)),
            }
        )
    meta = {
        "name": name,
        "namespace": namespace,
        "uid": f"{name}-uid",
        "labels": labels or {},
        "creationTimestamp": format_time(at(created)),
    }
    if owner:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": owner,
                "uid": f"{owner}-uid",
                "controller": True,
            }
        ]
    if deleting:
        meta["deletionTimestamp"] = format_time(at(created + 1))
    body = {"containers": [{"name": "app", "image": "web:1"}]}
    body.update(spec)
    if node:
        body["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": body,
        "status": {
            "phase": phase,
            "conditions": conditions,
            "podIP": ip,
            "containerStatuses": [{"name": "app", "restartCount": restarts}],
        },
    }


def node(
    name,
    cpu="4",
    memory="8Gi",
    pods="110",
    labels=None,
    taints=None,
    unschedulable=False,
    images=None,
) -> dict:
    body = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or []},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}},
    }
    if unschedulable:
        body["spec"]["unschedulable"] = True
    if images:
        body["status"]["images"] = [{"names": [n], "sizeBytes": s} for n, s in images.items()]
    return body
