"""Lint and render through the real Helm SDK, errors converted to ChartError."""

from __future__ import annotations

import pytest

from shiplane.charts import (
    INSTALL_ORDER,
    ChartNotFoundError,
    LintFailedError,
    RenderError,
    Severity,
    ValueOverrides,
    ValuesFileError,
    environment_overrides,
    lint_chart,
    render_chart,
)


def test_lint_clean_chart(probe_chart):
    report = lint_chart(probe_chart)
    assert report.ok and report.errors == ()


def test_lint_reports_invalid_chart_version(probe_chart):
    chart_yaml = probe_chart / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace("version: 0.1.0", "version: one"))
    report = lint_chart(probe_chart)
    assert not report.ok
    assert any(m.path == "Chart.yaml" and "version" in m.text for m in report.errors)
    with pytest.raises(LintFailedError, match="Chart.yaml"):
        lint_chart(probe_chart, raise_on_error=True)


def test_strict_lint_turns_warnings_into_errors(probe_chart):
    (probe_chart / "templates" / "bad-name.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\n")
    relaxed = lint_chart(probe_chart)
    assert relaxed.ok and relaxed.warnings
    strict = lint_chart(probe_chart, strict=True)
    assert not strict.ok and all(m.severity == Severity.ERROR for m in strict.errors)


def test_missing_chart_is_named(tmp_path):
    with pytest.raises(ChartNotFoundError, match="nowhere"):
        render_chart(tmp_path / "nowhere", release_name="r")
    with pytest.raises(ChartNotFoundError, match="nowhere"):
        lint_chart(tmp_path / "nowhere")


def test_template_error_is_a_render_error_naming_the_template(probe_chart):
    (probe_chart / "templates" / "broken.yaml").write_text("{{ .Values.nope.deeper }}\n")
    with pytest.raises(RenderError, match="broken.yaml"):
        render_chart(probe_chart, release_name="r")


def test_render_splits_documents_sorts_by_install_order_and_separates_hooks(probe_chart):
    (probe_chart / "templates" / "more.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n---\n"
        "# empty document\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n"
        "  annotations: {helm.sh/hook: test}\n")
    (probe_chart / "templates" / "NOTES.txt").write_text("hello {{ .Release.Name }}")
    rendered = render_chart(probe_chart, release_name="rel", namespace="team")
    assert rendered.kinds() == ["Namespace", "ConfigMap", "Deployment"]
    assert [INSTALL_ORDER.index(k) for k in rendered.kinds()] == sorted(
        INSTALL_ORDER.index(k) for k in rendered.kinds())
    assert [h["kind"] for h in rendered.hooks] == ["Pod"]
    assert rendered.notes == "hello rel"
    assert rendered.find("ConfigMap")["metadata"]["name"] == "rel-probe"


def test_environment_overrides_needs_the_env_file(probe_chart):
    (probe_chart / "values-dev.yaml").write_text("replicaCount: 5\n")
    overrides = environment_overrides(probe_chart, "dev", ValueOverrides(set=("x=1",)))
    assert overrides.values_files[0].name == "values-dev.yaml"
    with pytest.raises(ValuesFileError, match="values-qa.yaml") as raised:
        environment_overrides(probe_chart, "qa")
    assert "values-dev.yaml" in (raised.value.hint or "")
