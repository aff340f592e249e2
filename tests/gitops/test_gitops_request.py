"""``request``: the Application's ``operation`` field as data (pure), after argo-cd
``pkg/apis/application/v1alpha1/types.go`` ``SyncOperation`` / ``SyncOperationResource``
and ``util/argo/argo.go`` ``SetAppOperation``."""

from __future__ import annotations

import pytest

from shiplane.gitops import ApplicationInvalid, SyncPolicy
from shiplane.gitops.request import IN_PROGRESS, in_progress, parse_request, selected
from shiplane.gitops.status import OperationState


def test_argocd_app_sync_request_is_read_as_written():
    request = parse_request({
        "sync": {"revision": "v1.2.0", "prune": True, "dryRun": True,
                 "syncStrategy": {"apply": {"force": False}},
                 "syncOptions": ["PruneLast=true", "CreateNamespace=true"]},
        "initiatedBy": {"username": "alice"}, "info": [{"name": "why", "value": "fix"}],
        "retry": {"limit": 2}})
    assert request.initiated_by == "alice" and request.revisions == {0: "v1.2.0"}
    assert request.prune and request.dry_run and request.apply_only and request.skip_hooks
    assert not request.partial
    policy = request.policy(SyncPolicy(automated=True, options={"ServerSideApply": "true"}))
    assert policy.options == {"PruneLast": "true", "CreateNamespace": "true"}
    assert policy.automated  # only the options are the operation's


def test_multi_source_revisions_and_defaults():
    request = parse_request({"sync": {"revisions": ["", "abc123"]},
                             "initiatedBy": {"automated": True}})
    assert request.revisions == {1: "abc123"}  # empty: the source's targetRevision
    assert request.initiated_by == "automated"
    assert not (request.prune or request.dry_run or request.skip_hooks)
    policy = SyncPolicy(options={"PruneLast": "true"})
    assert request.policy(policy) is policy  # no syncOptions given: the app's


@pytest.mark.parametrize("operation, message", [
    ({}, "Invalid operation request: no operation specified"),
    ({"initiatedBy": {"username": "x"}}, "no operation specified"),
    ({"sync": {"resources": [{"kind": "Service"}]}}, "needs kind and name"),
    ({"sync": {"syncOptions": ["Prune"]}}, "is not Key=value"),
    ({"sync": {"manifests": ["kind: ConfigMap"]}}, "local sync"),
])
def test_malformed_requests_are_refused(operation, message):
    with pytest.raises(ApplicationInvalid, match=message):
        parse_request(operation)


def test_partial_sync_selects_by_identity():
    request = parse_request({"sync": {"resources": [
        {"group": "apps", "kind": "Deployment", "name": "web"},
        {"kind": "ConfigMap", "name": "cfg", "namespace": "prod"}]}})
    assert request.partial and request.skip_hooks
    assert selected(("apps", "Deployment", "any-ns", "web"), request.resources)
    assert selected(("", "ConfigMap", "prod", "cfg"), request.resources)
    assert not selected(("", "ConfigMap", "dev", "cfg"), request.resources)
    assert not selected(("", "Deployment", "prod", "web"), request.resources)  # group differs
    assert selected(("", "Service", "prod", "x"), ())  # nothing listed: everything


def test_in_progress_is_a_requested_or_unfinished_operation():
    assert IN_PROGRESS == "another operation is already in progress"
    assert not in_progress({}, None)
    assert not in_progress({"operationState": {"phase": "Succeeded"}}, None)
    assert not in_progress({"operationState": {"phase": "Failed"}}, {})
    assert in_progress({"operationState": {"phase": "Running"}}, None)
    assert in_progress({"operationState": {"phase": "Terminating"}}, None)
    assert in_progress({}, {"sync": {}})


def test_operation_state_records_the_request_and_round_trips():
    requested = {"sync": {"revision": "main", "dryRun": True},
                 "initiatedBy": {"username": "alice"}, "info": [{"name": "a", "value": "b"}]}
    state = OperationState("Running", "", "t0", "", ("sha1",), "alice", prune=False,
                           request=requested)
    status = state.to_status()
    assert status["operation"] == {
        "sync": {"revision": "main", "dryRun": True, "revisions": ["sha1"], "prune": False},
        "initiatedBy": {"username": "alice"}, "info": [{"name": "a", "value": "b"}]}
    again = OperationState.from_status({"operationState": status})
    assert again is not None and again.to_status() == status
    assert parse_request(again.request or {}).dry_run
