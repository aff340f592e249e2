from shiplane.gitops import Action, Phase, compare, mark, plan_sync
from shiplane.gitops.plan import hook_phases, sync_wave
from shiplane.gitops.retry import backoff_schedule, next_delay, parse_duration, should_retry
from shiplane.gitops import ApplicationInvalid, Retry

import pytest


def _obj(kind, name, api="v1", ns="dev", wave=None, hook=None, **annotations):
    meta = {"name": name, "namespace": ns, "annotations": dict(annotations)}
    if kind == "Namespace":
        meta.pop("namespace")
    if wave is not None:
        meta["annotations"]["argocd.argoproj.io/sync-wave"] = str(wave)
    if hook is not None:
        meta["annotations"]["argocd.argoproj.io/hook"] = hook
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def _names(tasks):
    return [str(t) for t in tasks]


def test_kind_order_then_name_within_a_wave():
    desired = [_obj("Deployment", "b", "apps/v1"), _obj("Deployment", "a", "apps/v1"),
               _obj("Service", "svc"), _obj("ConfigMap", "cm"), _obj("Widget", "w", "x.io/v1"),
               _obj("ServiceAccount", "sa"), _obj("Ingress", "ing", "networking.k8s.io/v1")]
    tasks = plan_sync(compare(desired, [], app_name="a"))
    assert _names(tasks) == [
        "Sync/0 apply ServiceAccount/sa", "Sync/0 apply ConfigMap/cm", "Sync/0 apply Service/svc",
        "Sync/0 apply Deployment/a", "Sync/0 apply Deployment/b", "Sync/0 apply Ingress/ing",
        "Sync/0 apply Widget/w"]


def test_phases_and_waves_before_kinds():
    desired = [_obj("Service", "late", wave=5), _obj("Deployment", "early", "apps/v1", wave=-1),
               _obj("ConfigMap", "zero")]
    hooks = [_obj("Job", "migrate", "batch/v1", hook="PreSync"),
             _obj("Job", "smoke", "batch/v1", hook="PostSync"),
             _obj("Job", "page", "batch/v1", hook="SyncFail"),
             _obj("Pod", "skipped", hook="Skip")]
    tasks = plan_sync(compare(desired, [], app_name="a"), hooks=hooks)
    assert _names(tasks) == [
        "PreSync/0 apply Job/migrate", "Sync/-1 apply Deployment/early",
        "Sync/0 apply ConfigMap/zero", "Sync/5 apply Service/late", "PostSync/0 apply Job/smoke"]
    assert all(t.hook for t in tasks if t.kind == "Job")
    failed = plan_sync(compare(desired, [], app_name="a"), hooks=hooks, failed=True)
    assert _names(failed) == ["SyncFail/0 apply Job/page"]


def test_helm_hooks_map_to_argo_phases():
    pre = _obj("Job", "j", "batch/v1", **{"helm.sh/hook": "pre-install,pre-upgrade",
                                          "helm.sh/hook-weight": "-2"})
    assert hook_phases(pre) == ["PreSync"] and sync_wave(pre) == -2
    assert hook_phases(_obj("Pod", "t", **{"helm.sh/hook": "test"})) == ["Skip"]
    both = _obj("Job", "j", "batch/v1", hook="PreSync,PostSync")
    assert hook_phases(both) == ["PreSync", "PostSync"]
    assert sync_wave(_obj("Job", "x", wave="abc")) == 0


def test_prune_only_when_enabled_and_last_with_prune_last():
    desired = [_obj("ConfigMap", "keep", wave=2), _obj("Service", "svc")]
    live = [mark(_obj("Secret", "gone", wave=0), "a"),
            mark(_obj("ConfigMap", "protected", **{
                "argocd.argoproj.io/sync-options": "Prune=false"}), "a")]
    comparison = compare(desired, live, app_name="a")
    assert [t for t in plan_sync(comparison) if t.action is Action.PRUNE] == []
    tasks = plan_sync(comparison, prune=True)
    assert _names(tasks) == ["Sync/0 prune Secret/gone", "Sync/0 apply Service/svc",
                             "Sync/2 apply ConfigMap/keep"]
    tasks = plan_sync(comparison, prune=True, prune_last=True)
    assert _names(tasks)[-1] == "Sync/3 prune Secret/gone"


def test_apply_out_of_sync_only_skips_synced():
    a, b = _obj("ConfigMap", "same"), _obj("ConfigMap", "changed")
    live_b = {**b, "data": {"x": "1"}}
    b = {**b, "data": {"x": "2"}}
    comparison = compare([a, b], [a, live_b], app_name="x")
    assert _names(plan_sync(comparison, apply_out_of_sync_only=True)) == [
        "Sync/0 apply ConfigMap/changed"]
    assert len(plan_sync(comparison)) == 2


def test_namespace_bubbles_up_to_first_resource_inside_it():
    desired = [_obj("Namespace", "dev", wave=3), _obj("ConfigMap", "cm", wave=1)]
    tasks = plan_sync(compare(desired, [], app_name="a"))
    assert _names(tasks) == ["Sync/1 apply Namespace/dev", "Sync/1 apply ConfigMap/cm"]
    assert tasks[0].phase is Phase.SYNC


def test_go_durations_and_backoff():
    assert parse_duration("5s") == 5 and parse_duration("3m") == 180
    assert parse_duration("1h30m") == 5400 and parse_duration("250ms") == 0.25
    assert parse_duration("0") == 0
    for bad in ("", "5", "5x", "m"):
        with pytest.raises(ApplicationInvalid):
            parse_duration(bad)
    retry = Retry(limit=5, duration="5s", factor=2, max_duration="1m")
    assert backoff_schedule(retry) == [5, 10, 20, 40, 60]
    assert next_delay(retry, 10) == 60
    assert should_retry(retry, 4) and not should_retry(retry, 5) and not should_retry(None, 0)
    forever = Retry(limit=-1, duration="1s", factor=3, max_duration="10s")
    assert should_retry(forever, 1000)
    assert backoff_schedule(forever, at_most=4) == [1, 3, 9, 10]
    assert backoff_schedule(Retry(limit=0)) == []


def _decide(**changes):
    from shiplane.gitops.retry import auto_sync_decision
    facts = dict(out_of_sync=True, automated=True, self_heal=False, revisions=("b",),
                 last_revisions=("a",), last_phase="Succeeded",
                 last_finished="2026-11-25T12:00:00Z", retry_count=0,
                 retry=Retry(limit=2, duration="10s", factor=2, max_duration="1m"),
                 now="2026-11-25T12:00:05Z")
    facts.update(changes)
    return auto_sync_decision(**facts)


def test_auto_sync_decisions():
    assert _decide() == (True, 0, "new revision")
    assert _decide(automated=False)[0] is False
    assert _decide(out_of_sync=False) == (False, 0, "Synced")
    same = dict(last_revisions=("b",))
    assert _decide(**same) == (False, 0, "already synced this revision (selfHeal off)")
    assert _decide(**same, self_heal=True) == (True, 0, "self-heal")
    failed = dict(same, last_phase="Failed", self_heal=True)
    assert _decide(**failed) == (False, 0, "waiting for retry back-off")  # 5 s < 10 s
    assert _decide(**failed, now="2026-11-25T12:00:10Z") == (True, 1, "retry 1")
    # second retry waits 20 s after the first retry finished
    assert _decide(**failed, retry_count=1, now="2026-11-25T12:00:19Z")[0] is False
    assert _decide(**failed, retry_count=1, now="2026-11-25T12:00:20Z") == (True, 2, "retry 2")
    assert _decide(**failed, retry_count=2, now="2026-11-25T13:00:00Z")[0] is False
    assert "no retries left" in _decide(**failed, retry=None)[2]
