"""Ending an operation from outside: ``status.operationState.phase: Terminating`` (argo-cd
``server/application/application.go`` ``TerminateOperation``, ``argocd app terminate-op``)
makes the process running it — or the controller resuming it — delete the running hooks
and fail it "Operation terminated" (gitops-engine ``pkg/sync/sync_context.go``
``Terminate``), without SyncFail hooks or a history entry. On the bare embedded API
server no Job controller runs, so a PreSync hook Job never completes by itself."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from shiplane.gitops import GitOpsError, GitSources, OperationInterrupted, parse_application
from shiplane.gitops.reconciler import Reconciler
from shiplane.gitops.status import MemoryStatusStore, terminate
from shiplane.kube import KubeClient
from shiplane.kube.errors import ApiError
from shiplane.testing.gitrepo import chart_repo, wait_until

REPO_URL = "https://git.example/org/terminate.git"
CHART = {
    "Chart.yaml": "apiVersion: v2\nname: terminate\nversion: 0.1.0\n",
    "templates/migrate.yaml": """
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: migrate
          annotations: {argocd.argoproj.io/hook: PreSync}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: migrate, image: example/migrate:1}]
        """,
    "templates/rollback.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: on-failure
          annotations: {argocd.argoproj.io/hook: SyncFail}
        """,
    "templates/config.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: app-config}
        data: {a: b}
        """,
}


@pytest.fixture
def sources(tmp_path: Path) -> GitSources:
    chart_repo(tmp_path / "chart", CHART, message="a hook that never ends")
    return GitSources({REPO_URL: tmp_path / "chart"})


def _app(namespace: str):
    return parse_application({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": namespace, "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": REPO_URL, "path": ".", "targetRevision": "main"},
                 "destination": {"server": "https://kubernetes.default.svc",
                                 "namespace": namespace},
                 "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}})


def _exists(client: KubeClient, kind: str, name: str, namespace: str) -> bool:
    api = "batch/v1" if kind == "Job" else "v1"
    try:
        client.get(api, kind, name, namespace)
    except ApiError as error:
        if error.code == 404:
            return False
        raise
    return True


def _assert_terminated(store: MemoryStatusStore, client: KubeClient, app) -> None:
    status = store.load(app.name)
    op = status["operationState"]
    assert (op["phase"], op["message"]) == ("Failed", "Operation terminated"), op
    assert op["finishedAt"]
    assert [(r["name"], r["hookPhase"], r["message"]) for r in
            op["syncResult"]["resources"]] == [("migrate", "Succeeded", "Deleted")]
    ns = app.destination.namespace
    assert not _exists(client, "Job", "migrate", ns)  # the running hook was deleted
    assert not _exists(client, "ConfigMap", "app-config", ns)  # the Sync phase never ran
    assert not _exists(client, "ConfigMap", "on-failure", ns)  # no SyncFail hooks
    assert not status.get("history")


def test_terminating_a_running_operation_deletes_its_hook_and_fails_it(kube_apiserver,
                                                                        sources):
    app, store = _app("terminate-a"), MemoryStatusStore()
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        reconciler = Reconciler(client, sources, store, poll_interval=0.05,
                                sync_wave_delay=0.0, sync_timeout=600)
        worker = threading.Thread(target=reconciler.sync, args=(app,),
                                  kwargs={"initiated_by": "alice"}, daemon=True)
        worker.start()
        wait_until(lambda: (store.load(app.name).get("operationState") or {}).get("syncResult",
                                                                             {}).get("resources"),
              120, "the PreSync Job applied, the operation waiting for it")
        assert terminate(store, app.name)["phase"] == "Terminating"
        worker.join(timeout=120)
        assert not worker.is_alive()
        _assert_terminated(store, client, app)
        with pytest.raises(GitOpsError, match="No operation is in progress"):
            terminate(store, app.name)


def test_an_operation_left_terminating_is_ended_by_the_next_reconciler(kube_apiserver,
                                                                       sources):
    app, store = _app("terminate-b"), MemoryStatusStore()
    stopping: list[bool] = []
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        first = Reconciler(client, sources, store, poll_interval=0.05, sync_wave_delay=0.0,
                           interrupted=lambda: bool(stopping),
                           sleep=lambda s: stopping.append(True))  # stop at the first wait
        with pytest.raises(OperationInterrupted):
            first.sync(app, initiated_by="alice")
        assert store.load(app.name)["operationState"]["phase"] == "Running"
        terminate(store, app.name)  # nobody runs it now: it stays Terminating ...
        assert store.load(app.name)["operationState"]["phase"] == "Terminating"
        second = Reconciler(client, sources, store, poll_interval=0.05, sync_wave_delay=0.0)
        second.reconcile(app)  # ... until a controller carries it on: it ends it
        _assert_terminated(store, client, app)
