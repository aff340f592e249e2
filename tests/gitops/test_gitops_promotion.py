import subprocess

import pytest

from shiplane.gitops import GateRefused, PromotionError
from shiplane.gitops.gates import GateFacts, evaluate_gates
from shiplane.gitops.promotion import (
    approve,
    audit,
    commit_promotion,
    copy_keys,
    list_pending,
    plan_promotion,
    reject,
)
from shiplane.scaffold import set_image

OK = {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}


def _git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def _passing(tag, target="staging", **extra):
    facts = dict(tag=tag, target_environment=target, author="alice", source_status=OK,
                 source_tag_at_synced_revision=tag, pipeline_passed=True)
    facts.update(extra)
    return evaluate_gates(GateFacts(**facts))


def test_copy_keys_preserves_comments_quotes_and_other_keys():
    source = 'image:\n  repository: r/app\n  tag: "0123456"\n  digest: sha256:abc\nreplicaCount: 1\n'
    target = ("# staging values\nreplicaCount: 3  # keep\nimage:\n  repository: r/app\n"
              "  tag: '1.0'\n")
    text, changes = copy_keys(source, target, ["image.tag", "image.digest", "missing.key"])
    assert text == ('# staging values\nreplicaCount: 3  # keep\nimage:\n  repository: r/app\n'
                    '  tag: "0123456"\n  digest: "sha256:abc"\n')
    assert changes == {"image.tag": ("1.0", "0123456"), "image.digest": (None, "sha256:abc")}
    assert copy_keys(source, text, ["image.tag"])[1] == {}


def test_gates_pass_and_each_failure_is_explained():
    assert all(g.passed for g in _passing("1.4.0"))
    cases = [
        (dict(source_status={}), "source-synced", "no status known"),
        (dict(source_status={**OK, "health": {"status": "Degraded"}}), "source-synced",
         "Synced/Degraded"),
        (dict(source_tag_at_synced_revision="1.3.0"), "source-synced", "tag '1.3.0', not"),
        (dict(pipeline_passed=None), "pipeline-passed", "no pipeline result for tag 1.4.0"),
        (dict(pipeline_passed=False), "pipeline-passed", "pipeline failed"),
        (dict(policy_violations=["[immutable-tags] Deployment/x ..."]), "target-policies",
         "immutable-tags"),
    ]
    for changes, gate, text in cases:
        failed = [g for g in _passing("1.4.0", **changes) if not g.passed]
        assert [g.name for g in failed] == [gate] and text in failed[0].detail


def test_prod_needs_approval_from_someone_else():
    def approval(**extra):
        return next(g for g in _passing("1.4.0", target="prod", **extra) if g.name == "approval")

    assert not approval().passed and "someone other than alice" in approval().detail
    assert not approval(approvers=["alice"]).passed
    assert approval(approvers=["alice", "bob"]).passed
    assert approval(approvers=["bob"]).detail == "approved by bob"
    assert next(g for g in _passing("1", target="staging") if g.name == "approval").passed


def test_direct_promotion_commits_with_trailers(platform_root):
    set_image("payment-service", environment="dev", tag="1.4.0", directory=platform_root)
    promotion = plan_promotion(platform_root, "payment-service", "dev", "staging")
    assert promotion.tag == "1.4.0" and promotion.changes == {"image.tag": ("staging", "1.4.0")}
    before = (platform_root / "staging/payment-service/values.yaml").read_text()
    commit = commit_promotion(platform_root, promotion, _passing("1.4.0"), author="alice",
                              on_branch=False)
    after = (platform_root / "staging/payment-service/values.yaml").read_text()
    assert after == before.replace('tag: "staging"', 'tag: "1.4.0"')
    log = _git(platform_root, "log", "-1", "--format=%H%n%B")
    assert log.startswith(commit) and "promote payment-service 1.4.0: dev -> staging" in log
    assert f"Source-Revision: {promotion.source_revision}" in log and "Promoted-by: alice" in log
    assert _git(platform_root, "status", "--porcelain") == ""
    with pytest.raises(PromotionError, match="already runs payment-service 1.4.0"):
        plan_promotion(platform_root, "payment-service", "dev", "staging")


def test_refused_promotion_writes_nothing(platform_root):
    set_image("payment-service", environment="dev", tag="1.5.0", directory=platform_root)
    promotion = plan_promotion(platform_root, "payment-service", "dev", "staging")
    head = _git(platform_root, "rev-parse", "HEAD")
    with pytest.raises(GateRefused, match="FAIL pipeline-passed") as caught:
        commit_promotion(platform_root, promotion, _passing("1.5.0", pipeline_passed=False),
                         author="alice", on_branch=False)
    assert len(caught.value.gates) == 4
    assert _git(platform_root, "rev-parse", "HEAD") == head
    assert _git(platform_root, "status", "--porcelain") == ""


def test_branch_promotion_list_approve_reject_and_audit(platform_root):
    set_image("payment-service", environment="staging", tag="1.6.0", directory=platform_root)
    promotion = plan_promotion(platform_root, "payment-service", "staging", "prod")
    # approval is what the branch waits for; other gates must already pass
    commit_promotion(platform_root, promotion, _passing("1.6.0", target="prod"),
                     author="alice", on_branch=True)
    assert "1.6.0" not in (platform_root / "prod/payment-service/values.yaml").read_text()
    assert _git(platform_root, "show", f"{promotion.branch}:prod/payment-service/values.yaml") \
        == promotion.new_text
    pending = list_pending(platform_root)
    assert [(p.branch, p.service, p.target, p.tag, p.author) for p in pending] == [
        ("promote/payment-service/prod/1.6.0", "payment-service", "prod", "1.6.0", "alice")]
    with pytest.raises(PromotionError, match="already exists"):
        commit_promotion(platform_root, promotion, _passing("1.6.0", target="prod"),
                         author="alice", on_branch=True)
    with pytest.raises(GateRefused, match="cannot approve it too"):
        approve(platform_root, promotion.branch, approver="alice")
    landed = approve(platform_root, promotion.branch, approver="bob")
    assert 'tag: "1.6.0"' in (platform_root / "prod/payment-service/values.yaml").read_text()
    assert list_pending(platform_root) == []
    assert "Approved-by: bob" in _git(platform_root, "log", "-1", "--format=%B")

    set_image("payment-service", environment="staging", tag="1.7.0", directory=platform_root)
    second = plan_promotion(platform_root, "payment-service", "staging", "prod")
    commit_promotion(platform_root, second, _passing("1.7.0", target="prod"), author="alice",
                     on_branch=True)
    assert reject(platform_root, second.branch, reviewer="bob").tag == "1.7.0"
    assert list_pending(platform_root) == []
    with pytest.raises(PromotionError, match="no pending promotion"):
        approve(platform_root, second.branch, approver="bob")

    entries = audit(platform_root, "payment-service",
                    history={"payment-service-prod": [{"revisions": ["x", landed],
                                                       "deployedAt": "2026-11-25T12:00:00Z"}]})
    top = [(e.environment, e.tag, e.by, e.source, e.approved_by) for e in entries[:3]]
    ci = _git(platform_root, "log", "-1", "--format=%an", entries[0].commit).strip()
    assert top == [("staging", "1.7.0", ci, "", ""),
                   ("prod", "1.6.0", "alice", "staging", "bob"),
                   ("staging", "1.6.0", ci, "", "")]
    assert entries[1].deployed_at == "2026-11-25T12:00:00Z" and entries[1].commit == landed
    assert audit(platform_root, "other-service") == []


def test_promotion_errors(platform_root):
    with pytest.raises(PromotionError, match="to itself"):
        plan_promotion(platform_root, "payment-service", "dev", "dev")
    with pytest.raises(PromotionError, match="qa/payment-service/values.yaml is not in"):
        plan_promotion(platform_root, "payment-service", "dev", "qa")


def test_pipeline_verdict_from_run_records():
    from shiplane.gitops.gates import pipeline_verdict
    from shiplane.pipeline import RunRecord, RunStatus
    from shiplane.pipeline.records import Trigger

    def run(id_, status, tags):
        return RunRecord("svc", "dev", 2, Trigger.MANUAL, "src", id=id_, status=status,
                         image_tags=tags)

    runs = [run(3, RunStatus.RUNNING, ["1.5.0"]), run(2, RunStatus.FAILED, ["1.4.0"]),
            run(1, RunStatus.SUCCEEDED, ["1.4.0", "sha-abc"])]
    assert pipeline_verdict(runs, "1.4.0") == (False, "run 2 failed")
    assert pipeline_verdict(runs, "sha-abc") == (True, "run 1 succeeded")
    assert pipeline_verdict(runs, "1.5.0")[0] is None
    assert pipeline_verdict([], "x") == (None, "no finished pipeline run built x")

