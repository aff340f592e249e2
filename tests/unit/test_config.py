from pathlib import Path

import pytest

from shiplane.config import (
    ValueSource,
    Workspace,
    load_workspace,
    parse_workspace,
    resolve_setting,
)
from shiplane.errors import ConfigError


def test_defaults_are_dev_staging_prod_on_the_embedded_stack():
    ws = parse_workspace("")
    assert list(ws.environments) == ["dev", "staging", "prod"]
    assert all(env.registry.is_embedded and env.cluster.is_embedded for env in ws.environments.values())
    assert ws.namespace_for("prod") == "prod"


def test_real_registry_and_kubeconfig_context():
    ws = parse_workspace(
        "environments:\n"
        "  prod:\n"
        "    registry: 123456789012.dkr.ecr.ap-south-1.amazonaws.com\n"
        "    cluster: {kubeconfig: /tmp/kc, context: 'arn:aws:eks:ap-south-1:123456789012:cluster/prod'}\n"
        "    namespace: payments\n"
    )
    prod = ws.environment("prod")
    assert prod.registry.ecr_region == "ap-south-1"
    assert not prod.cluster.is_embedded
    assert prod.cluster.context.endswith("cluster/prod")
    assert ws.namespace_for("prod") == "payments"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("environments:\n  dev:\n    namespace: Dev\n", "shiplane.yaml:3: environments.dev.namespace: 'Dev'"),
        ("environments:\n  dev:\n    registy: x\n", "shiplane.yaml:3: environments.dev.registy: unknown key"),
        ("state_dir: x\nversion: 2\n", "shiplane.yaml:2: version:"),
        ("environments:\n  Dev: {}\n", "environment name 'Dev'"),
        ("environments:\n  dev:\n    registry: https://r.example\n", "without a scheme"),
        ("environments: [\n", "not valid YAML"),
        ("- a\n- b\n", "top level must be a mapping"),
    ],
)
def test_invalid_config_names_key_and_line(text, expected):
    with pytest.raises(ConfigError) as info:
        parse_workspace(text)
    assert expected in str(info.value)


def test_relative_state_dir_is_relative_to_the_file(tmp_path: Path):
    (tmp_path / "shiplane.yaml").write_text("state_dir: state\n")
    ws = load_workspace(tmp_path / "shiplane.yaml")
    assert ws.state_dir == (tmp_path / "state").resolve()


def test_no_file_means_defaults(workspace_dir):
    assert load_workspace() == Workspace()


def test_setting_precedence_flag_env_file_default(monkeypatch):
    monkeypatch.setenv("SHIPLANE_X", "from-env")
    assert resolve_setting(flag="f", env_var="SHIPLANE_X", file_value="file", default="d").source is ValueSource.FLAG
    got = resolve_setting(flag=None, env_var="SHIPLANE_X", file_value="file", default="d")
    assert (got.value, got.source) == ("from-env", ValueSource.ENV)
    monkeypatch.delenv("SHIPLANE_X")
    assert resolve_setting(flag=None, env_var="SHIPLANE_X", file_value="file", default="d").source is ValueSource.FILE
    assert resolve_setting(flag=None, env_var="SHIPLANE_X", file_value=None, default="d").value == "d"
