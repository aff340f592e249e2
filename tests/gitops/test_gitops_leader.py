"""Lease leader election (client-go semantics): the pure decision, then two electors and two
controllers on the embedded API server — only one leads and syncs; release and crash hand over."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from shiplane.gitops.clusters import ClusterClients
from shiplane.gitops.controller import GitOpsController
from shiplane.gitops.leader import LeaderElector, LeaseSettings, decide, micro_time
from shiplane.kube import KubeClient

NOW = dt.datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=dt.UTC)


def test_decide_create_renew_hold_and_take_over():
    first = decide(None, "a", now=NOW, observed_at=0, monotonic_now=0, lease_duration=15)
    assert first.action == "create" and first.leader
    assert first.spec == {"holderIdentity": "a", "leaseDurationSeconds": 15,
                          "acquireTime": "2026-11-25T12:00:00.123456Z",
                          "renewTime": "2026-11-25T12:00:00.123456Z", "leaseTransitions": 0}
    later = NOW + dt.timedelta(seconds=2)
    renew = decide(first.spec, "a", now=later, observed_at=0, monotonic_now=2,
                   lease_duration=15)
    assert renew.action == "update" and renew.spec["acquireTime"] == first.spec["acquireTime"]
    assert renew.spec["renewTime"] == micro_time(later) and renew.spec["leaseTransitions"] == 0
    # b observed a's record at t=10: held until t=25 on b's own clock
    held = decide(renew.spec, "b", now=later, observed_at=10, monotonic_now=24.9,
                  lease_duration=15)
    assert (held.action, held.leader) == ("none", False)
    take = decide(renew.spec, "b", now=later, observed_at=10, monotonic_now=25.1,
                  lease_duration=15)
    assert take.action == "update" and take.leader
    assert take.spec["holderIdentity"] == "b" and take.spec["leaseTransitions"] == 1
    assert take.spec["acquireTime"] == micro_time(later)
    released = {**take.spec, "holderIdentity": "", "leaseDurationSeconds": 1}
    assert decide(released, "a", now=later, observed_at=30, monotonic_now=30,
                  lease_duration=15).spec["leaseTransitions"] == 2  # no holder: free


def test_settings_are_checked_as_client_go_does():
    assert LeaseSettings().lease_duration == 15 and LeaseSettings().retry_period == 2
    with pytest.raises(ValueError, match="leaseDuration must be greater"):
        LeaseSettings(lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError, match="retryPeriod"):
        LeaseSettings(renew_deadline=2, retry_period=2, lease_duration=5)


FAST = dict(lease_duration=2.0, renew_deadline=1.5, retry_period=0.2)


def _wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_two_electors_one_leader_release_and_crash_hand_over(kube_apiserver):
    settings = LeaseSettings(name="election-a", namespace="leases", **FAST)
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        a = LeaderElector(client, settings, identity="a").start()
        b = LeaderElector(client, settings, identity="b")
        assert _wait(a.is_leader, 5)
        b.start()
        time.sleep(1.0)  # several retry periods: b keeps following while a renews
        assert a.is_leader() and not b.is_leader()
        lease = client.get("coordination.k8s.io/v1", "Lease", "election-a", "leases")["spec"]
        assert (lease["holderIdentity"], lease["leaseTransitions"]) == ("a", 0)
        assert lease["leaseDurationSeconds"] == 2 and lease["renewTime"] >= lease["acquireTime"]

        a.stop()  # released: b takes over without waiting for expiry
        assert _wait(b.is_leader, 1.5)
        lease = client.get("coordination.k8s.io/v1", "Lease", "election-a", "leases")["spec"]
        assert (lease["holderIdentity"], lease["leaseTransitions"]) == ("b", 1)

        c = LeaderElector(client, settings, identity="c").start()
        started = time.monotonic()
        b.halt()  # a crash: nothing released, c waits for the lease to expire
        assert _wait(c.is_leader, 6)
        assert time.monotonic() - started >= 1.5
        lease = client.get("coordination.k8s.io/v1", "Lease", "election-a", "leases")["spec"]
        assert (lease["holderIdentity"], lease["leaseTransitions"]) == ("c", 2)
        c.stop()


def test_only_the_leader_controller_syncs(kube_apiserver, platform_root):
    settings = LeaseSettings(name="election-b", namespace="leases", **FAST)
    synced: dict[str, list[str]] = {"one": [], "two": []}
    with ClusterClients(kube_apiserver.kubeconfig) as clusters:
        controllers, electors = {}, {}
        for name in ("one", "two"):
            electors[name] = LeaderElector(clusters.control, settings, identity=name)
            controllers[name] = GitOpsController(
                platform_root, clusters, interval=0.1, elector=electors[name],
                report=lambda app, state, who=name: synced[who].append(app))
        electors["one"].start(on_change=controllers["one"]._wake.set)
        assert _wait(electors["one"].is_leader, 5)
        electors["two"].start(on_change=controllers["two"]._wake.set)
        import threading
        threads = [threading.Thread(target=c.run, daemon=True) for c in controllers.values()]
        for thread in threads:
            thread.start()
        assert _wait(lambda: len(synced["one"]) >= 3, 60)
        assert synced["two"] == []  # the follower never reconciles
        electors["one"].stop()  # hand over: two leads and starts with a full pass
        before = len(synced["one"])
        assert _wait(lambda: len(synced["two"]) >= 3, 60)
        assert len(synced["one"]) <= before + 1  # at most the app in flight finished
        for controller in controllers.values():
            controller.stop()
        electors["two"].stop()
        for thread in threads:
            thread.join(timeout=30)
