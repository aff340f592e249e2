"""Simulated kubelet cores: back-off (client-go flowcontrol/backoff_test.go), image decisions
(pkg/kubelet/images/image_manager_test.go TestParallelPuller cases), container state machine,
probe workers (prober/worker_test.go), pod phase/conditions (kubelet_pods_test.go TestPodPhase*,
status/generate_test.go), simulated behaviour annotations."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from k8s_objects import T0, at

from shiplane.cluster.decisions.backoff import Backoff, crash_backoff_key, image_backoff_key
from shiplane.cluster.decisions.container_states import (
    TRANSITIONS,
    ContainerRecord,
    Input,
    InvalidTransition,
    Phase,
    crash_loop_decision,
    should_restart,
    transition,
)
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.image_pull import (
    apply_default_tag,
    decide_pull,
    default_pull_policy,
    pull_duration,
    pull_failed,
    pull_succeeded,
)
from shiplane.cluster.decisions.pod_status import pod_conditions, pod_phase, update_conditions
from shiplane.cluster.decisions.probes import container_started_and_ready, new_worker, probe_step
from shiplane.cluster.decisions.sim_behaviour import InvalidBehaviour, behaviour_for, parse_seconds

# ------------------------------------------------------------------ back-off


def test_backoff_doubles_to_cap_and_resets_after_twice_the_cap():
    b = Backoff()
    delays = []
    now = T0
    for _ in range(7):
        b = b.next("k", now)
        delays.append(b.get("k"))
        now += timedelta(seconds=b.get("k"))
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    assert b.in_backoff_since_update("k", now - timedelta(seconds=1))
    quiet = now + timedelta(seconds=601)
    assert not b.in_backoff_since_update("k", quiet)
    assert b.next("k", quiet).get("k") == 10  # forgotten after 10 minutes
    assert "k" not in b.gc(quiet).entries


def test_backoff_since_event_time():
    b = Backoff().next("c", at(0))
    assert b.in_backoff_since("c", at(5), at(14))
    assert not b.in_backoff_since("c", at(5), at(15))
    assert not Backoff().in_backoff_since("missing", at(0), at(1))


@given(st.lists(st.floats(0, 1000), min_size=1, max_size=20))
def test_backoff_never_exceeds_cap(gaps):
    b, now = Backoff(), T0
    for gap in gaps:
        now += timedelta(seconds=gap)
        b = b.next("k", now)
        assert 10 <= b.get("k") <= 300


def test_backoff_keys():
    assert image_backoff_key("uid-1", "web:1") == "uid-1_web:1"
    assert crash_backoff_key("p", "ns", "uid", "c") == "p_ns_uid_c"


# ------------------------------------------------------------------ images


@pytest.mark.parametrize(
    "image,policy",
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("reg.example.com:5000/team/app:2", "IfNotPresent"),
        ("app@sha256:" + "a" * 64, "IfNotPresent"),
        ("app:latest@sha256:" + "b" * 64, "IfNotPresent"),
        ("localhost:5000/app", "Always"),
    ],
)
def test_default_pull_policy(image, policy):
    assert default_pull_policy(image) == policy


def test_apply_default_tag():
    assert apply_default_tag("nginx") == "nginx:latest"
    assert apply_default_tag("nginx:1") == "nginx:1"
    assert apply_default_tag("Bad/Name") is None


@pytest.mark.parametrize(
    "policy,present,action,reason",
    [
        ("Always", True, "pull", None),
        ("Always", False, "pull", None),
        ("IfNotPresent", True, "use-cache", None),
        ("IfNotPresent", False, "pull", None),
        ("Never", True, "use-cache", None),
        ("Never", False, "wait", "ErrImageNeverPull"),
    ],
)
def test_pull_policy_matrix(policy, present, action, reason):
    decision = decide_pull("web:1", policy, present, Backoff(), "uid", T0)
    assert (decision.action, decision.waiting_reason) == (action, reason)


def test_pull_events_use_upstream_wording():
    assert decide_pull("web:1", "IfNotPresent", True, Backoff(), "u", T0).events == (
        Event("Normal", "Pulled", 'Container image "web:1" already present on machine'),
    )
    assert decide_pull("web:1", "Always", True, Backoff(), "u", T0).events == (
        Event("Normal", "Pulling", 'Pulling image "web:1"'),
    )
    assert (
        decide_pull("web:1", "Never", False, Backoff(), "u", T0).message
        == 'Container image "web:1" is not present with pull policy of Never'
    )
    assert pull_succeeded("web:1", 1.2345, 1.5, 4242) == Event(
        "Normal",
        "Pulled",
        'Successfully pulled image "web:1" in 1.234s (1.5s including waiting). Image size: 4242 bytes.',
    )
    invalid = decide_pull("Bad:Image:x", None, False, Backoff(), "u", T0)
    assert (
        invalid.waiting_reason == "InvalidImageName" and invalid.events[0].reason == "InspectFailed"
    )


def test_failed_pull_then_backoff_then_retry():
    backoff, events, reason, message = pull_failed(
        "web:9", "manifest unknown (404)", Backoff(), "u", T0
    )
    assert reason == "ErrImagePull" and message == "manifest unknown (404)"
    assert events == (
        Event("Warning", "Failed", 'Failed to pull image "web:9": manifest unknown (404)'),
        Event("Warning", "Failed", "Error: ErrImagePull"),
    )
    waiting = decide_pull("web:9", "IfNotPresent", False, backoff, "u", at(5))
    assert waiting.waiting_reason == "ImagePullBackOff"
    assert waiting.events == (
        Event("Normal", "BackOff", 'Back-off pulling image "web:9"'),
        Event("Warning", "Failed", "Error: ImagePullBackOff"),
    )
    assert decide_pull("web:9", "IfNotPresent", False, backoff, "u", at(10)).action == "pull"
    assert decide_pull("web:9", "IfNotPresent", False, backoff, "other-pod", at(5)).action == "pull"


def test_pull_duration_from_layers_and_bandwidth():
    assert pull_duration([50_000_000, 50_000_000], 10_000_000) == 10.0
    assert pull_duration([50_000_000, 50_000_000], 10_000_000, cached_layers=[0]) == 5.0
    assert pull_duration([1000, 1000], 1000, per_layer_seconds=0.5) == 3.0
    with pytest.raises(ValueError):
        pull_duration([1], 0)


# ------------------------------------------------------------------ container states


def test_transition_table_happy_path_and_api_state():
    r = ContainerRecord("web", "web:1")
    assert r.api_state() == {"waiting": {"reason": "ContainerCreating"}}
    r = transition(r, Input.STARTED, at(1), container_id="c1")
    assert r.api_state() == {"running": {"startedAt": "2026-03-01T12:00:01Z"}}
    r = transition(r, Input.EXITED, at(5), exit_code=3)
    assert r.api_state()["terminated"] == {
        "exitCode": 3,
        "reason": "Error",
        "startedAt": "2026-03-01T12:00:01Z",
        "finishedAt": "2026-03-01T12:00:05Z",
        "containerID": "c1",
    }
    r = transition(r, Input.STARTED, at(6), container_id="c2")
    assert r.restart_count == 1 and r.last_terminated["exitCode"] == 3
    status = r.api_status()
    assert status["lastState"]["terminated"]["finishedAt"] == "2026-03-01T12:00:05Z"
    assert status["containerID"] == "c2" and status["restartCount"] == 1


def test_image_failures_and_recovery():
    r = ContainerRecord("web", "web:9")
    r = transition(r, Input.PULL_FAILED, T0, message="not found")
    assert r.api_state() == {"waiting": {"reason": "ErrImagePull", "message": "not found"}}
    r = transition(r, Input.PULL_BACKOFF, at(1), message='Back-off pulling image "web:9"')
    assert r.phase is Phase.IMAGE_PULL_BACKOFF
    r = transition(r, Input.RETRY, at(10))
    assert transition(r, Input.STARTED, at(11)).restart_count == 0


def test_invalid_transitions_raise():
    with pytest.raises(InvalidTransition, match="'exited' is not valid in ContainerCreating"):
        transition(ContainerRecord("web", "x"), Input.EXITED, T0)
    assert Input.INIT_DONE in TRANSITIONS[Phase.POD_INITIALIZING]
    killed = transition(
        transition(ContainerRecord("w", "x"), Input.STARTED, T0), Input.KILLED, at(1)
    )
    assert (killed.exit_code, killed.exit_reason) == (137, "Error")


@pytest.mark.parametrize(
    "policy,code,restart",
    [
        ("Always", 0, True),
        ("Always", 1, True),
        ("OnFailure", 0, False),
        ("OnFailure", 2, True),
        ("Never", 1, False),
    ],
)
def test_should_restart(policy, code, restart):
    assert should_restart(policy, code) is restart


def test_crash_loop_first_restart_immediate_then_backoff_messages():
    pod_ref = "web-1_default(uid)"
    r = transition(
        transition(ContainerRecord("app", "web:1"), Input.STARTED, at(0)),
        Input.EXITED,
        at(2),
        exit_code=1,
    )
    restart, b, r, events = crash_loop_decision(r, Backoff(), "k", at(2), pod_ref)
    assert restart and events == () and b.get("k") == 10
    r = transition(transition(r, Input.STARTED, at(2)), Input.EXITED, at(4), exit_code=1)
    restart, b, r, events = crash_loop_decision(r, b, "k", at(4), pod_ref)
    assert not restart and r.phase is Phase.CRASH_LOOP_BACKOFF
    assert r.message == "back-off 10s restarting failed container=app pod=web-1_default(uid)"
    assert events == (
        Event(
            "Warning",
            "BackOff",
            "Back-off restarting failed container app in pod web-1_default(uid)",
        ),
    )
    assert r.api_status()["lastState"]["terminated"]["exitCode"] == 1
    restart, b, r, _ = crash_loop_decision(r, b, "k", at(13), pod_ref)
    assert not restart
    restart, b, r, _ = crash_loop_decision(r, b, "k", at(14), pod_ref)
    assert restart and b.get("k") == 20
    r = transition(r, Input.STARTED, at(14))
    assert r.restart_count == 2 and r.phase is Phase.RUNNING


# ------------------------------------------------------------------ probes


def run(worker, results, *, start=0.0, started=True, period=None, cid="c1"):
    """Drive a worker through probe results (one per period); returns the steps."""
    steps = []
    t = start
    for ok in results:
        step = probe_step(
            worker,
            container_name="app",
            container_id=cid,
            running=True,
            seconds_since_start=t,
            started=started,
            run_probe=lambda ok=ok: (ok, "HTTP probe failed with statuscode: 500"),
        )
        steps.append(step)
        worker = step.worker
        t += period or worker.spec.period_seconds
    return steps


def test_readiness_needs_success_threshold_and_starts_failed():
    w = new_worker("readiness", {"successThreshold": 2, "periodSeconds": 5})
    assert w.result == "Failure"
    steps = run(w, [True, True])
    assert [s.worker.result for s in steps] == ["Failure", "Success"]


def test_failure_threshold_and_unhealthy_events():
    w = new_worker("readiness", {})
    steps = run(w, [True, False, False, False])
    assert [s.worker.result for s in steps] == ["Success", "Success", "Success", "Failure"]
    assert steps[1].events == (
        Event(
            "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500"
        ),
    )


def test_liveness_failure_restarts_and_holds_until_new_container():
    w = new_worker("liveness", {"failureThreshold": 2})
    steps = run(w, [False, False, False])
    assert [s.restart for s in steps] == [False, True, False]
    assert steps[1].events[-1] == Event(
        "Normal", "Killing", "Container app failed liveness probe, will be restarted"
    )
    assert steps[2].probed is False  # on hold
    resumed = probe_step(
        steps[2].worker,
        container_name="app",
        container_id="c2",
        running=True,
        seconds_since_start=10,
        started=True,
        run_probe=lambda: (True, ""),
    )
    assert resumed.probed and resumed.worker.result == "Success"


def test_initial_delay_and_startup_gating():
    w = new_worker("liveness", {"initialDelaySeconds": 15})
    assert not run(w, [False], start=14.9)[0].probed
    assert run(w, [False], start=15)[0].probed
    assert not run(new_worker("readiness", {}), [True], started=False)[0].probed
    startup = new_worker("startup", {"failureThreshold": 2, "periodSeconds": 1})
    assert startup.result == "Unknown"
    steps = run(startup, [False, True], started=False)
    assert steps[-1].worker.result == "Success"
    assert not run(steps[-1].worker, [False], started=True)[0].probed  # startup stops once started
    failing = run(new_worker("startup", {"failureThreshold": 2}), [False, False], started=False)
    assert failing[-1].restart
    assert failing[-1].events[-1].message == "Container app failed startup probe, will be restarted"


def test_not_running_and_deleting():
    w = new_worker("readiness", {})
    step = probe_step(
        w,
        container_name="a",
        container_id="c",
        running=False,
        seconds_since_start=0,
        started=False,
        run_probe=lambda: (True, ""),
    )
    assert step.worker.result == "Failure" and not step.probed
    live = new_worker("liveness", {})
    step = probe_step(
        live,
        container_name="a",
        container_id="c",
        running=True,
        seconds_since_start=99,
        started=True,
        deleting=True,
        run_probe=lambda: (False, ""),
    )
    assert step.worker.result == "Success" and not step.probed


def test_container_started_and_ready():
    ok_startup = new_worker("startup", {}).__class__(
        "startup", new_worker("startup", {}).spec, "Success"
    )
    ready = new_worker("readiness", {}).__class__(
        "readiness", new_worker("readiness", {}).spec, "Success"
    )
    assert container_started_and_ready(True, None, None) == (True, True)
    assert container_started_and_ready(True, new_worker("startup", {}), ready) == (False, False)
    assert container_started_and_ready(True, ok_startup, new_worker("readiness", {})) == (
        True,
        False,
    )
    assert container_started_and_ready(True, ok_startup, ready) == (True, True)
    assert container_started_and_ready(False, None, None) == (False, False)


# ------------------------------------------------------------------ pod phase and conditions


def cs(name, state, ready=False, last=None, started=None):
    s = {
        "name": name,
        "state": state,
        "ready": ready,
        "lastState": {"terminated": last} if last else {},
    }
    if started is not None:
        s["started"] = started
    return s


RUNNING = {"running": {"startedAt": "x"}}
WAITING = {"waiting": {"reason": "ContainerCreating"}}


def term(code):
    return {"terminated": {"exitCode": code}}


@pytest.mark.parametrize(
    "policy,states,phase",
    [
        ("Always", [RUNNING, RUNNING], "Running"),
        ("Always", [RUNNING, WAITING], "Pending"),
        ("Always", [term(0), term(1)], "Running"),
        ("Never", [term(0), term(0)], "Succeeded"),
        ("Never", [term(0), term(1)], "Failed"),
        ("OnFailure", [term(0), term(1)], "Running"),
        ("OnFailure", [term(0), term(0)], "Succeeded"),
        ("Always", [RUNNING, None], "Pending"),
    ],
)
def test_pod_phase(policy, states, phase):
    spec = {"restartPolicy": policy, "containers": [{"name": "a"}, {"name": "b"}]}
    statuses = [cs(n, s) for n, s in zip("ab", states) if s is not None]
    assert pod_phase(spec, [], statuses) == phase


def test_pod_phase_with_init_containers_and_crash_loop():
    spec = {"containers": [{"name": "a"}], "initContainers": [{"name": "i"}]}
    assert (
        pod_phase(spec, [cs("i", RUNNING)], [cs("a", {"waiting": {"reason": "PodInitializing"}})])
        == "Pending"
    )
    assert pod_phase(spec, [cs("i", term(0))], [cs("a", RUNNING)]) == "Running"
    spec_never = dict(spec, restartPolicy="Never")
    assert pod_phase(spec_never, [cs("i", term(1))], [cs("a", WAITING)]) == "Failed"
    crash = cs("a", {"waiting": {"reason": "CrashLoopBackOff"}}, last={"exitCode": 1})
    assert pod_phase({"containers": [{"name": "a"}]}, [], [crash]) == "Running"


def test_pod_conditions_messages():
    spec = {"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "i"}]}
    conds = {
        c["type"]: c
        for c in pod_conditions(spec, "Pending", [cs("i", RUNNING)], [cs("a", WAITING)])
    }
    assert conds["Initialized"] == {
        "type": "Initialized",
        "status": "False",
        "reason": "ContainersNotInitialized",
        "message": "containers with incomplete status: [i]",
    }
    assert (
        conds["ContainersReady"]["message"]
        == "containers with unknown status: [b], containers with unready status: [a]"
    )
    assert conds["Ready"]["reason"] == "ContainersNotReady"
    all_ready = [cs("a", RUNNING, ready=True), cs("b", RUNNING, ready=True)]
    conds = {c["type"]: c for c in pod_conditions(spec, "Running", [cs("i", term(0))], all_ready)}
    assert (
        conds["Ready"]["status"]
        == conds["ContainersReady"]["status"]
        == conds["Initialized"]["status"]
        == "True"
    )
    assert conds["PodReadyToStartContainers"]["status"] == "True"
    done = {
        c["type"]: c
        for c in pod_conditions(
            spec, "Succeeded", [cs("i", term(0))], [cs("a", term(0)), cs("b", term(0))]
        )
    }
    assert done["Ready"]["reason"] == "PodCompleted"


def test_readiness_gates():
    spec = {
        "containers": [{"name": "a"}],
        "readinessGates": [{"conditionType": "lb.example/ready"}],
    }
    conds = {
        c["type"]: c for c in pod_conditions(spec, "Running", [], [cs("a", RUNNING, ready=True)])
    }
    assert conds["Ready"] == {
        "type": "Ready",
        "status": "False",
        "reason": "ReadinessGatesNotReady",
        "message": 'corresponding condition of pod readiness gate "lb.example/ready" does not exist.',
    }
    ok = [{"type": "lb.example/ready", "status": "True"}]
    conds = {
        c["type"]: c
        for c in pod_conditions(
            spec, "Running", [], [cs("a", RUNNING, ready=True)], existing_conditions=ok
        )
    }
    assert conds["Ready"]["status"] == "True"


def test_update_conditions_keeps_transition_time():
    first = update_conditions([], [{"type": "Ready", "status": "False"}], at(0))
    same = update_conditions(first, [{"type": "Ready", "status": "False"}], at(5))
    assert same[0]["lastTransitionTime"] == "2026-03-01T12:00:00Z"
    flipped = update_conditions(same, [{"type": "Ready", "status": "True"}], at(9))
    assert flipped[0]["lastTransitionTime"] == "2026-03-01T12:00:09Z"
    kept = update_conditions(
        [{"type": "PodScheduled", "status": "True"}], [{"type": "Ready", "status": "True"}], at(1)
    )
    assert [c["type"] for c in kept] == ["PodScheduled", "Ready"]


# ------------------------------------------------------------------ simulated behaviour


def test_behaviour_from_annotations_env_and_per_container_override():
    pod = {
        "metadata": {
            "annotations": {
                "sim.shiplane.dev/exit-after": "30s",
                "sim.shiplane.dev/exit-code": "3",
                "sim.shiplane.dev/readiness-fail-for": "always",
                "sim.shiplane.dev/exit-after.side": "1m30s",
            }
        }
    }
    web = {
        "name": "web",
        "env": [
            {"name": "SHIPLANE_SIM_LIVENESS_FAIL_AFTER", "value": "45"},
            {"name": "SHIPLANE_SIM_EXIT_AFTER", "value": "5"},
        ],
    }
    b = behaviour_for(pod, web)
    assert (b.exit_after, b.exit_code, b.liveness_fail_after) == (
        30.0,
        3,
        45.0,
    )  # annotation beats env
    assert not b.readiness_ok(10**9)
    assert not b.liveness_ok(45) and b.liveness_ok(44.9)
    assert behaviour_for(pod, {"name": "side"}).exit_after == 90.0
    plain = behaviour_for({"metadata": {}}, {"name": "x"})
    assert (
        plain.exits_at() is None
        and plain.readiness_ok(0)
        and plain.startup_ok(0)
        and plain.start_delay == 0
    )


def test_behaviour_errors_name_the_problem():
    with pytest.raises(InvalidBehaviour, match="exit-after: 'soon'"):
        behaviour_for(
            {"metadata": {"annotations": {"sim.shiplane.dev/exit-after": "soon"}}}, {"name": "a"}
        )
    with pytest.raises(InvalidBehaviour, match="unknown simulated-container setting"):
        behaviour_for(
            {"metadata": {"annotations": {"sim.shiplane.dev/explode": "1"}}}, {"name": "a"}
        )
    with pytest.raises(InvalidBehaviour, match="exit-code"):
        behaviour_for(
            {"metadata": {"annotations": {"sim.shiplane.dev/exit-code": "x"}}}, {"name": "a"}
        )
    assert parse_seconds("1h2m3s") == 3723 and parse_seconds("2.5") == 2.5
