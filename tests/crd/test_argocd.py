"""shiplane's Argo CD CRDs: documented Application/AppProject manifests validate; bad ones
are refused with upstream-shaped messages."""

import copy
from pathlib import Path

import pytest
import yaml

from shiplane.cluster.crd import (
    CustomResourceInvalid,
    admit_custom_resource,
    api_resources,
    argocd_crd_infos,
    argocd_crds,
    parse_crd,
    validate_crd,
)
from shiplane.cluster.openapi import FieldValidationFailed

MANIFESTS = Path(__file__).parent / "manifests"


@pytest.fixture(scope="module")
def infos():
    return {info.kind: info for info in argocd_crd_infos()}


def load(name):
    return yaml.safe_load((MANIFESTS / name).read_text())


def test_crds_match_argo_cd_names_and_are_valid():
    for crd in argocd_crds():
        assert validate_crd(crd) == []
    app, project = (parse_crd(c) for c in argocd_crds())
    assert (app.group, app.kind, app.plural, app.short_names) == (
        "argoproj.io", "Application", "applications", ("app", "apps"))
    assert (project.kind, project.plural, project.short_names) == ("AppProject", "appprojects", ("appproj", "appprojs"))
    assert app.namespaced and project.namespaced
    assert app.storage_version.name == "v1alpha1" and app.storage_version.status_subresource
    assert [c.name for c in app.storage_version.printer_columns] == ["Sync Status", "Health Status", "Revision", "Project"]


@pytest.mark.parametrize("name", ["application-full.yaml", "application-minimal.yaml",
                                  "application-multisource.yaml", "appproject.yaml"])
def test_documented_manifests_validate_strictly(infos, name):
    obj = load(name)
    stored, warnings = admit_custom_resource(obj, infos[obj["kind"]], "v1alpha1", field_validation="Strict")
    assert warnings == []
    assert stored == obj  # nothing pruned, no defaults in these schemas


BAD_APPLICATIONS = [
    (lambda a: a["spec"].pop("project"), "spec.project: Required value"),
    (lambda a: a["spec"].pop("destination"), "spec.destination: Required value"),
    (lambda a: a["spec"]["source"].pop("repoURL"), "spec.source.repoURL: Required value"),
    (lambda a: a["spec"]["syncPolicy"].update(retry={"limit": "five"}),
     'spec.syncPolicy.retry.limit: Invalid value: "string": spec.syncPolicy.retry.limit in body '
     'must be of type integer: "string"'),
    (lambda a: a["spec"].update(sources=[{"path": "x"}]), "spec.sources[0].repoURL: Required value"),
    (lambda a: a["spec"].update(info=[{"name": "only"}]), "spec.info[0].value: Required value"),
    (lambda a: a["spec"].update(syncPolicy={"syncOptions": "CreateNamespace=true"}),
     'spec.syncPolicy.syncOptions: Invalid value: "string": spec.syncPolicy.syncOptions in body must be of type array: "string"'),
    (lambda a: a["spec"].update(sourceHydrator={"drySource": {"repoURL": "r", "targetRevision": "t", "path": "p"},
                                                "syncSource": {"targetBranch": "b", "path": "."}}),
     "spec.sourceHydrator.syncSource.path: Invalid value: \".\": spec.sourceHydrator.syncSource.path in body "
     "should match '^.{2,}|[^./]$'"),
]


@pytest.mark.parametrize("mutate, message", BAD_APPLICATIONS)
def test_bad_applications_are_refused_precisely(infos, mutate, message):
    app = copy.deepcopy(load("application-minimal.yaml"))
    mutate(app)
    with pytest.raises(CustomResourceInvalid) as info:
        admit_custom_resource(app, infos["Application"], "v1alpha1")
    assert info.value.message == f'Application.argoproj.io "guestbook" is invalid: {message}'
    status = info.value.status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["details"]["kind"] == "Application" and status["details"]["group"] == "argoproj.io"


def test_several_problems_are_listed_together(infos):
    app = load("application-minimal.yaml")
    del app["spec"]["project"], app["spec"]["destination"]
    with pytest.raises(CustomResourceInvalid, match=r'is invalid: \[spec.destination: Required value, '
                                                    r'spec.project: Required value\]'):
        admit_custom_resource(app, infos["Application"], "v1alpha1")


def test_unknown_fields_are_pruned_with_warnings_or_refused(infos):
    app = load("application-minimal.yaml")
    app["spec"]["sourc"] = {"repoURL": "typo"}
    stored, warnings = admit_custom_resource(app, infos["Application"], "v1alpha1")
    assert "sourc" not in stored["spec"] and warnings == ['unknown field "spec.sourc"']
    with pytest.raises(FieldValidationFailed, match='strict decoding error: unknown field "spec.sourc"'):
        admit_custom_resource(app, infos["Application"], "v1alpha1", field_validation="Strict")
    assert admit_custom_resource(app, infos["Application"], "v1alpha1", field_validation="Ignore")[1] == []


def test_helm_values_object_keeps_arbitrary_values(infos):
    app = load("application-full.yaml")
    stored, _ = admit_custom_resource(app, infos["Application"], "v1alpha1", field_validation="Strict")
    assert stored["spec"]["source"]["helm"]["valuesObject"]["ingress"]["hosts"] == ["pay.example.com"]


def test_bad_appproject(infos):
    project = load("appproject.yaml")
    project["spec"]["roles"] = [{"description": "no name"}]
    project["spec"]["clusterResourceWhitelist"] = [{"kind": "Namespace"}]
    with pytest.raises(CustomResourceInvalid) as info:
        admit_custom_resource(project, infos["AppProject"], "v1alpha1")
    assert info.value.message == (
        'AppProject.argoproj.io "payments" is invalid: [spec.clusterResourceWhitelist[0].group: '
        "Required value, spec.roles[0].name: Required value]"
    )


def test_discovery_lists_status_subresource(infos):
    entries = api_resources(infos["Application"], "v1alpha1")
    assert [e["name"] for e in entries] == ["applications", "applications/status"]
    assert entries[0]["shortNames"] == ["app", "apps"]


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_scaffolded_platform_documents_validate(infos, environment):
    """What shiplane's own platform scaffold writes for Argo CD is accepted by the CRDs."""
    from shiplane.scaffold import app_project, application

    app = application("payment-service", environment, project="payments",
                      service_repo="https://git.example.com/payment-service.git",
                      platform_repo="https://git.example.com/platform.git",
                      namespace=f"payments-{environment}")
    stored, warnings = admit_custom_resource(app, infos["Application"], "v1alpha1", field_validation="Strict")
    assert warnings == [] and stored == app
    project = app_project("payments", source_repos=["https://git.example.com/*"],
                          destinations={environment: f"payments-{environment}"})
    stored, warnings = admit_custom_resource(project, infos["AppProject"], "v1alpha1", field_validation="Strict")
    assert warnings == [] and stored == project
