"""``gitops run`` with its webhook listener on a real socket: a push to the local git server
plus a GitHub push webhook → the affected Application is Synced within seconds, without
waiting for the next poll."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import httpx
import pytest

from shiplane.gitops.controller import parse_listen, serve_controller
from shiplane.gitops.errors import GitOpsError
from shiplane.gitops.workspace import PlatformWorkspace
from shiplane.kube import KubeClient
from shiplane.pipeline.webhook import sign_body
from shiplane.scaffold import set_image
from shiplane.scaffold.platform import DEFAULT_GIT_BASE

pytestmark = pytest.mark.slow


def _image(client: KubeClient, namespace: str) -> str | None:
    try:
        dep = client.get("apps/v1", "Deployment", "payment-service", namespace)
    except Exception:  # noqa: BLE001 - not created yet
        return None
    return dep["spec"]["template"]["spec"]["containers"][0]["image"]


def _wait(predicate, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


def test_push_then_webhook_syncs_within_seconds(kube_apiserver, platform_root, git_server):
    subprocess.run(["git", "-C", str(platform_root), "push", "-q",
                    git_server.clone_url("plat"), "HEAD:main"], check=True, capture_output=True)
    bare = git_server.repositories.path("plat")
    dev = PlatformWorkspace.open(platform_root).apps["payment-service-dev"]
    urls: list[str] = []
    stop = threading.Event()
    worker = threading.Thread(target=serve_controller, args=(
        platform_root, kube_apiserver.kubeconfig, None), kwargs=dict(
        interval=3600, webhook="127.0.0.1:0", webhook_secret="s3cret",
        extra_repos={f"{DEFAULT_GIT_BASE}/plat.git": bare}, announce=urls.append, stop=stop),
        daemon=True)
    worker.start()
    try:
        with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
            ns = dev.destination.namespace
            _wait(lambda: (_image(client, ns) or "").endswith(":dev"), 60)  # first pass
            set_image("payment-service", environment="dev", tag="4.0.0",
                      directory=platform_root)
            subprocess.run(["git", "-C", str(platform_root), "push", "-q",
                            git_server.clone_url("plat"), "HEAD:main"], check=True,
                           capture_output=True)
            head = subprocess.run(["git", "-C", str(platform_root), "rev-parse", "HEAD"],
                                  check=True, capture_output=True, text=True).stdout.strip()
            assert _image(client, ns).endswith(":dev")  # no poll for an hour
            body = json.dumps({"ref": "refs/heads/main", "before": "0" * 40, "after": head,
                               "repository": {"name": "plat", "full_name": "org/plat",
                                              "clone_url": git_server.clone_url("plat")}}
                              ).encode()
            url = urls[0].split()[-1]
            start = time.monotonic()
            response = httpx.post(url, content=body, headers={
                "X-GitHub-Event": "push",
                "X-Hub-Signature-256": "sha256=" + sign_body("s3cret", body)})
            assert response.status_code == 200, response.text
            assert "payment-service-dev" in response.json()["refreshed"]
            _wait(lambda: (_image(client, ns) or "").endswith(":4.0.0"), 5)

            def synced_at_head() -> bool:
                sync = client.get("argoproj.io/v1alpha1", "Application", dev.name,
                                  "argocd")["status"]["sync"]
                return sync["status"] == "Synced" and head in sync["revisions"]

            _wait(synced_at_head, 5)
            print(f"webhook -> Synced: {(time.monotonic() - start) * 1000:.0f} ms")

            bad = httpx.post(url, content=body, headers={"X-GitHub-Event": "push"})
            assert bad.status_code == 401  # unsigned payloads are refused
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()


def test_parse_listen():
    assert parse_listen("0.0.0.0:8090") == ("0.0.0.0", 8090)
    assert parse_listen("8090") == ("127.0.0.1", 8090)
    with pytest.raises(GitOpsError, match="expected HOST:PORT"):
        parse_listen("localhost:http")
    with pytest.raises(GitOpsError, match="out of range"):
        parse_listen("70000")


def test_a_broken_platform_repo_keeps_the_last_good_applications(kube_apiserver,
                                                                 platform_root):
    from shiplane.gitops.clusters import ClusterClients
    from shiplane.gitops.controller import GitOpsController

    with ClusterClients(kube_apiserver.kubeconfig) as clusters:
        controller = GitOpsController(platform_root, clusters, interval=0.05, workers=1)
        before = sorted(controller.workspace.apps)
        (platform_root / "argocd-apps" / "broken.yaml").write_text(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\n")
        controller.full_pass()  # logs, keeps the previous Applications, does not raise
        assert sorted(controller.workspace.apps) == before and controller.passes == 1
