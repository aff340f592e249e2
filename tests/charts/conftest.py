"""A tiny hand-written chart whose ConfigMap shows the values Helm rendered with."""

from __future__ import annotations

from pathlib import Path

import pytest

CHART_YAML = """apiVersion: v2
name: probe
description: values probe
type: application
version: 0.1.0
appVersion: "1.0.0"
"""
VALUES_YAML = """image:
  repository: example/probe
  tag: latest
replicaCount: 1
hosts:
  - a.example
  - b.example
resources:
  requests:
    cpu: 100m
  limits:
    cpu: "1"
labels: {}
"""
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-probe
data:
  values.json: {{ .Values | toJson | quote }}
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
  tagKind: {{ kindOf .Values.image.tag | quote }}
"""


@pytest.fixture
def probe_chart(tmp_path: Path) -> Path:
    chart = tmp_path / "probe"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART_YAML)
    (chart / "values.yaml").write_text(VALUES_YAML)
    (chart / "templates" / "configmap.yaml").write_text(CONFIGMAP)
    return chart
