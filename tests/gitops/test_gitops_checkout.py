"""The controller keeping its repos checked out itself (``gitops run --platform-url``, no
git-sync sidecar): a mirror of the remote's branches and tags with the tracked branch's tree,
fetched again before a webhook refresh reconciles."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from shiplane.gitops import RepoCheckout, SourceUnavailable
from shiplane.gitops.controller import serve_controller
from shiplane.gitops.workspace import PlatformWorkspace
from shiplane.kube import KubeClient
from shiplane.scaffold import init_platform, init_service, set_image
from shiplane.scaffold.platform import DEFAULT_GIT_BASE
from shiplane.testing.cli import run_cli


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c",
                           "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a").write_text("a\n")
    (repo / "b").write_text("b\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "one")
    git(repo, "tag", "v1")
    git(repo, "branch", "release")
    return repo


def test_sync_mirrors_branches_tags_and_resets_the_tree(upstream, tmp_path):
    checkout = RepoCheckout(str(upstream), tmp_path / "co")
    assert checkout.sync() == git(upstream, "rev-parse", "HEAD")
    co = tmp_path / "co"
    assert git(co, "tag") == "v1" and (co / "b").read_text() == "b\n"
    assert set(git(co, "branch", "--format=%(refname:short)").split()) == {"main", "release"}

    git(upstream, "rm", "-q", "b")
    (upstream / "c").write_text("c\n")
    git(upstream, "add", "c")
    git(upstream, "commit", "-qm", "two")
    git(upstream, "branch", "-D", "release")
    (co / "a").write_text("edited locally\n")  # a mirror: local edits do not survive
    assert checkout.sync() == git(upstream, "rev-parse", "HEAD")
    assert sorted(p.name for p in co.iterdir()) == [".git", "a", "c"]
    assert (co / "a").read_text() == "a\n" and git(co, "status", "--porcelain") == ""
    assert git(co, "branch", "--format=%(refname:short)") == "main"  # deleted upstream


def test_a_branch_to_track_and_the_errors_say_what_is_wrong(upstream, tmp_path):
    released = RepoCheckout(str(upstream), tmp_path / "rel", branch="release")
    assert released.sync() == git(upstream, "rev-parse", "release")
    assert git(tmp_path / "rel", "symbolic-ref", "HEAD") == "refs/heads/release"
    with pytest.raises(SourceUnavailable, match="no branch nope") as missing:
        RepoCheckout(str(upstream), tmp_path / "x", branch="nope").sync()
    assert "main" in missing.value.hint and "release" in missing.value.hint
    with pytest.raises(SourceUnavailable, match="cannot fetch http://127.0.0.1:9/"):
        RepoCheckout("http://127.0.0.1:9/nothing.git", tmp_path / "y").sync()


@pytest.mark.slow
def test_the_controller_fetches_its_checkout_before_a_webhook_refresh(
        kube_apiserver, repos, platform_root, git_server, tmp_path):
    """No git-sync and no shared folder: the controller clones the platform repo from the
    local git server, and a push + webhook is synced from the fetched commit."""
    git(platform_root, "push", "-q", git_server.clone_url("plat"), "HEAD:main")
    checkout = tmp_path / "checkout" / "plat"
    service = {f"{DEFAULT_GIT_BASE}/payment-service.git":
               repos[f"{DEFAULT_GIT_BASE}/payment-service.git"]}
    dev = PlatformWorkspace.open(platform_root, service).apps["payment-service-dev"]
    urls: list[str] = []
    stop = threading.Event()
    worker = threading.Thread(target=serve_controller, args=(
        checkout, kube_apiserver.kubeconfig, None), kwargs=dict(
        interval=3600, webhook="127.0.0.1:0", extra_repos=service, announce=urls.append,
        stop=stop, checkouts=[RepoCheckout(git_server.clone_url("plat"), checkout, "main")]),
        daemon=True)
    worker.start()
    try:
        with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
            def image() -> str:
                try:
                    deployment = client.get("apps/v1", "Deployment", "payment-service",
                                            dev.destination.namespace)
                except Exception:  # noqa: BLE001 - not created yet
                    return ""
                return deployment["spec"]["template"]["spec"]["containers"][0]["image"]

            wait(lambda: image().endswith(":dev"), 60)  # the first pass, from the clone
            set_image("payment-service", environment="dev", tag="5.0.0",
                      directory=platform_root)
            git(platform_root, "push", "-q", git_server.clone_url("plat"), "HEAD:main")
            body = json.dumps({"ref": "refs/heads/main", "before": "0" * 40,
                               "after": git(platform_root, "rev-parse", "HEAD"),
                               "repository": {"name": "plat", "full_name": "org/plat",
                                              "clone_url": git_server.clone_url("plat")}})
            wait(lambda: urls, 30)
            response = httpx.post(urls[0].split()[-1], content=body,
                                  headers={"X-GitHub-Event": "push"}, timeout=30)
            assert "payment-service-dev" in response.json()["refreshed"], response.text
            wait(lambda: image().endswith(":5.0.0"), 30)
            assert git(checkout, "rev-parse", "HEAD") == git(platform_root, "rev-parse", "HEAD")
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive()


@pytest.mark.slow
def test_gitops_run_platform_url_clones_then_syncs(kube_apiserver, tmp_path):
    """``shiplane gitops run --platform-url URL --dir DIR --repo URL=PATH``: what the chart
    runs without git-sync. The repos' URLs (file:// here) are the Applications' repoURLs."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    base = f"file://{upstream}"
    init_platform("plat", environments=["dev"], services=["payment-service"],
                  directory=upstream, git_base=base)
    init_service("payment-service", directory=upstream, model=2)
    for name in ("plat", "payment-service"):
        (upstream / f"{name}.git").symlink_to(upstream / name)
    checkout = tmp_path / "repos"
    result = run_cli(["gitops", "run", "--passes", "1", "--platform-url", f"{base}/plat.git",
                      "--branch", "main", "--dir", str(checkout / "plat"),
                      "--repo", f"{base}/payment-service.git={checkout / 'payment-service'}",
                      "--kubeconfig", str(kube_apiserver.kubeconfig)])
    assert result.exit_code == 0, result.output
    assert "payment-service-dev: Synced" in result.stdout
    for name in ("plat", "payment-service"):
        assert git(checkout / name, "rev-parse", "HEAD") == git(upstream / name, "rev-parse",
                                                                 "HEAD")
    bad = run_cli(["gitops", "run", "--passes", "1", "--platform-url", f"{base}/plat.git"])
    assert bad.exit_code == 2 and "--platform-url needs --dir" in bad.output


def wait(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")
