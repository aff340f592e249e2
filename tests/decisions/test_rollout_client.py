"""kubectl rollout status / undo (k8s staging/src/k8s.io/kubectl/pkg/polymorphichelpers/
rollout_status_test.go TestDeploymentStatusViewerStatus and rollback.go)."""

import pytest
from k8s_objects import deployment, replicaset, template

from shiplane.cluster.decisions import deployment_util as du
from shiplane.cluster.decisions.rollout_client import (
    RollbackError,
    RolloutStatusError,
    plan_rollback,
    rollout_status,
)


def with_status(generation=1, observed=1, replicas=1, updated=1, total=1, available=1, reason=None):
    d = deployment(name="foo", replicas=replicas, generation=generation)
    d["status"] = {
        "observedGeneration": observed,
        "replicas": total,
        "updatedReplicas": updated,
        "availableReplicas": available,
        "conditions": [],
    }
    if reason:
        d["status"]["conditions"].append(
            {"type": "Progressing", "status": "False", "reason": reason}
        )
    return d


@pytest.mark.parametrize(
    "kwargs,message,done",
    [
        (
            dict(replicas=1, updated=0, total=1, available=1),
            'Waiting for deployment "foo" rollout to finish: 0 out of 1 new replicas have been updated...',
            False,
        ),
        (
            dict(replicas=1, updated=1, total=2, available=1),
            'Waiting for deployment "foo" rollout to finish: 1 old replicas are pending termination...',
            False,
        ),
        (
            dict(replicas=2, updated=2, total=2, available=1),
            'Waiting for deployment "foo" rollout to finish: 1 of 2 updated replicas are available...',
            False,
        ),
        (
            dict(replicas=2, updated=2, total=2, available=2),
            'deployment "foo" successfully rolled out',
            True,
        ),
        (
            dict(generation=2, observed=1),
            "Waiting for deployment spec update to be observed...",
            False,
        ),
    ],
)
def test_rollout_status_messages(kwargs, message, done):
    status = rollout_status(with_status(**kwargs))
    assert (status.message, status.done) == (message, done)


def test_rollout_status_fails_after_progress_deadline():
    with pytest.raises(RolloutStatusError, match='deployment "foo" exceeded its progress deadline'):
        rollout_status(with_status(updated=0, reason="ProgressDeadlineExceeded"))


def test_rollout_status_revision_mismatch():
    d = with_status()
    d["metadata"]["annotations"] = {du.REVISION_ANNOTATION: "3"}
    with pytest.raises(
        RolloutStatusError,
        match=r"desired revision \(2\) is different from the running revision \(3\)",
    ):
        rollout_status(d, revision=2)
    assert rollout_status(d, revision=3).done


def history():
    d = deployment(replicas=2, image="web:3")
    d["metadata"]["annotations"] = {
        du.REVISION_ANNOTATION: "3",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    rs = []
    for rev, image in ((1, "web:1"), (2, "web:2"), (3, "web:3")):
        t = template(image)
        t["metadata"]["labels"]["pod-template-hash"] = f"h{rev}"
        r = replicaset(
            f"web-h{rev}", t, 2 if rev == 3 else 0, revision=rev, desired=2, max_replicas=3
        )
        r["metadata"]["annotations"]["note"] = f"from {rev}"
        rs.append(r)
    return d, rs


def test_undo_goes_to_the_previous_revision_with_a_json_patch():
    d, rss = history()
    decision = plan_rollback(d, rss)
    assert decision.message == "rolled back" and decision.target_revision == 2
    template_op, annotations_op = decision.patch
    assert template_op["op"] == "replace" and template_op["path"] == "/spec/template"
    assert template_op["value"] == template("web:2")  # hash label removed
    assert annotations_op == {
        "op": "replace",
        "path": "/metadata/annotations",
        "value": {
            du.REVISION_ANNOTATION: "3",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "note": "from 2",
        },
    }


def test_undo_to_a_specific_revision_and_errors():
    d, rss = history()
    assert plan_rollback(d, rss, to_revision=1).patch[0]["value"] == template("web:1")
    with pytest.raises(RollbackError, match="unable to find specified revision 7 in history"):
        plan_rollback(d, rss, to_revision=7)
    with pytest.raises(RollbackError, match='no rollout history found for deployment "web"'):
        plan_rollback(d, rss[2:])
    assert (
        plan_rollback(d, rss, to_revision=3).message
        == "skipped rollback (current template already matches revision 3)"
    )
    d["spec"]["paused"] = True
    with pytest.raises(
        RollbackError,
        match="you cannot rollback a paused deployment; resume it first with "
        "'kubectl rollout resume deployment/web' and try again",
    ):
        plan_rollback(d, rss)
