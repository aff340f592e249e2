"""Environment, chart and image resolution for deploys."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.charts import ValueOverrides, merge_values
from shiplane.config import parse_workspace
from shiplane.release.errors import ReleaseTargetError
from shiplane.release.target import image_overrides, resolve_access, resolve_chart
from shiplane.scaffold import init_service


@pytest.mark.parametrize("tag", ["0123456", "1234567", "1e10", "true", "null", "v1,2"])
def test_image_tags_stay_strings_through_helms_parser(tag: str) -> None:
    values = merge_values(ValueOverrides(set_string=image_overrides(tag, None)))
    assert values == {"image": {"tag": tag}}


def test_digest_pinned_reference_becomes_repository_and_tag_at_digest() -> None:
    digest = "sha256:" + "ab" * 32
    exprs = image_overrides(None, f"127.0.0.1:5000/team/svc:sha-0123456@{digest}")
    values = merge_values(ValueOverrides(set_string=exprs))
    assert values == {"image": {"repository": "127.0.0.1:5000/team/svc",
                                "tag": f"sha-0123456@{digest}"}}


def test_bad_image_arguments() -> None:
    with pytest.raises(ReleaseTargetError, match="not both"):
        image_overrides("v1", "reg/svc:v1")
    with pytest.raises(ReleaseTargetError, match="digest but no tag"):
        image_overrides(None, "reg.example.com/svc@sha256:" + "ab" * 32)
    with pytest.raises(ReleaseTargetError, match="invalid"):
        image_overrides(None, "UPPER CASE")
    assert image_overrides(None, None) == ()


def test_resolve_chart_from_repo_or_from_inside_it(tmp_path: Path, monkeypatch) -> None:
    init_service("payment-service", directory=tmp_path)
    repo = tmp_path / "payment-service"
    chart = resolve_chart(repo)
    assert (chart.name, chart.version, chart.chart) == ("payment-service", "1.2.0", repo / "helm")
    monkeypatch.chdir(repo)
    assert resolve_chart("payment-service").repo == repo
    assert resolve_chart(".").name == "payment-service"
    with pytest.raises(ReleaseTargetError, match="not a service repository"):
        resolve_chart("other-service")
    with pytest.raises(ReleaseTargetError, match="not the pinned 9.9.9"):
        resolve_chart(repo, "9.9.9")
    assert resolve_chart(repo, "1.2.0").version == "1.2.0"


def test_resolve_access(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    workspace = parse_workspace(
        f"version: 1\nstate_dir: {tmp_path / 'state'}\nenvironments:\n"
        f"  dev: {{}}\n  prod:\n    namespace: payments\n"
        f"    cluster: {{kubeconfig: {kubeconfig}, context: eks-prod}}\n"
        f"  gone:\n    cluster: {{kubeconfig: {tmp_path / 'missing'}}}\n")
    access = resolve_access(workspace, "prod")
    assert (access.kubeconfig, access.context, access.namespace) == (kubeconfig, "eks-prod",
                                                                     "payments")
    with pytest.raises(ReleaseTargetError, match="not running") as error:
        resolve_access(workspace, "dev")
    assert error.value.hint == "start it: shiplane cluster up --name default"
    with pytest.raises(ReleaseTargetError, match="no environment 'qa'"):
        resolve_access(workspace, "qa")
    with pytest.raises(ReleaseTargetError, match="does not exist"):
        resolve_access(workspace, "gone")
