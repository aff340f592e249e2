"""One real delivery shared by the dashboard's tests (session scope: it is the slow part).

``delivered`` runs the quickstart's own step functions on the embedded stack
(``shiplane up`` with an accelerated clock): scaffold both repos, base image, the
pipeline to dev (test, build, tag, push, deploy: v1 Ready), then a second Helm
revision of the same image (a pod annotation changed, a real rolling update) so the
release has something to roll back to. For Model 2 the quickstart's platform repo is
reconciled onto a second, controller-less API server (the dev Deployment's status is
written as its controller would, like the gitops tests do), dev is pointed at the
pipeline's tag and a dev -> prod promotion by alice waits for review on a branch.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shiplane.cluster.apiserver import ApiServerRunner
from shiplane.config import Workspace
from shiplane.gitops.clusters import ClusterClients
from shiplane.gitops.gates import pipeline_verdict
from shiplane.gitops.promotion import commit_promotion
from shiplane.gitops.workspace import PlatformWorkspace
from shiplane.kube import KubeClient
from shiplane.pipeline import list_runs
from shiplane.quickstart import STEPS, QuickstartContext
from shiplane.release import deploy
from shiplane.scaffold import set_image
from shiplane.stack import stack_down
from shiplane.web import MemoryActionLog, Users, WorkspaceBackend, build_app
from shiplane.web.auth import hash_token

TOKENS = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789",
          "viewer": "viewer-token-0123456789"}
USERS = Users.parse({"users": {
    "alice": {"token_sha256": hash_token(TOKENS["alice"])},
    "bob": {"token_sha256": hash_token(TOKENS["bob"])},
    "viewer": {"token_sha256": hash_token(TOKENS["viewer"]), "actions": []},
}})
SERVICE = "payment-service"
# the quickstart steps run here: up to the pipeline's deploy to dev (no lint/render report,
# no pushed change: the second revision is a plain deploy, much quicker than a second run)
DELIVERY = ("workdir", "scaffold-service", "scaffold-platform", "stack", "base-image",
            "pipeline-v1")


@dataclass
class Delivered:
    workdir: Path
    state_dir: Path
    platform: Path
    gitops_kubeconfig: Path
    tag: str  # the v1 pipeline's tag, set in dev's platform values
    branch: str  # the pending dev -> prod promotion (author alice)
    runs: list

    def backend(self, actions=None) -> WorkspaceBackend:
        return WorkspaceBackend(self.state_dir, Workspace(), platform_dir=self.platform,
                                gitops_kubeconfig=self.gitops_kubeconfig,
                                actions=actions or MemoryActionLog())

    def propose(self, target: str) -> str:
        return pending_promotion(self.platform, self.gitops_kubeconfig, self.state_dir,
                                 self.tag, target)

    def app(self, **options):
        return build_app(self.backend(), USERS, secret=b"test-secret", **options)


def _mark_available(kubeconfig: Path, namespace: str) -> None:
    with KubeClient.from_kubeconfig(kubeconfig) as client:
        dep = client.get("apps/v1", "Deployment", SERVICE, namespace)
        replicas = dep["spec"].get("replicas", 1)
        client.patch("apps/v1", "Deployment", SERVICE, {"status": {
            "observedGeneration": dep["metadata"]["generation"], "replicas": replicas,
            "updatedReplicas": replicas, "availableReplicas": replicas,
            "readyReplicas": replicas}}, namespace=namespace, subresource="status")


def _reconcile(platform: Path, kubeconfig: Path, app_name: str) -> None:
    workspace = PlatformWorkspace.open(platform)
    with ClusterClients(kubeconfig) as clusters:
        app = workspace.app(app_name)
        workspace.reconciler_for(app, clusters).reconcile(app)


def pending_promotion(platform: Path, kubeconfig: Path, state_dir: Path, tag: str,
                      target: str = "prod") -> str:
    """alice proposes dev -> ``target`` on a branch (gates as `shiplane promote --pr`)."""
    workspace = PlatformWorkspace.open(platform)
    promotion = workspace.plan(SERVICE, "dev", target)
    passed, _ = pipeline_verdict(list_runs(service=SERVICE, limit=50, state_dir=state_dir), tag)
    with KubeClient.from_kubeconfig(kubeconfig) as client:
        gates = workspace.promotion_gates(promotion, author="alice", pipeline_passed=passed,
                                          client=client)
    commit_promotion(workspace.root, promotion, gates, author="alice", on_branch=True)
    return promotion.branch


def _slow_starts(repo: Path) -> None:
    """Containers of the service start 40 cluster seconds (2 s at x20) after creation, so a
    rollout lasts long enough for the browser to see it in progress (sim_behaviour's
    ``start-delay``). Committed, so the pipeline's build is not marked dirty."""
    values = repo / "helm" / "values-dev.yaml"
    values.write_text(values.read_text().rstrip("\n")
                      + '\npodAnnotations:\n  sim.shiplane.dev/start-delay: "40"\n')
    for args in (["add", "helm/values-dev.yaml"], ["commit", "-q", "-m", "slow starts"]):
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e",
                        *args], check=True, capture_output=True)


@pytest.fixture(scope="session")
def tokens() -> dict[str, str]:
    """user -> bearer token of the test users (viewer may do nothing)."""
    return dict(TOKENS)


@pytest.fixture(scope="session")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivered]:
    workdir = tmp_path_factory.mktemp("web") / "qs"
    ctx = QuickstartContext(workdir.absolute(), time_scale=20.0)
    apiserver = ApiServerRunner().start()
    try:
        for step in STEPS:
            if step.name in DELIVERY:
                if step.name == "pipeline-v1":
                    _slow_starts(ctx.service_repo)
                step.run(ctx)
                if step.name == "pipeline-v1":
                    break
        v1 = ctx.runs["v1"]
        deploy(ctx.service_repo, "dev", image_ref=v1.image_reference,
               set_string=["podAnnotations.shiplane-test=second-revision"],
               workspace=Workspace(state_dir=ctx.state_dir))
        gitops_kubeconfig = apiserver.write_kubeconfig(workdir / "gitops-kubeconfig")
        assert ctx.platform_repo is not None
        runs = list_runs(service=SERVICE, state_dir=ctx.state_dir)
        tag = next(t for t in v1.image_tags if t.startswith("sha-"))  # immutable, unique
        set_image(SERVICE, environment="dev", tag=tag, directory=ctx.platform_repo)
        _reconcile(ctx.platform_repo, gitops_kubeconfig, f"{SERVICE}-dev")
        namespace = PlatformWorkspace.open(ctx.platform_repo).app(
            f"{SERVICE}-dev").destination.namespace
        _mark_available(gitops_kubeconfig, namespace)
        _reconcile(ctx.platform_repo, gitops_kubeconfig, f"{SERVICE}-dev")
        branch = pending_promotion(ctx.platform_repo, gitops_kubeconfig, ctx.state_dir, tag)
        yield Delivered(workdir, ctx.state_dir, ctx.platform_repo, gitops_kubeconfig, tag,
                        branch, runs)
    finally:
        stack_down(ctx.state_dir)
        apiserver.stop()
