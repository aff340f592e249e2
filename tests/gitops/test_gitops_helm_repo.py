"""``chart:`` sources from Helm repositories, pulled with the Helm SDK: an HTTP repository
(``index.yaml`` written by ``helm repo index``, served on a real socket) and an ``oci://``
repository on the embedded registry (``helm push``); rendered, synced and Synced on the
embedded API server."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from shiplane.charts import index_repository, package_chart, push_chart
from shiplane.gitops import GitSources, SourceUnavailable, SyncStatus, parse_application
from shiplane.gitops.desired import render_application
from shiplane.gitops.reconciler import Reconciler
from shiplane.gitops.status import MemoryStatusStore
from shiplane.kube import KubeClient

pytestmark = pytest.mark.slow


def _chart(root: Path, version: str) -> Path:
    chart = root / f"src-{version}" / "demo"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: demo\nversion: {version}\n")
    (chart / "values.yaml").write_text("greeting: hello\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n"
        f"data:\n  greeting: {{{{ .Values.greeting }}}}\n  version: \"{version}\"\n")
    return chart


@pytest.fixture
def http_repo(tmp_path):
    repo = tmp_path / "repo"
    for version in ("1.0.0", "1.1.0"):
        package_chart(_chart(tmp_path, version), repo)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(repo))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    index_repository(repo, url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()


def _app(name, repo_url, version, namespace, values=None):
    source = {"repoURL": repo_url, "chart": "demo", "targetRevision": version}
    if values:
        source["helm"] = {"valuesObject": values}
    return parse_application({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"project": "default", "source": source,
                 "destination": {"server": "https://kubernetes.default.svc",
                                 "namespace": namespace},
                 "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]}}})


def test_http_repository_exact_version_constraint_and_sync(http_repo, kube_apiserver):
    sources = GitSources({})
    exact = render_application(_app("a", http_repo, "1.0.0", "helm-a", {"greeting": "hi"}),
                               sources)
    assert exact.revisions == ("1.0.0",)
    assert exact.manifests[0]["data"] == {"greeting": "hi", "version": "1.0.0"}
    latest = render_application(_app("a", http_repo, "1.x", "helm-a"), sources)
    assert latest.revisions == ("1.1.0",)  # a constraint resolves to the highest match
    with pytest.raises(SourceUnavailable, match="chart demo 9.9.9 from"):
        render_application(_app("a", http_repo, "9.9.9", "helm-a"), sources)

    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        reconciler = Reconciler(client, sources, MemoryStatusStore())
        state = reconciler.reconcile(_app("helm-http", http_repo, "1.0.0", "helm-a"))
        assert state.comparison.status is SyncStatus.SYNCED
        assert client.get("v1", "ConfigMap", "demo", "helm-a")["data"]["version"] == "1.0.0"
        status = reconciler.store.load("helm-http")
        assert status["sync"]["revisions"] == ["1.0.0"]


def test_oci_repository_on_the_embedded_registry(tmp_path, embedded_registry, kube_apiserver):
    archive = package_chart(_chart(tmp_path, "2.0.0"), tmp_path / "dist")
    remote = f"oci://{embedded_registry.host}/charts"
    push_chart(archive, remote)
    sources = GitSources({})
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        reconciler = Reconciler(client, sources, MemoryStatusStore())
        state = reconciler.reconcile(_app("helm-oci", remote, "2.0.0", "helm-b"))
        assert state.comparison.status is SyncStatus.SYNCED, state.comparison.message
        assert client.get("v1", "ConfigMap", "demo", "helm-b")["data"]["version"] == "2.0.0"
    with pytest.raises(SourceUnavailable, match="chart demo 3.0.0"):
        render_application(_app("b", remote, "3.0.0", "helm-b"), sources)
