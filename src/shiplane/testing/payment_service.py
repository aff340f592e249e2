"""The scaffolded payment-service for zero-downtime checks (tests and
``bench/zero_downtime.py``): v1 and v2 images built by shiplane's builder from
``shiplane init service`` output and pushed to a registry (v2 is the quickstart's code change:
``/healthz`` adds ``"version": "v2"``), and its Deployment + Service manifests for the process
runtime: RollingUpdate maxSurge 1 / maxUnavailable 0, readiness on ``/readyz`` every second,
the resources the scaffolded chart renders with ``values-dev.yaml`` (requests 100m CPU / 128Mi,
limits 1 CPU / 1Gi: the process runtime turns them into cgroup shares, CFS quota and a memory
limit as the kubelet does), and a 1 s ``preStop`` sleep — upstream's advice for zero-downtime rollouts, since the kubelet's
SIGTERM and the endpoint removal race (see ``shiplane.cluster.network.service_proxy``)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shiplane.build import Builder, create_base_images
from shiplane.build.tagged_build import BuildRequest, build_and_tag
from shiplane.quickstart.delivery import VERSION_CHANGE
from shiplane.scaffold import init_service

__all__ = ["PaymentImages", "build_payment_images", "payment_manifests", "response_version"]


@dataclass(frozen=True)
class PaymentImages:
    v1: str  # repository:tag@digest
    v2: str


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)


def build_payment_images(work: Path, registry_host: str) -> PaymentImages:
    state = work / "state"
    create_base_images(Builder.at(state), names=("python",))
    init_service("payment-service", directory=work)
    repo = work / "payment-service"
    repository = f"{registry_host}/payment-service"
    v1 = build_and_tag(BuildRequest(path=repo, state_dir=state, repository=repository,
                                    tags=("v1",), push=True))
    for name, before, after in VERSION_CHANGE:
        path = repo / name
        text = path.read_text()
        assert before in text, f"{name} no longer holds {before!r}"
        path.write_text(text.replace(before, after))
    _git(repo, "commit", "-qam", "v2: /healthz reports its version")
    v2 = build_and_tag(BuildRequest(path=repo, state_dir=state, repository=repository,
                                    tags=("v2",), push=True))
    return PaymentImages(f"{repository}:v1@{v1.digest}", f"{repository}:v2@{v2.digest}")


def payment_manifests(image: str, replicas: int = 3, *, name: str = "payment-service",
                      service_port: int = 80) -> list[dict]:
    labels = {"app": name}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "terminationGracePeriodSeconds": 10,
                "containers": [{
                    "name": "app", "image": image,
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "env": [{"name": "PORT", "value": "8080"},
                            {"name": "SERVICE_NAME", "value": name}],
                    # helm/values.yaml limits + values-dev.yaml requests, merged as Helm does
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                  "limits": {"cpu": "1", "memory": "1Gi"}},
                    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"},
                                       "periodSeconds": 1, "failureThreshold": 1},
                    "lifecycle": {"preStop": {"sleep": {"seconds": 1}}},
                }]}},
        },
    }
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
               "spec": {"selector": labels,
                        "ports": [{"name": "http", "port": service_port, "targetPort": "http"}]}}
    return [deployment, service]


def response_version(body: bytes) -> str | None:
    """``"v1"`` / ``"v2"`` from a ``/healthz`` answer of either image; None for anything else."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("status") != "ok":
        return None
    return payload.get("version", "v1") if payload.get("version", "v1") in ("v1", "v2") else None
