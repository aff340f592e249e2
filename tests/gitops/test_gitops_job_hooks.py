"""Argo CD-style hook Jobs on the embedded cluster: a PreSync Job that the Job controller runs
to completion lets the sync go on to the Sync phase; a PreSync Job that reaches its backoffLimit
fails the operation before the Sync phase (gitops operation.py hook health: Job Complete /
Failed; k8s job_controller.go conditions)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane.gitops import GitSources, parse_application
from shiplane.gitops.reconciler import Reconciler
from shiplane.gitops.status import MemoryStatusStore
from shiplane.kube.errors import ApiError
from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image
from shiplane.testing.gitrepo import chart_repo, git

REPO_URL = "https://git.example/org/jobhooks.git"

TEMPLATES = {
    "Chart.yaml": "apiVersion: v2\nname: jobhooks\nversion: 0.1.0\n",
    "values.yaml": "image: IMAGE\nmigrateExit: 0\n",
    "templates/config.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: app-config}
        data: {image: "{{ .Values.image }}"}
        """,
    "templates/migrate.yaml": """
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: migrate
          annotations:
            argocd.argoproj.io/hook: PreSync
            argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
        spec:
          backoffLimit: 0
          template:
            metadata:
              annotations:
                sim.shiplane.dev/exit-after: 10s
                sim.shiplane.dev/exit-code: "{{ .Values.migrateExit }}"
            spec:
              restartPolicy: Never
              containers:
              - {name: migrate, image: "{{ .Values.image }}"}
        """,
}


@pytest.fixture(scope="module")
def registry() -> Iterator[EmbeddedRegistry]:
    with EmbeddedRegistry(MemoryStorage()) as reg:
        push_test_image(reg.host, "web", "1.0")
        yield reg


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=1, time_scale=20) as c:
        yield c


@pytest.fixture
def chart(tmp_path: Path, registry) -> Path:
    return chart_repo(tmp_path / "jobhooks", TEMPLATES,
                      replace={"IMAGE": f"{registry.host}/web:1.0"})


def _app(namespace: str):
    return parse_application({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": f"jobhooks-{namespace}", "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": REPO_URL, "path": ".", "targetRevision": "main"},
                 "destination": {"server": "https://kubernetes.default.svc",
                                 "namespace": namespace},
                 "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}})


def test_pre_sync_job_completes_then_sync_runs_and_a_failing_job_stops_it(cluster, chart):
    ns = "jobhooks"
    with cluster.client() as client:
        seen: list[tuple[bool, dict]] = []

        def watching_sleep(seconds: float) -> None:
            import time
            time.sleep(seconds)
            try:
                job = client.get("batch/v1", "Job", "migrate", ns)
            except ApiError:
                return
            try:
                client.get("v1", "ConfigMap", "app-config", ns)
                config = True
            except ApiError:
                config = False
            seen.append((config, job.get("status") or {}))

        store = MemoryStatusStore()
        reconciler = Reconciler(client, GitSources({REPO_URL: chart}), store,
                                poll_interval=0.1, sleep=watching_sleep, sync_timeout=60)
        app = _app(ns)
        reconciler.sync(app, initiated_by="test")
        op = store.load(app.name)["operationState"]
        assert op["phase"] == "Succeeded", op
        results = op["syncResult"]["resources"]
        assert [(r["syncPhase"], r["kind"], r["name"], r["hookPhase"]) for r in results] == [
            ("PreSync", "Job", "migrate", "Succeeded"),
            ("Sync", "ConfigMap", "app-config", "Succeeded")]
        # the hook Job was really seen running, and the ConfigMap only came after it completed
        assert any(s.get("active") for _, s in seen)
        assert all(s.get("succeeded") == 1 for config, s in seen if config)
        job = client.get("batch/v1", "Job", "migrate", ns)
        assert job["status"]["succeeded"] == 1
        first_uid = job["metadata"]["uid"]

        values = chart / "values.yaml"
        values.write_text(values.read_text().replace("migrateExit: 0", "migrateExit: 1"))
        git(chart, "commit", "-qam", "failing migration")
        reconciler.sync(app, initiated_by="test")
        op = store.load(app.name)["operationState"]
        assert op["phase"] == "Failed", op
        job = client.get("batch/v1", "Job", "migrate", ns)
        assert job["metadata"]["uid"] != first_uid  # BeforeHookCreation re-created it
        failed = [c for c in job["status"]["conditions"] if c["type"] == "Failed"]
        assert failed and failed[0]["reason"] == "BackoffLimitExceeded"
        assert [(r["syncPhase"], r["kind"], r["hookPhase"]) for r in
                op["syncResult"]["resources"]] == [("PreSync", "Job", "Failed")]  # no Sync phase
