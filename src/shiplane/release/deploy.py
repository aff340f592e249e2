"""Model 1 deploys: the guide's ``helm upgrade --install SERVICE ./helm -f values-ENV.yaml``.

``deploy`` runs the guide's command through Helm's SDK (``shiplane.charts``) against
the environment's cluster, in these steps:

1. resolve the environment (cluster access, namespace), the chart and the values
   (Helm's precedence; the image tag always a string);
2. create the namespace if missing; read the release's history from Helm's storage
   Secrets and recover a revision left pending by a killed deploy (``revisions``);
3. install or upgrade with Helm's ``watcher`` wait while ``NamespaceWatch`` reports
   the rollout's steps to ``on_step``;
4. on failure, diagnose the new pods (``diagnosis``) and, with
   ``rollback_on_failure`` (default on for ``prod``), roll back to the last
   deployed revision, then raise :class:`DeployFailedError` saying why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shiplane.charts import (
    ReleaseCanceller,
    ReleaseFailedError,
    ValueOverrides,
    environment_overrides,
    install_or_upgrade,
    merge_values,
    render_chart,
    rollback_release,
)
from shiplane.config import Workspace
from shiplane.kube import KubeClient, ensure_namespace
from shiplane.release.diagnosis import Diagnosis, diagnose
from shiplane.release.errors import DeployFailedError, ReleaseBusyError
from shiplane.release.namespace_watch import NamespaceWatch
from shiplane.release.progress import StepEvent
from shiplane.release.revisions import RecoveryAction, Revision, last_deployed, plan_recovery
from shiplane.release.storage import mark_failed, owner_labels, owner_state, read_revisions
from shiplane.release.target import (
    embedded_image_repository,
    image_overrides,
    load_target_workspace,
    resolve_access,
    resolve_chart,
)

__all__ = ["DeployResult", "ensure_namespace", "deploy", "recover_stuck"]

StepSink = Callable[[StepEvent], None]


@dataclass(frozen=True)
class DeployResult:
    release: str
    namespace: str
    revision: int
    status: str
    installed: bool  # True for a first install, False for an upgrade
    notes: str = ""
    recovered: str | None = None  # the recovery message, when a stuck revision was fixed
    steps: list[StepEvent] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "step": "done", "release": self.release, "namespace": self.namespace,
            "revision": self.revision, "status": self.status,
            "action": "install" if self.installed else "upgrade", "recovered": self.recovered,
        }


def recover_stuck(
    client: KubeClient, namespace: str, name: str, history: Sequence[Revision], *,
    force: bool = False, now: datetime | None = None,
) -> str | None:
    """Apply :func:`plan_recovery`; returns the message when something was marked failed."""
    now = now or datetime.now(timezone.utc)
    pending = [r for r in history if r.pending]
    state = owner_state(pending[-1]) if pending else None
    if state is None:
        return None
    plan = plan_recovery(name, history, owner_state=state, now=now, force=force)
    if plan.action is RecoveryAction.BUSY:
        raise ReleaseBusyError(
            plan.message,
            hint="wait for it to finish; if it was killed on another machine, "
            "deploy again with --force-unlock",
        )
    if plan.action is RecoveryAction.MARK_FAILED:
        for number in plan.revisions:
            mark_failed(client, namespace, name, number,
                        f"marked failed by shiplane: {plan.message}", now)
        return plan.message
    return None


def _run_cancellable(call: Callable[[ReleaseCanceller], dict[str, Any]]) -> dict[str, Any]:
    """Run a Helm action in a thread so Ctrl-C cancels it through Helm's context."""
    canceller = ReleaseCanceller()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = call(canceller)
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=work, name="shiplane-helm", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt:
        canceller.cancel()
        thread.join(30)
        raise
    finally:
        if not thread.is_alive():
            canceller.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def deploy(
    service_repo: str | Path,
    env: str,
    *,
    values_files: Sequence[Path] = (),
    set: Sequence[str] = (),  # noqa: A002 - Helm's flag name
    set_string: Sequence[str] = (),
    set_json: Sequence[str] = (),
    set_file: Sequence[str] = (),
    image_tag: str | None = None,
    image_ref: str | None = None,
    chart_version: str | None = None,
    wait: bool = True,
    timeout: int = 300,
    rollback_on_failure: bool | None = None,
    force_unlock: bool = False,
    on_step: StepSink | None = None,
    workspace: Workspace | None = None,
) -> DeployResult:
    """``helm upgrade --install`` the service's chart into environment ``env``."""
    workspace = workspace or load_target_workspace()
    access = resolve_access(workspace, env)
    service = resolve_chart(service_repo, chart_version)
    if rollback_on_failure is None:
        rollback_on_failure = env == "prod"
    stack_repository = (embedded_image_repository(workspace, env, service.name)
                        if image_tag and not image_ref else None)
    image_strings = image_overrides(image_tag, image_ref) + (
        (f"image.repository={stack_repository}",) if stack_repository else ())
    overrides = environment_overrides(service.chart, env, ValueOverrides(
        values_files=tuple(values_files), set=tuple(set),
        set_string=(*set_string, *image_strings),
        set_json=tuple(set_json), set_file=tuple(set_file),
    ))
    values = merge_values(overrides)
    rendered = render_chart(service.chart, overrides, release_name=service.name,
                            namespace=access.namespace)  # fails early on a bad chart/values
    deployments = [m["metadata"]["name"] for m in rendered.manifests if m["kind"] == "Deployment"]
    steps: list[StepEvent] = []

    def emit(step: StepEvent) -> None:
        steps.append(step)
        if on_step:
            on_step(step)

    name, namespace = service.name, access.namespace
    with KubeClient.from_kubeconfig(access.kubeconfig, access.context) as client:
        if ensure_namespace(client, namespace):
            emit(StepEvent("namespace", f"namespace/{namespace}", f"created namespace {namespace}"))
        history = read_revisions(client, namespace, name)
        recovered = recover_stuck(client, namespace, name, history, force=force_unlock)
        if recovered:
            emit(StepEvent("recovered", f"release/{name}", recovered))
            history = read_revisions(client, namespace, name)
        installed = bool(history)
        emit(StepEvent("helm", f"release/{name}",
                       f"helm {'upgrade' if installed else 'install'} {name} "
                       f"({service.chart.name}, -f values-{env}.yaml) in {namespace}"))
        watch = NamespaceWatch(client, namespace, deployments, emit)
        try:
            with watch:
                summary = _run_cancellable(lambda canceller: install_or_upgrade(
                    access, service.chart, name, values, installed=installed,
                    wait=wait, timeout=timeout, labels=owner_labels(),
                    description=f"shiplane deploy to {env}", canceller=canceller,
                ))
        except ReleaseFailedError as error:
            diagnosis = _diagnose(watch)
            rolled_back_to = None
            rollback_problem: str | None = None
            previous = last_deployed(history)
            if rollback_on_failure and previous is not None:
                emit(StepEvent("rollback", f"release/{name}",
                               f"rolling back to revision {previous.number}"))
                rolled_back_to = previous.number
                try:
                    rollback_release(access, name, previous.number, wait=wait, timeout=timeout)
                except ReleaseFailedError as rollback_error:
                    rollback_problem = str(rollback_error)
            raise _failure(name, env, error, diagnosis, rolled_back_to,
                           rollback_on_failure, previous, rollback_problem) from error
    result = DeployResult(
        release=name, namespace=namespace, revision=int(summary.get("revision") or 0),
        status=str(summary.get("status") or ""), installed=not installed,
        notes=str(summary.get("notes") or ""), recovered=recovered, steps=steps,
    )
    emit(StepEvent("done", f"release/{name}",
                   f"revision {result.revision} {result.status}", result.as_json()))
    return result


def _diagnose(watch: NamespaceWatch) -> Diagnosis:
    try:
        watch.poll()
    except Exception:  # noqa: BLE001 - diagnosis is best effort; the Helm error stands
        pass
    new_pods = [p for p in watch.last.get("Pod", [])
                if (p.get("metadata") or {}).get("name") in watch.state.new_pods]
    return diagnose(new_pods, watch.last.get("Event", []))


def _failure(
    name: str, env: str, error: ReleaseFailedError, diagnosis: Diagnosis,
    rolled_back_to: int | None, rollback_on_failure: bool, previous: Revision | None,
    rollback_problem: str | None = None,
) -> DeployFailedError:
    lines = [f"deploy of {name} to {env} failed: {error.message}", diagnosis.summary]
    if rolled_back_to is not None:
        lines.append(f"rolled back to revision {rolled_back_to} (the last deployed one)")
        hint = "fix the cause above and deploy again"
        if rollback_problem:
            lines.append(f"the rollback did not become ready either: {rollback_problem}")
            hint = "the cluster cannot run the previous revision either: check its nodes"
    elif rollback_on_failure and previous is None:
        lines.append("nothing to roll back to: the release has no deployed revision")
        hint = "fix the cause above and deploy again"
    else:
        hint = "roll back with: shiplane rollback " + name + f" --env {env}"
    return DeployFailedError("\n".join(lines), diagnosis=diagnosis,
                             rolled_back_to=rolled_back_to, hint=hint)
