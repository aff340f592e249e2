"""The pause between sync waves (argo-cd ``controller/sync.go`` ``delayBetweenSyncWaves``,
``ARGOCD_SYNC_WAVE_DELAY``, default 2 s): after each group that is not the last, before
its health is judged; never after the final wave, nor in the SyncFail phase."""

from __future__ import annotations

import time

import pytest

from shiplane.gitops import compare, mark, plan_sync
from shiplane.gitops.reconciler import Reconciler
from shiplane.gitops.status import MemoryStatusStore
from shiplane.kube import KubeClient


def _config_map(name: str, wave: int, namespace: str) -> dict:
    return mark({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name, "namespace": namespace,
        "annotations": {"argocd.argoproj.io/sync-wave": str(wave)}}, "data": {"w": str(wave)}},
        "delay")


def _tasks(namespace: str):
    # ConfigMaps have no health: a wave completes on apply, so only the delay separates them
    desired = [_config_map(f"w{wave}", wave, namespace) for wave in (0, 1, 2)]
    return plan_sync(compare(desired, [], app_name="delay"))


@pytest.fixture(scope="module")
def client(kube_apiserver):
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as c:
        yield c


def test_the_default_is_two_seconds_or_the_environment(monkeypatch, client):
    monkeypatch.delenv("ARGOCD_SYNC_WAVE_DELAY", raising=False)
    assert Reconciler(client, None, MemoryStatusStore()).sync_wave_delay == 2.0
    monkeypatch.setenv("ARGOCD_SYNC_WAVE_DELAY", "3")
    assert Reconciler(client, None, MemoryStatusStore()).sync_wave_delay == 3.0
    assert Reconciler(client, None, MemoryStatusStore(),
                      sync_wave_delay=0.5).sync_wave_delay == 0.5  # the parameter wins


def test_the_delay_follows_every_wave_but_the_last(client):
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "delay-a"}})
    slept: list[float] = []
    reconciler = Reconciler(client, None, MemoryStatusStore(), sync_wave_delay=2.0,
                            sleep=slept.append)
    ok, message, results = reconciler.execute(_tasks("delay-a"))
    assert ok, message
    assert [r["name"] for r in results] == ["w0", "w1", "w2"]
    assert slept == [2.0, 2.0]  # after waves 0 and 1; not after the final wave 2


def test_waves_are_applied_at_least_the_delay_apart(client):
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "delay-b"}})
    applied: list[tuple[str, float]] = []
    apply = client.apply

    def timed_apply(obj, **kwargs):
        applied.append((obj["metadata"]["name"], time.monotonic()))
        return apply(obj, **kwargs)

    reconciler = Reconciler(client, None, MemoryStatusStore(), sync_wave_delay=0.3)
    client.apply = timed_apply
    try:
        start = time.monotonic()
        ok, message, _ = reconciler.execute(_tasks("delay-b"))
        took = time.monotonic() - start
    finally:
        del client.apply
    assert ok, message
    assert [name for name, _ in applied] == ["w0", "w1", "w2"]
    gaps = [b - a for (_, a), (_, b) in zip(applied, applied[1:])]
    assert all(gap >= 0.3 for gap in gaps), gaps
    assert took < 30  # generous: only two pauses of 0.3 s are due
