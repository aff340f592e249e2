"""Server-side apply core: median and p99 per apply over a payment-service-like release.

Each release applies the 8 objects a scaffolded chart renders (ServiceAccount, ConfigMap,
Secret, Service, Deployment, HPA, PDB, Ingress): first as a create, then an upgrade with a
changed image and replica count (merge + prune + ownership), by the manager ``helm``.

    PYTHONPATH=src python bench/fieldmanager_apply.py [releases]
"""

from __future__ import annotations

import statistics
import sys
import time

from shiplane.cluster.fieldmanager import apply
from shiplane.cluster.openapi import SchemaCatalog


def release(name: str, image: str, replicas: int) -> list[dict]:
    labels = {"app.kubernetes.io/name": "payment-service", "app.kubernetes.io/instance": name,
              "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "payment-service-0.1.0"}
    selector = {k: labels[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}
    meta = lambda kind: {"name": name, "namespace": "payments", "labels": dict(labels)}  # noqa: E731
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("sa")},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cm"), "data": {"LOG_LEVEL": "info", "PORT": "8080"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("s"), "type": "Opaque", "stringData": {"token": "x"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("svc"), "spec": {
            "type": "ClusterIP", "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("d"), "spec": {
            "replicas": replicas, "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {
                "serviceAccountName": name,
                "containers": [{
                    "name": "payment-service", "image": image, "imagePullPolicy": "IfNotPresent",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "envFrom": [{"configMapRef": {"name": name}}],
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                  "limits": {"memory": "256Mi"}}}]}}}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("hpa"), "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 2, "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 80}}}]}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("pdb"), "spec": {
            "minAvailable": 1, "selector": {"matchLabels": selector}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("ing"), "spec": {
            "rules": [{"host": f"{name}.example.com", "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": name, "port": {"name": "http"}}}}]}}]}},
    ]


def main(releases: int = 100) -> None:
    catalog = SchemaCatalog()
    timings: list[float] = []
    for i in range(releases):
        live: dict[int, dict] = {}
        for step, (image, replicas) in enumerate((("payment:1.0.0", 2), ("payment:1.1.0", 3))):
            for index, obj in enumerate(release(f"rel-{i}", image, replicas)):
                node = catalog.type_for(obj["apiVersion"], obj["kind"])
                start = time.perf_counter()
                result = apply(live.get(index), obj, "helm", False, node)
                timings.append(time.perf_counter() - start)
                assert result.ok, result.message
                live[index] = result.object
    timings.sort()
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(f"applies: {len(timings)} ({releases} releases x 8 objects x create+upgrade)")
    print(f"median per apply: {statistics.median(timings) * 1000:.2f} ms")
    print(f"p99 per apply:    {p99 * 1000:.2f} ms")
    print(f"max per apply:    {timings[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
