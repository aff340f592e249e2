"""A sync that waits for health survives a controller restart, as Argo CD's does
(argo-cd ``controller/appcontroller.go`` ``processRequestedAppOperation``: "Resuming
in-progress operation"; gitops-engine ``pkg/sync/sync_context.go`` ``WithInitialState``):
the first controller applies wave 0 and is stopped while the slow Deployment is not yet
Healthy; a new controller instance resumes the operation from the Application's
``status.operationState`` — wave 0 is not applied again, wave 1 only once wave 0 is
Healthy — and ends it Succeeded with one history entry."""

from __future__ import annotations

import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane.gitops.clusters import ClusterClients
from shiplane.gitops.controller import GitOpsController
from shiplane.kube import KubeClient
from shiplane.kube.errors import ApiError
from shiplane.registry import EmbeddedRegistry, MemoryStorage
from shiplane.scaffold import init_platform
from shiplane.testing.cluster import EmbeddedCluster
from shiplane.testing.images import push_test_image

pytestmark = pytest.mark.slow
APP, NS = "waves-dev", "dev"

CHART = {
    "helm/Chart.yaml": "apiVersion: v2\nname: waves\nversion: 0.1.0\n",
    "helm/values.yaml": "webImage: IMAGE\n",
    "helm/values-dev.yaml": "{}\n",
    # wave 0: Running only 200 cluster seconds after creation (10 s at time scale 20): the
    # first controller is stopped well before; no progress deadline gets in the way
    "helm/templates/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: slow}
        spec:
          replicas: 1
          progressDeadlineSeconds: 36000
          selector: {matchLabels: {app: slow}}
          template:
            metadata:
              labels: {app: slow}
              annotations: {sim.shiplane.dev/start-delay: "200"}
            spec:
              containers:
              - {name: web, image: "{{ .Values.webImage }}"}
        """,
    "helm/templates/late.yaml": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: late
          annotations: {argocd.argoproj.io/sync-wave: "1"}
        data: {after: slow}
        """,
}
POLICY_OFF = "kind: PlatformPolicy\nrules: {}\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e",
                    *args], check=True, capture_output=True)


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
def platform(tmp_path: Path, registry: EmbeddedRegistry) -> Path:
    root = init_platform("plat", environments=["dev"], services=["waves"],
                         directory=tmp_path).path
    (root / "policies.yaml").write_text(POLICY_OFF)
    service = tmp_path / "waves"
    for name, text in CHART.items():
        path = service / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip().replace("IMAGE",
                                                               f"{registry.host}/web:1.0"))
    subprocess.run(["git", "init", "-q", "-b", "main", str(service)], check=True)
    _git(service, "add", ".")
    _git(service, "commit", "-q", "-m", "two waves")
    return root


def _status(client: KubeClient) -> dict:
    try:
        return client.get("argoproj.io/v1alpha1", "Application", APP, "argocd").get(
            "status") or {}
    except ApiError:
        return {}


def _exists(client: KubeClient, api: str, kind: str, name: str) -> bool:
    try:
        client.get(api, kind, name, NS)
    except ApiError as error:
        if error.code == 404:
            return False
        raise
    return True


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_a_sync_waiting_for_health_resumes_in_a_new_controller(cluster, platform):
    with cluster.client() as client:
        def waiting_on_wave_0() -> bool:
            op = _status(client).get("operationState") or {}
            kinds = [r["kind"] for r in (op.get("syncResult") or {}).get("resources") or []]
            return op.get("phase") == "Running" and "Deployment" in kinds

        with ClusterClients(cluster.kubeconfig) as clusters:
            first = GitOpsController(platform, clusters, interval=3600, workers=1,
                                     sync_wave_delay=0.2)
            worker = threading.Thread(target=first.run, daemon=True)
            worker.start()
            _wait(waiting_on_wave_0, 120, "wave 0 applied, operation Running")
            first.stop()  # the controller goes away while the operation waits for health
            worker.join(timeout=60)
            assert not worker.is_alive()
        left = _status(client)["operationState"]
        assert left["phase"] == "Running" and "finishedAt" not in left
        assert [r["kind"] for r in left["syncResult"]["resources"]] == ["Deployment"]
        assert left["syncResult"]["resources"][0]["hookPhase"] == "Running"
        assert not _exists(client, "v1", "ConfigMap", "late")
        assert _status(client).get("history") in (None, [])

        applied: list[tuple[str, bool]] = []
        with ClusterClients(cluster.kubeconfig) as clusters:
            second = GitOpsController(platform, clusters, interval=3600, workers=1,
                                      sync_wave_delay=0.2)
            target = clusters.for_destination(second.workspace.apps[APP].destination)
            apply = target.apply

            def recording_apply(obj, **kwargs):
                status = client.get("apps/v1", "Deployment", "slow", NS).get("status") or {}
                applied.append((obj["kind"], status.get("availableReplicas") == 1))
                return apply(obj, **kwargs)

            target.apply = recording_apply
            second.full_pass()  # resumes: waits for the Deployment, then wave 1
        status = _status(client)
        op = status["operationState"]
        assert op["phase"] == "Succeeded", op
        assert op["startedAt"] == left["startedAt"]  # the same operation, carried on
        assert [(r["kind"], r["name"], r["hookPhase"]) for r in op["syncResult"]["resources"]] \
            == [("Deployment", "slow", "Succeeded"), ("ConfigMap", "late", "Succeeded")]
        # wave 0 was not applied again; wave 1 was applied once the Deployment was available
        assert applied == [("ConfigMap", True)]
        assert len(status["history"]) == 1 and status["sync"]["status"] == "Synced"
        assert status["health"]["status"] == "Healthy"


# -- the same on a bare API server, step by step: the test plays the Deployment controller --
def test_an_interrupted_operation_is_left_running_and_a_new_reconciler_finishes_it(
        kube_apiserver, tmp_path):
    from shiplane.gitops import GitSources, OperationInterrupted, parse_application
    from shiplane.gitops.reconciler import Reconciler
    from shiplane.gitops.status import MemoryStatusStore

    repo_url, ns = "https://git.example/org/resume.git", "resume-a"
    chart = tmp_path / "chart"
    for name, text in CHART.items():
        path = chart / name.removeprefix("helm/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip().replace("IMAGE", "example/web:1"))
    subprocess.run(["git", "init", "-q", "-b", "main", str(chart)], check=True)
    _git(chart, "add", ".")
    _git(chart, "commit", "-q", "-m", "two waves")
    app = parse_application({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "resume-a", "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": repo_url, "path": ".", "targetRevision": "main"},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
                 "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}})
    store = MemoryStatusStore()
    stopping: list[bool] = []
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        first = Reconciler(client, GitSources({repo_url: chart}), store, poll_interval=0.05,
                           sync_wave_delay=0.0, interrupted=lambda: bool(stopping),
                           sleep=lambda s: stopping.append(True))  # stop at the first wait
        with pytest.raises(OperationInterrupted):
            first.sync(app, initiated_by="alice")
        op = store.load(app.name)["operationState"]
        assert (op["phase"], op["operation"]["initiatedBy"]) == ("Running", {"username": "alice"})
        assert [(r["name"], r["hookPhase"]) for r in op["syncResult"]["resources"]] == \
            [("slow", "Running")]
        assert not _exists(client, "v1", "ConfigMap", "late")

        second = Reconciler(client, GitSources({repo_url: chart}), store, poll_interval=0.05,
                            sync_wave_delay=0.0)
        applied: list[str] = []
        apply = client.apply

        def recording_apply(obj, **kwargs):
            applied.append(obj["kind"])
            return apply(obj, **kwargs)

        client.apply = recording_apply
        polls: list[float] = []

        def rollout_done(seconds: float) -> None:  # the Deployment becomes available
            polls.append(seconds)
            live = client.get("apps/v1", "Deployment", "slow", ns)
            client.patch("apps/v1", "Deployment", "slow", {"status": {
                "observedGeneration": live["metadata"]["generation"], "replicas": 1,
                "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}},
                namespace=ns, subresource="status", patch_type="merge")

        second.sleep = rollout_done
        try:
            state = second.reconcile(app)  # no auto-sync policy: this is the resume
        finally:
            del client.apply
        op = store.load(app.name)["operationState"]
        assert op["phase"] == "Succeeded", op
        assert op["operation"]["initiatedBy"] == {"username": "alice"}
        assert applied == ["ConfigMap"] and polls  # waited, then only wave 1 was applied
        assert [(r["name"], r["hookPhase"]) for r in op["syncResult"]["resources"]] == \
            [("slow", "Succeeded"), ("late", "Succeeded")]
        assert len(store.load(app.name)["history"]) == 1
        assert state.comparison.status.value == "Synced"
        second.reconcile(app)  # a completed operation is not resumed again
        assert len(store.load(app.name)["history"]) == 1
