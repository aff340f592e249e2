"""Per-kind defaulting, validation messages and table printing, as pure functions."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shiplane.cluster.resources import REGISTRY, human_duration, image_pull_policy, table_rows
from shiplane.cluster.store import Invalid

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def rt(plural: str, group: str = ""):
    # the first row is the preferred version (HPAs are also served at autoscaling/v1)
    found, *_ = [t for t in REGISTRY.types if t.plural == plural and t.group == group]
    return found


def deployment(**spec) -> dict:
    base = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]},
        },
    }
    base.update(spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": base,
    }


def message(plural: str, obj: dict, old: dict | None = None, group: str = "apps") -> str:
    kind = rt(plural, group)
    errors = kind.validate(kind.default(obj), old)
    assert errors, "expected validation errors"
    return Invalid(kind.group, kind.kind, obj["metadata"].get("name", ""), errors).message


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:v1", "IfNotPresent"),
        ("app@sha256:abc", "IfNotPresent"),
    ],
)
def test_image_pull_policy_default(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_deployment_defaults_match_upstream() -> None:
    obj = rt("deployments", "apps").default(deployment())
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always" and pod["dnsPolicy"] == "ClusterFirst"
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["schedulerName"] == "default-scheduler"
    container = pod["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert container["terminationMessagePath"] == "/dev/termination-log"


def test_probe_and_port_defaults() -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "x:1",
                    "ports": [{"containerPort": 80}],
                    "readinessProbe": {"httpGet": {"port": 80}},
                }
            ]
        },
    }
    rt("pods").default(pod)
    container = pod["spec"]["containers"][0]
    assert container["ports"][0]["protocol"] == "TCP"
    assert container["readinessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert pod["spec"]["serviceAccountName"] == "default"
    assert {t["key"] for t in pod["spec"]["tolerations"]} == {
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    }


def test_selector_must_match_template_labels() -> None:
    obj = deployment(selector={"matchLabels": {"app": "other"}})
    assert message("deployments", obj) == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"web"}: `selector` does not match template `labels`'
    )


def test_selector_is_immutable() -> None:
    kind = rt("deployments", "apps")
    old = kind.default(deployment())
    new = deployment(selector={"matchLabels": {"app": "web", "x": "y"}})
    new["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    assert message("deployments", new, old).endswith(
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", '
        '"x":"y"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable'
    )


def test_several_errors_are_bracketed() -> None:
    obj = deployment(replicas=-1)
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = ""
    assert message("deployments", obj) == (
        'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater '
        "than or equal to 0, spec.template.spec.containers[0].image: Required value]"
    )


def test_names_follow_dns_rules() -> None:
    obj = deployment()
    obj["metadata"]["name"] = "Web_1"
    assert 'metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain' in message(
        "deployments", obj
    )
    svc = {"metadata": {"name": "1abc"}, "spec": {"ports": [{"port": 80}]}}
    assert "a DNS-1035 label must consist" in message("services", svc, group="")
    nameless = deployment()
    del nameless["metadata"]["name"]
    assert "metadata.name: Required value: name or generateName is required" in message(
        "deployments", nameless
    )


def test_other_kinds_validate() -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {
            "restartPolicy": "Sometimes",
            "containers": [{"name": "c", "image": "x"}, {"name": "c", "image": "y"}],
        },
    }
    text = message("pods", pod, group="")
    assert 'spec.containers[1].name: Duplicate value: "c"' in text
    assert (
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
        '"OnFailure", "Never"'
    ) in text
    job = {
        "metadata": {"name": "j", "uid": "u1"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}},
    }
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Always"' in message(
        "jobs", job, group="batch"
    )
    hpa = {
        "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}},
    }
    assert "spec.maxReplicas: Required value" in message(
        "horizontalpodautoscalers", hpa, group="autoscaling"
    )


def test_service_job_hpa_namespace_defaults() -> None:
    svc = rt("services").default({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["ports"][0] == {
        "port": 80,
        "protocol": "TCP",
        "targetPort": 80,
    }
    job = rt("jobs", "batch").default(
        {
            "metadata": {"name": "j", "uid": "u1"},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}
                }
            },
        }
    )
    assert job["spec"]["completions"] == 1 and job["spec"]["backoffLimit"] == 6
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}
    assert rt("jobs", "batch").validate(job, None) == []
    hpa = rt("horizontalpodautoscalers", "autoscaling").default({"metadata": {"name": "h"}})
    assert hpa["spec"]["minReplicas"] == 1
    assert "behavior" not in hpa["spec"]  # v2 defaults.go: only a given behavior is filled in
    given = rt("horizontalpodautoscalers", "autoscaling").default(
        {"metadata": {"name": "h"}, "spec": {"behavior": {"scaleDown": {"selectPolicy": "Min"}}}})
    assert given["spec"]["behavior"]["scaleUp"]["policies"][0] == {
        "type": "Pods", "value": 4, "periodSeconds": 15}
    assert given["spec"]["behavior"]["scaleDown"] == {
        "selectPolicy": "Min", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    ns = rt("namespaces").default({"metadata": {"name": "team"}})
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (10 * 3600, "10h"),
        (3 * 86400 + 3600, "3d1h"),
        (30 * 86400, "30d"),
        (-5, "<invalid>"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_pod_and_deployment_rows() -> None:
    pod = {
        "metadata": {"name": "p", "creationTimestamp": "2026-01-01T11:59:00Z"},
        "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
        "status": {
            "phase": "Running",
            "podIP": "10.0.0.5",
            "containerStatuses": [
                {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}}},
                {
                    "name": "b",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                },
            ],
        },
    }
    [row] = table_rows(rt("pods").table, [pod], NOW)
    assert row == ["p", "1/2", "CrashLoopBackOff", "2", "60s", "10.0.0.5", "n1", "<none>", "<none>"]
    dep = rt("deployments", "apps").default(deployment(replicas=3))
    dep["metadata"]["creationTimestamp"] = "2026-01-01T11:00:00Z"
    dep["status"] = {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
    [row] = table_rows(rt("deployments", "apps").table, [dep], NOW)
    assert row == ["web", "2/3", 3, 2, "60m", "web", "nginx", "app=web"]


def test_cronjob_and_pvc() -> None:
    cron = {
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [{"name": "c", "image": "x:1"}],
                        }
                    }
                }
            },
        },
    }
    kind = rt("cronjobs", "batch")
    kind.default(cron)
    assert (
        cron["spec"]["concurrencyPolicy"],
        cron["spec"]["successfulJobsHistoryLimit"],
        cron["spec"]["failedJobsHistoryLimit"],
    ) == ("Allow", 3, 1)
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert kind.validate(cron, None) == []
    cron["spec"]["schedule"] = "every day"
    cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    text = message("cronjobs", cron, group="batch")
    assert 'spec.schedule: Invalid value: "every day": Expected exactly 5 fields, found 2' in text
    assert 'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always"' in text
    cron["metadata"]["creationTimestamp"] = "2026-01-01T11:00:00Z"
    [row] = table_rows(kind.table, [cron], NOW)
    assert row[:7] == ["nightly", "every day", "<none>", "False", 0, "<none>", "60m"]
    pvc = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    assert "spec.resources[storage]: Required value" in message(
        "persistentvolumeclaims", pvc, group=""
    )
    pvc["spec"]["resources"] = {"requests": {"storage": "1Gi"}}
    assert rt("persistentvolumeclaims").validate(pvc, None) == []
    assert pvc["spec"]["volumeMode"] == "Filesystem"
