"""The sync operation state machine (pure): groups by phase and wave, waits for health and
hook completion, final-wave rule, hook delete policies."""

import pytest

from shiplane.gitops import compare, mark, plan_sync
from shiplane.gitops.operation import (
    BEFORE_HOOK_CREATION,
    HOOK_FAILED,
    HOOK_SUCCEEDED,
    TaskPhase,
    delete_policies,
    hooks_to_delete,
    next_step,
    recreate_first,
    task_progress,
)

P, R, S, F = TaskPhase.PENDING, TaskPhase.RUNNING, TaskPhase.SUCCEEDED, TaskPhase.FAILED


def _obj(kind, name, wave=None, hook=None, policy=None, api="v1"):
    annotations = {}
    if wave is not None:
        annotations["argocd.argoproj.io/sync-wave"] = str(wave)
    if hook:
        annotations["argocd.argoproj.io/hook"] = hook
    if policy:
        annotations["argocd.argoproj.io/hook-delete-policy"] = policy
    return {"apiVersion": api, "kind": kind,
            "metadata": {"name": name, "namespace": "ns", "annotations": annotations}}


def _tasks():
    desired = [mark(_obj("ConfigMap", "config", wave=-1), "a"),
               mark(_obj("Deployment", "web", api="apps/v1"), "a"),
               mark(_obj("Service", "web"), "a"),
               mark(_obj("ConfigMap", "late", wave=2), "a")]
    hooks = [_obj("Pod", "migrate", hook="PreSync"),
             _obj("Pod", "smoke", hook="PostSync", policy="HookSucceeded"),
             _obj("Pod", "notify", hook="SyncFail")]
    return plan_sync(compare(desired, [], app_name="a"), hooks=hooks)


def test_groups_run_in_phase_then_wave_order_and_only_the_last_is_final():
    tasks = _tasks()
    assert [str(t) for t in tasks] == [
        "PreSync/0 apply Pod/migrate", "Sync/-1 apply ConfigMap/config",
        "Sync/0 apply Service/web", "Sync/0 apply Deployment/web",
        "Sync/2 apply ConfigMap/late", "PostSync/0 apply Pod/smoke"]
    phases = [P] * len(tasks)
    step = next_step(tasks, phases)
    assert (step.action, step.indexes, step.final) == ("apply", (0,), False)
    phases[0] = R
    assert next_step(tasks, phases).action == "wait"
    phases[0] = S
    assert next_step(tasks, phases).indexes == (1,)
    phases[1] = S
    step = next_step(tasks, phases)
    assert (step.indexes, step.final) == ((2, 3), False)  # one wave: Service and Deployment
    phases[2], phases[3] = S, R  # the Deployment is not Healthy yet: wave 2 waits
    step = next_step(tasks, phases, ["", "", "", "waiting for healthy state of apps/Deployment/web",
                                     "", ""])
    assert (step.action, step.message) == ("wait",
                                           "waiting for healthy state of apps/Deployment/web")
    phases[3] = S
    assert next_step(tasks, phases).indexes == (4,)
    phases[4] = S
    step = next_step(tasks, phases)
    assert (step.indexes, step.final) == ((5,), True)  # PostSync after all Sync waves
    phases[5] = S
    assert next_step(tasks, phases).action == "succeeded"


def test_a_failed_task_fails_the_operation_with_its_message():
    tasks = _tasks()
    phases = [F, P, P, P, P, P]
    step = next_step(tasks, phases, ["Job has reached the specified backoff limit"] + [""] * 5)
    assert step.action == "failed"
    assert step.message.endswith(": Job has reached the specified backoff limit")
    with pytest.raises(ValueError):
        next_step(tasks, phases[:2])


def test_sync_fail_hooks_are_planned_only_for_failure():
    desired = [mark(_obj("ConfigMap", "c"), "a")]
    hooks = [_obj("Pod", "notify", hook="SyncFail"), _obj("Pod", "pre", hook="PreSync")]
    comparison = compare(desired, [], app_name="a")
    assert [t.name for t in plan_sync(comparison, hooks=hooks)] == ["pre", "c"]
    assert [t.name for t in plan_sync(comparison, hooks=hooks, failed=True)] == ["notify"]


def _pod(phase, restart="Never", ready=None):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"restartPolicy": restart}, "status": {"phase": phase}}
    if ready is not None:
        pod["status"]["conditions"] = [{"type": "Ready", "status": ready}]
    return pod


def test_task_progress_from_live_health():
    hook = _tasks()[0]
    assert task_progress(hook, _pod("Running"))[0] is R
    assert task_progress(hook, _pod("Running"))[1] == "waiting for completion of hook Pod/migrate"
    assert task_progress(hook, _pod("Succeeded"))[0] is S
    assert task_progress(hook, _pod("Failed"))[0] is F
    assert task_progress(hook, None)[0] is R
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "status": {
        "conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}}
    assert task_progress(hook, job) == (F, "BackoffLimitExceeded")
    job["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
    assert task_progress(hook, job)[0] is S
    deployment = _tasks()[3]
    live = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web",
            "generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 2,
            "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}}
    assert task_progress(deployment, live) == (
        R, "waiting for healthy state of apps/Deployment/web")
    live["status"]["availableReplicas"] = 2
    assert task_progress(deployment, live)[0] is S
    live["status"]["conditions"] = [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]
    assert task_progress(deployment, live) == (
        F, 'Deployment "web" exceeded its progress deadline')
    config = _tasks()[1]  # no health rule: done once applied
    assert task_progress(config, {"apiVersion": "v1", "kind": "ConfigMap"})[0] is S


def test_delete_policies_default_and_helm_names():
    assert delete_policies(_obj("Pod", "p", hook="PreSync")) == {BEFORE_HOOK_CREATION}
    assert delete_policies(_obj("Pod", "p", hook="PreSync", policy="HookSucceeded,HookFailed")) \
        == {HOOK_SUCCEEDED, HOOK_FAILED}
    helm = _obj("Job", "j")
    helm["metadata"]["annotations"] = {"helm.sh/hook": "pre-install",
                                       "helm.sh/hook-delete-policy": "hook-succeeded"}
    assert delete_policies(helm) == {HOOK_SUCCEEDED}


def test_recreate_first_and_hooks_to_delete():
    tasks = _tasks()
    assert recreate_first(tasks[0])  # named, no policy: BeforeHookCreation
    assert not recreate_first(tasks[5])  # HookSucceeded only
    assert not recreate_first(tasks[1])  # not a hook
    generated = plan_sync(compare([], [], app_name="a"), hooks=[
        {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "generateName": "x-", "annotations": {"argocd.argoproj.io/hook": "Sync"}}}])[0]
    assert not recreate_first(generated)  # generateName: a new object anyway
    phases = [S, S, S, S, S, S]
    assert hooks_to_delete(tasks, phases, succeeded=True) == [5]
    assert hooks_to_delete(tasks, phases, succeeded=False) == []
    failing = _obj("Pod", "f", hook="PreSync", policy="HookFailed")
    ftasks = plan_sync(compare([], [], app_name="a"), hooks=[failing])
    assert hooks_to_delete(ftasks, [F], succeeded=False) == [0]
    assert hooks_to_delete(ftasks, [P], succeeded=False) == []  # never ran: nothing to delete


def test_restore_maps_saved_results_onto_the_tasks_planned_again():
    # gitops-engine sync_context.go WithInitialState + getSyncTasks: each task takes its
    # result (by resource key and sync phase); a generateName hook the one it created
    from shiplane.gitops.operation import restore

    hook = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "generateName": "migrate-", "namespace": "ns",
        "annotations": {"argocd.argoproj.io/hook": "PreSync"}}}
    web = mark(_obj("Deployment", "web", api="apps/v1"), "app")
    late = mark(_obj("ConfigMap", "late", wave=1), "app")
    for obj in (web, late):
        obj["metadata"]["namespace"] = "ns"
    tasks = plan_sync(compare([web, late], [], app_name="app"), hooks=[hook])
    assert [t.kind for t in tasks] == ["Job", "Deployment", "ConfigMap"]
    saved = [
        {"group": "batch", "kind": "Job", "namespace": "ns", "name": "migrate-x7k2p",
         "syncPhase": "PreSync", "hookPhase": "Succeeded", "status": "Synced", "message": "done"},
        {"group": "apps", "kind": "Deployment", "namespace": "ns", "name": "web",
         "syncPhase": "Sync", "hookPhase": "Running", "status": "Synced", "message": "waiting"},
        {"group": "", "kind": "Secret", "namespace": "ns", "name": "gone",
         "syncPhase": "Sync", "hookPhase": "Succeeded", "status": "Pruned", "message": "pruned"},
    ]
    progress = restore(tasks, saved)
    assert progress.phases == [S, R, P]
    assert progress.names == {0: "migrate-x7k2p", 1: "web"}
    assert progress.messages == ["done", "waiting", ""]
    assert [r["name"] for r in progress.carried] == ["gone"]  # pruned: no task any more
    assert [r["name"] for r in progress.reported()] == ["gone", "migrate-x7k2p", "web"]
    # the machine carries on where it stopped: wait for the Deployment, then wave 1
    assert next_step(tasks, progress.phases).action == "wait"
    assert next_step(tasks, [S, S, P]).indexes == (2,)
    assert restore(tasks, []).phases == [P, P, P]


def test_sync_wave_delay_is_argocd_sync_wave_delay_or_two_seconds():
    # argo-cd controller/sync.go: EnvVarSyncWaveDelay, delaySec := 2
    from shiplane.gitops.operation import DEFAULT_SYNC_WAVE_DELAY, sync_wave_delay

    assert DEFAULT_SYNC_WAVE_DELAY == 2.0
    assert sync_wave_delay({}) == 2.0
    assert sync_wave_delay({"ARGOCD_SYNC_WAVE_DELAY": "5"}) == 5.0
    assert sync_wave_delay({"ARGOCD_SYNC_WAVE_DELAY": "0"}) == 0.0
    assert sync_wave_delay({"ARGOCD_SYNC_WAVE_DELAY": "0.3"}) == 0.3
    assert sync_wave_delay({"ARGOCD_SYNC_WAVE_DELAY": "soon"}) == 2.0  # Atoi fails: default
    assert sync_wave_delay({"ARGOCD_SYNC_WAVE_DELAY": "-1"}) == 2.0
