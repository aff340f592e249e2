"""Node spec files for ``shiplane cluster up --node-spec``: groups, defaults, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.cluster.nodes import default_node_specs, load_node_specs
from shiplane.errors import UsageError


def test_groups_expand_to_named_nodes(tmp_path: Path) -> None:
    spec = tmp_path / "nodes.yaml"
    spec.write_text(
        "nodes:\n"
        "  - count: 2\n    namePrefix: web\n    cpu: '8'\n    memory: 32Gi\n    zone: eu-west-1b\n"
        "    pullBandwidth: 10Mi\n    role: eks-node\n    labels: {team: web}\n"
        "  - namePrefix: edge\n    privateEndpoint: 10.0.0.5:443\n"
        "    taints: [{key: edge, effect: NoExecute}]\n"
    )
    nodes = load_node_specs(spec)
    assert [n.name for n in nodes] == ["web-0", "web-1", "edge-0"]
    assert nodes[0].cpu == "8" and nodes[0].zone == "eu-west-1b" and nodes[0].role == "eks-node"
    assert nodes[0].pull_bandwidth == 10 * 2**20 and nodes[0].labels == {"team": "web"}
    assert nodes[2].private_endpoint == "10.0.0.5:443"
    assert nodes[2].taints == ({"key": "edge", "effect": "NoExecute"},)


def test_default_nodes_spread_over_three_zones() -> None:
    nodes = default_node_specs(4)
    assert [n.zone for n in nodes] == ["zone-a", "zone-b", "zone-c", "zone-a"]
    assert nodes[3].name == "shiplane-worker-3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nodes: []\n", "expected a non-empty 'nodes:' list"),
        ("nodes:\n  - count: -1\n", "nodes[0].count must be a positive integer"),
        ("nodes:\n  - colour: red\n", "nodes[0]: unknown key(s) colour"),
        ("nodes:\n  - cpu: lots\n", "nodes[0]:"),
        ("nodes:\n  - taints: [{key: a, effect: Sometimes}]\n", "needs key and an effect"),
        ("nodes:\n  - namePrefix: a\n  - namePrefix: a\n", "node names repeat"),
        ("nodes: [\n", "is not valid YAML/JSON"),
    ],
)
def test_bad_spec_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "nodes.yaml"
    spec.write_text(text)
    with pytest.raises(UsageError) as info:
        load_node_specs(spec)
    assert message in str(info.value)


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read node spec file"):
        load_node_specs(tmp_path / "absent.yaml")
