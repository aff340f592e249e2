from pathlib import Path

import pytest
import yaml

from shiplane.gitops import ApplicationInvalid, load_documents, parse_application, parse_project
from shiplane.gitops.project import project_problems, resource_permitted
from shiplane.scaffold import app_project, application


def _app(**changes):
    doc = application("payment-service", "dev", project="plat",
                      service_repo="https://git.example/payment-service.git",
                      platform_repo="https://git.example/plat.git", namespace="payments-dev")
    doc["spec"].update(changes)
    return doc


def test_parses_the_scaffolded_multi_source_application():
    app = parse_application(_app())
    assert app.name == "payment-service-dev" and app.project == "plat"
    assert app.multi_source and len(app.sources) == 2
    chart, values = app.sources
    assert chart.path == "helm" and chart.helm.release_name == "payment-service"
    assert chart.helm.value_files == ("values-dev.yaml", "$values/dev/payment-service/values.yaml")
    assert values.ref == "values" and app.chart_sources == (chart,)
    assert app.destination.namespace == "payments-dev" and app.destination.server
    policy = app.sync_policy
    assert policy.automated and policy.prune and policy.self_heal and not policy.allow_empty
    assert policy.option("CreateNamespace") and policy.option("ServerSideApply")
    assert not policy.option("PruneLast")
    assert (policy.retry.limit, policy.retry.duration, policy.retry.factor,
            policy.retry.max_duration) == (5, "5s", 2.0, "3m")


def test_prod_has_no_automated_sync():
    doc = application("a", "prod", project="p", service_repo="r", platform_repo="q",
                      namespace="n")
    assert not parse_application(doc).sync_policy.automated


def test_automated_enabled_false_switches_it_off():
    doc = _app()
    doc["spec"]["syncPolicy"]["automated"]["enabled"] = False
    assert not parse_application(doc).sync_policy.automated


def test_single_source_with_helm_parameters_and_values_object():
    doc = _app()
    del doc["spec"]["sources"]
    doc["spec"]["source"] = {"repoURL": "r", "path": "chart", "helm": {
        "parameters": [{"name": "image.tag", "value": "123", "forceString": True},
                       {"name": "replicaCount", "value": 2}],
        "valuesObject": {"a": 1}, "values": "b: 2\n"}}
    app = parse_application(doc)
    assert not app.multi_source and app.sources[0].target_revision == "HEAD"
    helm = app.sources[0].helm
    assert [(p.name, p.value, p.force_string) for p in helm.parameters] == [
        ("image.tag", "123", True), ("replicaCount", "2", False)]
    assert helm.values_object == {"a": 1} and helm.values == "b: 2\n"


def test_every_problem_is_reported_with_its_field_path():
    doc = _app(destination={"server": "s", "name": "n"}, source={"repoURL": "x"})
    doc["spec"]["project"] = ""
    doc["spec"]["syncPolicy"]["syncOptions"].append("Bogus=true")
    doc["spec"]["syncPolicy"]["automated"]["prune"] = "yes"
    with pytest.raises(ApplicationInvalid) as caught:
        parse_application(doc)
    text = str(caught.value)
    for expected in ("spec.project is required", "exactly one of spec.source and spec.sources",
                     "exactly one of server and name", "'Bogus=true' is not a known",
                     "spec.syncPolicy.automated.prune must be a bool",
                     "payment-service-dev"):
        assert expected in text


def test_values_reference_needs_a_ref_source():
    doc = _app()
    doc["spec"]["sources"][0]["helm"]["valueFiles"].append("$other/x.yaml")
    with pytest.raises(ApplicationInvalid, match=r"spec.sources\[0\].helm.valueFiles\[2\] "
                       r"'\$other/x.yaml' needs a source with ref: other"):
        parse_application(doc)


def test_wrong_kind_and_api_version():
    with pytest.raises(ApplicationInvalid, match="apiVersion must be argoproj.io/v1alpha1"):
        parse_application({**_app(), "apiVersion": "v1"})
    with pytest.raises(ApplicationInvalid, match="not a YAML map"):
        parse_application(["x"])


def test_ignore_differences_parsed_and_pointer_checked():
    app = parse_application(_app(ignoreDifferences=[
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"],
         "jqPathExpressions": [".spec.x"], "managedFieldsManagers": ["kube-controller"]}]))
    rule = app.ignore_differences[0]
    assert rule.json_pointers == ("/spec/replicas",)
    assert rule.matches({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}})
    assert not rule.matches({"apiVersion": "v1", "kind": "Deployment", "metadata": {}})
    with pytest.raises(ApplicationInvalid, match="must start with /"):
        parse_application(_app(ignoreDifferences=[{"kind": "X", "jsonPointers": ["spec"]}]))


def test_project_whitelists_with_globs_and_denials():
    project = parse_project(app_project(
        "plat", source_repos=["https://git.example/*", "!https://git.example/secret*"],
        destinations={"dev": "payments-*"}))
    app = parse_application(_app())
    assert project_problems(app, project) == []
    ok = parse_application(_app(destination={"server": "https://kubernetes.default.svc",
                                              "namespace": "payments-x"}))
    # the scaffold lists exact namespaces; a glob destination needs an explicit entry
    project2 = parse_project({"kind": "AppProject", "metadata": {"name": "plat"}, "spec": {
        "sourceRepos": ["https://git.example/*", "!https://git.example/plat.git"],
        "destinations": [{"server": "*", "namespace": "payments-*"}]}})
    problems = project_problems(ok, project2)
    assert problems == ["source repo https://git.example/plat.git is not permitted in project "
                        "plat (sourceRepos: https://git.example/*, !https://git.example/plat.git)"]
    outside = parse_application(_app(destination={"name": "prod-cluster", "namespace": "kube-system"}))
    assert any("prod-cluster namespace 'kube-system' is not permitted" in p
               for p in project_problems(outside, project2))
    assert resource_permitted(project2, "apps", "Deployment", namespaced=True)
    assert not resource_permitted(project2, "", "Namespace", namespaced=False)


def test_load_documents_from_a_scaffolded_platform_repo(tmp_path: Path):
    from shiplane.scaffold import init_platform
    repo = init_platform("plat", environments=["dev", "staging", "prod"],
                         services=["payment-service", "orders"], directory=tmp_path)
    apps, projects = load_documents((repo.path / "argocd-apps").glob("*.yaml"))
    assert sorted(a.name for a in apps) == sorted(
        f"{s}-{e}" for s in ("payment-service", "orders") for e in ("dev", "staging", "prod"))
    assert [p.name for p in projects] == ["plat"]
    for app in apps:
        assert project_problems(app, projects[0]) == []


def test_load_documents_rejects_duplicates_and_bad_yaml(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(_app()))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(_app()))
    with pytest.raises(ApplicationInvalid, match="duplicate Application names: payment-service-dev"):
        load_documents(tmp_path.glob("*.yaml"))
    (tmp_path / "b.yaml").write_text("a: [")
    with pytest.raises(ApplicationInvalid, match="b.yaml: cannot read YAML"):
        load_documents(tmp_path.glob("*.yaml"))
