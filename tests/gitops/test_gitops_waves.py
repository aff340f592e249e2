"""Sync waves, phases and hooks on the embedded cluster (controllers + simulated nodes): a chart
in a real git repo rendered with the Helm SDK; the reconciler waits for each wave to be
Healthy and for hook Pods to complete, runs PostSync only after the Sync waves are Healthy,
applies hook delete policies, and runs SyncFail hooks when a hook fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane.gitops import GitSources, parse_application
from shiplane.gitops.reconciler import Reconciler
from shiplane.gitops.status import MemoryStatusStore
from shiplane.kube import KubeClient
from shiplane.kube.errors import ApiError
from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image
from shiplane.testing.gitrepo import chart_repo, git

pytestmark = pytest.mark.slow
REPO_URL = "https://git.example/org/waves.git"

TEMPLATES = {
    "Chart.yaml": "apiVersion: v2\nname: waves\nversion: 0.1.0\n",
    "values.yaml": "image: IMAGE\nmigrateExit: 0\n",
    "templates/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - {name: web, image: "{{ .Values.image }}"}
        """,
    "templates/late.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: late
          annotations: {argocd.argoproj.io/sync-wave: "1"}
        data: {image: "{{ .Values.image }}"}
        """,
    "templates/migrate.yaml": """
        apiVersion: v1
        kind: Pod
        metadata:
          name: migrate
          annotations:
            argocd.argoproj.io/hook: PreSync
            sim.shiplane.dev/exit-after: 20s
            sim.shiplane.dev/exit-code: "{{ .Values.migrateExit }}"
        spec:
          restartPolicy: Never
          containers:
          - {name: migrate, image: "{{ .Values.image }}"}
        """,
    "templates/smoke.yaml": """
        apiVersion: v1
        kind: Pod
        metadata:
          generateName: smoke-
          annotations:
            argocd.argoproj.io/hook: PostSync
            argocd.argoproj.io/hook-delete-policy: HookSucceeded
            sim.shiplane.dev/exit-after: 10s
            sim.shiplane.dev/exit-code: "0"
        spec:
          restartPolicy: Never
          containers:
          - {name: smoke, image: "{{ .Values.image }}"}
        """,
    "templates/notify.yaml": """
        apiVersion: v1
        kind: Pod
        metadata:
          name: notify
          annotations:
            argocd.argoproj.io/hook: SyncFail
            sim.shiplane.dev/exit-after: 5s
            sim.shiplane.dev/exit-code: "0"
        spec:
          restartPolicy: Never
          containers:
          - {name: notify, image: "{{ .Values.image }}"}
        """,
}


@pytest.fixture(scope="module")
def registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(MemoryStorage()) as reg:
        push_test_image(reg.host, "web", "1.0")
        push_test_image(reg.host, "web", "2.0")
        yield reg


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=2, time_scale=20) as c:
        yield c


@pytest.fixture
def chart(tmp_path: Path, registry) -> Path:
    return chart_repo(tmp_path / "waves", TEMPLATES,
                      replace={"IMAGE": f"{registry.host}/web:1.0"})


def _app(namespace: str):
    return parse_application({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": f"waves-{namespace}", "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": REPO_URL, "path": ".", "targetRevision": "main"},
                 "destination": {"server": "https://kubernetes.default.svc",
                                 "namespace": namespace},
                 "syncPolicy": {"syncOptions": ["CreateNamespace=true",
                                                "PrunePropagationPolicy=background"]}}})


def _get(client: KubeClient, api: str, kind: str, name: str, ns: str):
    try:
        return client.get(api, kind, name, ns)
    except ApiError as error:
        if error.code == 404:
            return None
        raise


def test_waves_wait_for_health_hooks_complete_and_post_sync_runs_last(cluster, chart):
    ns = "waves-a"
    seen: list[tuple[bool, bool, str | None]] = []
    with cluster.client() as client:
        def watching_sleep(seconds: float) -> None:
            import time
            time.sleep(seconds)
            deployment = _get(client, "apps/v1", "Deployment", "web", ns)
            available = bool(deployment) and (deployment.get("status") or {}).get(
                "availableReplicas") == 2
            late = _get(client, "v1", "ConfigMap", "late", ns) is not None
            migrate = _get(client, "v1", "Pod", "migrate", ns)
            seen.append((available, late, deployment and ((migrate or {}).get("status") or {})
                         .get("phase")))

        store = MemoryStatusStore()
        reconciler = Reconciler(client, GitSources({REPO_URL: chart}), store,
                                poll_interval=0.1, sleep=watching_sleep, sync_timeout=60)
        app = _app(ns)
        reconciler.sync(app, initiated_by="test")
        op = store.load(app.name)["operationState"]
        assert op["phase"] == "Succeeded", op
        results = op["syncResult"]["resources"]
        assert [(r["syncPhase"], r["kind"], r["name"][:6], r["hookPhase"]) for r in results] == [
            ("PreSync", "Pod", "migrat", "Succeeded"), ("Sync", "Deployment", "web", "Succeeded"),
            ("Sync", "ConfigMap", "late", "Succeeded"), ("PostSync", "Pod", "smoke-", "Succeeded")]
        # the Deployment was created only after the PreSync hook completed ...
        assert all(phase in (None, "Succeeded") for _, _, phase in seen if phase is not None)
        assert not any(phase == "Running" for *_, phase in seen)
        # ... and wave 1 appeared only once wave 0 was Healthy (the simulated rollout was
        # seen in progress at least once, so the wait was real)
        assert any(not available for available, _, _ in seen)
        assert all(available for available, late, _ in seen if late)
        # PostSync hook deleted on success (HookSucceeded); PreSync kept (BeforeHookCreation)
        smoke = results[3]["name"]
        assert _get(client, "v1", "Pod", smoke, ns) is None or \
            _get(client, "v1", "Pod", smoke, ns)["metadata"].get("deletionTimestamp")
        migrate = client.get("v1", "Pod", "migrate", ns)
        assert migrate["status"]["phase"] == "Succeeded"
        first_uid = migrate["metadata"]["uid"]

        # next commit: a new image and a migration that fails
        values = chart / "values.yaml"
        values.write_text(values.read_text().replace("web:1.0", "web:2.0")
                          .replace("migrateExit: 0", "migrateExit: 1"))
        git(chart, "commit", "-qam", "v2, failing migration")
        reconciler.sleep = lambda s: __import__("time").sleep(s)
        reconciler.sync(app, initiated_by="test")
        op = store.load(app.name)["operationState"]
        assert op["phase"] == "Failed"
        assert op["message"].startswith("one or more synchronization tasks completed "
                                        "unsuccessfully")
        migrate = client.get("v1", "Pod", "migrate", ns)
        assert migrate["metadata"]["uid"] != first_uid  # BeforeHookCreation re-created it
        assert migrate["status"]["phase"] == "Failed"
        image = client.get("apps/v1", "Deployment", "web", ns)["spec"]["template"]["spec"][
            "containers"][0]["image"]
        assert image.endswith("web:1.0")  # the Sync phase never ran: old version serves
        kinds = [(r["syncPhase"], r["name"]) for r in op["syncResult"]["resources"]]
        assert kinds == [("PreSync", "migrate"), ("SyncFail", "notify")]
        notify = client.get("v1", "Pod", "notify", ns)
        assert notify["status"]["phase"] == "Succeeded"  # the SyncFail hook ran to completion
