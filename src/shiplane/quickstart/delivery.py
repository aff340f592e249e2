"""The quickstart's delivery half: the guide's Model 1 flow on the embedded stack.

Rows of the step table (see ``steps``), in order:

* ``stack``: ``shiplane up`` with its state in ``<workdir>/.shiplane`` (reused when it
  already runs, so a re-run is quick);
* ``base-image``: the offline ``python:3.11-slim`` base image in the builder store;
* ``pipeline-v1``: ``shiplane pipeline run`` on payment-service to dev, then check the
  Deployment runs that run's digest with every replica Ready;
* ``change``: a code change (``/healthz`` reports a version) with its test, committed;
* ``push``: ``git push`` to the stack's git server, which runs the pipeline itself;
* ``rollout-v2``: wait for that push-triggered run and the rolling update to its digest;
* ``history``: the release's revisions (``shiplane history``).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from shiplane.build import Builder, create_base_images
from shiplane.config import Workspace
from shiplane.errors import ShiplaneError
from shiplane.kube import KubeClient
from shiplane.pipeline import RunRecord, RunStatus, log_tail, open_run_store, run_pipeline
from shiplane.quickstart.context import QuickstartContext, Step, StepResult
from shiplane.release import release_revisions
from shiplane.stack import stack_up

__all__ = ["DELIVERY_STEPS", "QuickstartError", "VERSION_CHANGE"]

ROLLOUT_TIMEOUT = 90.0

# (file, text before, text after): the change pushed as v2, in the code and in its test
VERSION_CHANGE: tuple[tuple[str, str, str], ...] = (
    ("src/modules/http_api.py",
     '{"status": "ok", "service": app.settings.service_name}',
     '{"status": "ok", "service": app.settings.service_name, "version": "v2"}'),
    ("tests/integration/test_http_api.py",
     '{"status": "ok", "service": "payment-service"}',
     '{"status": "ok", "service": "payment-service", "version": "v2"}'),
)


class QuickstartError(ShiplaneError):
    """A quickstart delivery step found the stack, a run or a rollout not as expected."""


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        raise QuickstartError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _workspace(ctx: QuickstartContext) -> Workspace:
    return Workspace(state_dir=ctx.state_dir)


def start_stack(ctx: QuickstartContext) -> StepResult:
    ctx.stack, ctx.stack_started = stack_up(ctx.state_dir, time_scale=ctx.time_scale,
                                            cwd=ctx.workdir)
    how = "started" if ctx.stack_started else "already running, reused"
    return StepResult(f"{how}: registry {ctx.stack.registry}, cluster {ctx.stack.api_url} "
                      f"({ctx.stack.nodes} nodes), git {ctx.stack.git_url}")


BASE_IMAGE = "python:3.11-slim"  # what the scaffolded Dockerfile builds FROM


def base_image(ctx: QuickstartContext) -> StepResult:
    builder = Builder.at(ctx.state_dir)
    cached = builder.images.lookup(BASE_IMAGE)
    if cached is not None:  # warm: a re-run keeps the one it made
        return StepResult(f"{BASE_IMAGE}@{cached.digest[:19]} (cached)")
    results = create_base_images(builder, names=("python",))
    return StepResult(", ".join(f"{r.reference}@{r.digest[:19]}" for r in results))


def _check_run(ctx: QuickstartContext, run: RunRecord, label: str) -> None:
    if run.status is not RunStatus.SUCCEEDED:
        failed = run.failed_step
        tail = log_tail(failed.log) if failed is not None else ""
        raise QuickstartError(f"the {label} pipeline run {run.id} {run.status.value}: "
                              f"{run.error}\n{tail}", hint="shiplane pipeline logs "
                              f"{run.id} --state-dir {ctx.state_dir}")


def _wait_ready(ctx: QuickstartContext, image: str) -> dict:
    """The dev Deployment once it runs ``image`` with every replica updated and Ready."""
    deadline = time.monotonic() + ROLLOUT_TIMEOUT
    with KubeClient.from_kubeconfig(Path(ctx.stack.kubeconfig)) as kube:
        while True:
            live = kube.get("apps/v1", "Deployment", ctx.service, "dev")
            spec, status = live["spec"], live.get("status", {})
            wanted = spec.get("replicas", 1)
            if (spec["template"]["spec"]["containers"][0]["image"] == image
                    and status.get("updatedReplicas") == wanted
                    and status.get("readyReplicas") == wanted
                    and status.get("replicas") == wanted):
                return live
            if time.monotonic() > deadline:
                raise QuickstartError(f"the dev Deployment did not roll out {image} in "
                                      f"{ROLLOUT_TIMEOUT:.0f}s: status {status}")
            time.sleep(0.1)


def pipeline_v1(ctx: QuickstartContext) -> StepResult:
    assert ctx.service_repo is not None
    run = run_pipeline(ctx.service_repo, env="dev", state_dir=ctx.state_dir)
    _check_run(ctx, run, "v1")
    ctx.runs["v1"] = run
    live = _wait_ready(ctx, run.image_reference or "")
    return StepResult(f"run {run.id}: release revision {run.release_revision}, "
                      f"{live['status']['readyReplicas']} pod(s) Ready on "
                      f"{_short(run.image_reference)}")


def change_code(ctx: QuickstartContext) -> StepResult:
    assert ctx.service_repo is not None
    for name, before, after in VERSION_CHANGE:
        path = ctx.service_repo / name
        text = path.read_text()
        if before not in text:
            raise QuickstartError(f"{path} does not contain {before!r}: the scaffold changed?")
        path.write_text(text.replace(before, after, 1))
        _git(ctx.service_repo, "add", name)
    _git(ctx.service_repo, "commit", "-q", "-m", "healthz reports the version (v2)")
    return StepResult(f"commit {_git(ctx.service_repo, 'rev-parse', '--short=7', 'HEAD')}: "
                      "/healthz reports \"version\": \"v2\"")


def push_change(ctx: QuickstartContext) -> StepResult:
    assert ctx.service_repo is not None
    remote = f"{ctx.stack.git_url}/{ctx.service}.git"
    remotes = _git(ctx.service_repo, "remote").split()
    _git(ctx.service_repo, "remote", "set-url" if "shiplane" in remotes else "add",
         "shiplane", remote)
    # --force: a re-run scaffolds a new repository whose history replaces the last one's
    _git(ctx.service_repo, "push", "-q", "--force", "shiplane", "HEAD:refs/heads/main")
    return StepResult(f"pushed main to {remote}")


def rollout_v2(ctx: QuickstartContext) -> StepResult:
    assert ctx.service_repo is not None
    commit = _git(ctx.service_repo, "rev-parse", "HEAD")
    deadline = time.monotonic() + ROLLOUT_TIMEOUT
    store = open_run_store(ctx.state_dir)
    try:
        while True:
            runs = [r for r in store.list(service=ctx.service, limit=20) if r.commit == commit]
            if runs and runs[0].status.finished:
                run = runs[0]
                break
            if time.monotonic() > deadline:
                raise QuickstartError(f"no finished pipeline run for commit {commit[:7]} after "
                                      f"{ROLLOUT_TIMEOUT:.0f}s", hint="shiplane pipeline list")
            time.sleep(0.1)
    finally:
        store.close()
    _check_run(ctx, run, "push-triggered")
    ctx.runs["v2"] = run
    live = _wait_ready(ctx, run.image_reference or "")
    return StepResult(f"run {run.id} (trigger {run.trigger.value}): release revision "
                      f"{run.release_revision}, {live['status']['readyReplicas']} pod(s) Ready "
                      f"on {_short(run.image_reference)}")


def release_history(ctx: QuickstartContext) -> StepResult:
    ctx.history = release_revisions(ctx.service, "dev", workspace=_workspace(ctx))
    latest = ctx.history[-1]
    return StepResult(f"{len(ctx.history)} revisions; revision {latest.number} {latest.status}")


def _short(reference: str | None) -> str:
    if not reference:
        return "-"
    name, _, digest = reference.partition("@")
    return f"{name.rsplit('/', 1)[-1]}@{digest[:19]}"


DELIVERY_STEPS: list[Step] = [
    Step("stack", "Start the embedded stack (shiplane up)", start_stack),
    Step("base-image", "Create the offline python base image", base_image),
    Step("pipeline-v1", "Pipeline to dev: test, build, tag, push, deploy (v1 Ready)",
         pipeline_v1),
    Step("change", "Change the code: /healthz reports the version", change_code),
    Step("push", "git push to the local git server", push_change),
    Step("rollout-v2", "Push-triggered pipeline and rolling update to v2", rollout_v2),
    Step("history", "Release history in dev", release_history),
]
