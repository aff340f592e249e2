import copy
from pathlib import Path

import pytest
import yaml

from shiplane.policy import (
    RULES,
    PolicyFileInvalid,
    blocking,
    evaluate,
    load_policy,
    parse_policy,
    selector_matches,
    split_image,
)


def _good():
    labels = {"app": "web"}
    container = {
        "name": "web", "image": "registry.example.com/team/web:1.2.0",
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                      "limits": {"cpu": "200m", "memory": "128Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
        "securityContext": {"privileged": False}}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
         "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
             "metadata": {"labels": labels},
             "spec": {"securityContext": {"runAsNonRoot": True}, "containers": [container]}}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
         "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "web"}, "spec": {"podSelector": {"matchLabels": labels}}},
    ]


def _all_on(**options):
    rules = {name: {"severity": "error", **options.get(name, {})} for name in RULES}
    return parse_policy({"kind": "PlatformPolicy", "rules": rules})


def _container(manifests):
    return manifests[0]["spec"]["template"]["spec"]["containers"][0]


REGISTRIES = {"allowed-registries": {"registries": ["registry.example.com"]}}


def test_a_well_formed_workload_passes_everything_but_digests():
    violations = evaluate(_good(), _all_on(**REGISTRIES), "prod")
    assert [v.rule for v in violations] == ["prefer-digests"]


@pytest.mark.parametrize(("mutate", "rule", "field"), [
    (lambda m: _container(m)["resources"]["limits"].pop("cpu"), "resources-set",
     "spec.template.spec.containers[0].resources.limits.cpu"),
    (lambda m: _container(m).pop("resources"), "resources-set",
     "spec.template.spec.containers[0].resources.requests.cpu"),
    (lambda m: _container(m).pop("readinessProbe"), "probes-set",
     "spec.template.spec.containers[0].readinessProbe"),
    (lambda m: _container(m).pop("livenessProbe"), "probes-set",
     "spec.template.spec.containers[0].livenessProbe"),
    (lambda m: _container(m).update(image="registry.example.com/team/web:latest"),
     "immutable-tags", "spec.template.spec.containers[0].image"),
    (lambda m: _container(m).update(image="registry.example.com/team/web"),
     "immutable-tags", "spec.template.spec.containers[0].image"),
    (lambda m: _container(m).update(image="docker.io/library/nginx:1.25"),
     "allowed-registries", "spec.template.spec.containers[0].image"),
    (lambda m: m.pop(1), "pdb-when-replicated", "spec.replicas"),
    (lambda m: m.pop(2), "network-policy", "spec.template.metadata.labels"),
    (lambda m: m[0]["spec"]["template"]["spec"].pop("securityContext"), "run-as-non-root",
     "spec.template.spec.containers[0].securityContext.runAsNonRoot"),
    (lambda m: _container(m)["securityContext"].update(privileged=True), "no-privileged",
     "spec.template.spec.containers[0].securityContext.privileged"),
])
def test_each_rule_names_resource_and_field(mutate, rule, field):
    manifests = copy.deepcopy(_good())
    mutate(manifests)
    found = [v for v in evaluate(manifests, _all_on(**REGISTRIES), "prod") if v.rule == rule]
    assert found, rule
    assert found[0].resource == "Deployment/web" and found[0].field == field
    assert str(found[0]).startswith(f"[{rule}] Deployment/web {field}: ")


def test_pdb_counts_hpa_min_replicas_and_single_replica_needs_none():
    manifests = copy.deepcopy(_good())
    manifests.pop(1)
    manifests[0]["spec"]["replicas"] = 1
    policy = _all_on(**REGISTRIES)
    assert not [v for v in evaluate(manifests, policy, "x") if v.rule == "pdb-when-replicated"]
    manifests.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                      "metadata": {"name": "web"}, "spec": {
                          "scaleTargetRef": {"kind": "Deployment", "name": "web"},
                          "minReplicas": 3}})
    found = [v for v in evaluate(manifests, policy, "x") if v.rule == "pdb-when-replicated"]
    assert found[0].message == "3 replicas and no PodDisruptionBudget selects its pods"


def test_container_level_non_root_and_jobs_need_no_probes():
    job = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
           "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
               {"name": "c", "image": "registry.example.com/x:1",
                "securityContext": {"runAsNonRoot": True}}]}}}}}}
    found = evaluate([job], _all_on(**REGISTRIES), "prod")
    assert {v.rule for v in found} == {"resources-set", "prefer-digests"}
    assert found[0].field.startswith("spec.jobTemplate.spec.template.spec.containers[0]")


def test_digests_satisfy_both_tag_rules():
    manifests = copy.deepcopy(_good())
    _container(manifests)["image"] = "registry.example.com/team/web@sha256:" + "a" * 64
    assert evaluate(manifests, _all_on(**REGISTRIES), "prod") == []


def test_split_image():
    assert split_image("nginx") == ("docker.io", "nginx", None, None)
    assert split_image("localhost:5000/a/b:1@sha256:x") == ("localhost:5000", "a/b", "1",
                                                            "sha256:x")
    assert split_image("team/app:2") == ("docker.io", "team/app", "2", None)


def test_selectors():
    labels = {"app": "web", "tier": "front"}
    assert selector_matches({}, labels) and selector_matches(None, labels)
    assert selector_matches({"matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["front"]},
        {"key": "x", "operator": "DoesNotExist"}, {"key": "app", "operator": "Exists"},
        {"key": "app", "operator": "NotIn", "values": ["db"]}]}, labels)
    assert not selector_matches({"matchLabels": {"app": "db"}}, labels)
    assert not selector_matches({"matchExpressions": [
        {"key": "app", "operator": "NotIn", "values": ["web"]}]}, labels)


def test_environments_override_and_only_errors_block():
    policy = load_policy(None)  # the default policy
    manifests = copy.deepcopy(_good())
    _container(manifests)["image"] = "registry.example.com/team/web:latest"
    assert [v.rule for v in evaluate(manifests, policy, "dev")] == []
    prod = evaluate(manifests, policy, "prod")
    assert {v.rule for v in prod} == {"immutable-tags", "prefer-digests"}
    assert [v.rule for v in blocking(prod)] == ["immutable-tags"]
    assert policy.promotion_keys == ("image.tag", "image.digest")


def test_policy_file_errors(tmp_path: Path):
    with pytest.raises(PolicyFileInvalid, match="unknown rule 'no-latest'"):
        parse_policy({"kind": "PlatformPolicy", "rules": {"no-latest": "error"}})
    with pytest.raises(PolicyFileInvalid, match="severity 'fatal' is not one of"):
        parse_policy({"kind": "PlatformPolicy", "environments": {"prod": {
            "probes-set": "fatal"}}})
    with pytest.raises(PolicyFileInvalid, match="kind: PlatformPolicy"):
        parse_policy({"rules": {}})
    path = tmp_path / "policies.yaml"
    path.write_text("kind: [")
    with pytest.raises(PolicyFileInvalid, match="cannot read YAML"):
        load_policy(path)
    path.write_text(yaml.safe_dump({"kind": "PlatformPolicy", "rules": {
        "probes-set": "off", "allowed-registries": {"registries": ["r.io"]}}}))
    policy = load_policy(path)
    assert list(policy.settings_for("dev")) == ["allowed-registries"]
    assert policy.rules["allowed-registries"].options == {"registries": ["r.io"]}
