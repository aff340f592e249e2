"""What simulated nodes look like: ``--nodes N`` defaults or a node spec file.

A spec file is YAML (or JSON) with a list of node groups::

    nodes:
      - count: 2
        namePrefix: general          # nodes general-0, general-1
        cpu: "4"
        memory: 16Gi
        pods: 110
        zone: eu-west-1a             # topology.kubernetes.io/zone
        instanceType: m5.xlarge      # node.kubernetes.io/instance-type
        labels: {team: web}
        taints: [{key: dedicated, value: gpu, effect: NoSchedule}]
        pullBandwidth: 50Mi          # bytes per second for image layers
        role: eks-node-role          # the registry principal the node pulls as
        privateEndpoint: 127.0.0.1:5000   # private cluster: pull only through this host
        runtime: process             # simulated (default) or process: run images for real

Without a file, ``N`` nodes ``shiplane-worker-<i>`` (4 CPU, 16Gi, 110 pods, 100Mi/s) are spread
over zones ``zone-a``, ``zone-b``, ``zone-c``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from shiplane.cluster.decisions.quantity import parse_quantity
from shiplane.errors import UsageError

__all__ = ["NodeSpec", "default_node_specs", "load_node_specs"]

_KEYS = {"count", "namePrefix", "cpu", "memory", "pods", "zone", "instanceType", "labels",
         "taints", "pullBandwidth", "role", "privateEndpoint", "runtime"}
RUNTIMES = ("simulated", "process")


@dataclass(frozen=True)
class NodeSpec:
    name: str
    cpu: str = "4"
    memory: str = "16Gi"
    pods: int = 110
    zone: str = "zone-a"
    instance_type: str = "m5.xlarge"
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[dict, ...] = ()
    pull_bandwidth: float = 100 * 2**20
    role: str = ""
    private_endpoint: str | None = None
    runtime: str = "simulated"


def default_node_specs(count: int, *, role: str = "", runtime: str = "simulated"
                       ) -> list[NodeSpec]:
    zones = ("zone-a", "zone-b", "zone-c")
    return [NodeSpec(f"shiplane-worker-{i}", zone=zones[i % 3], role=role, runtime=runtime)
            for i in range(count)]


def _group(index: int, raw: Any, source: Path) -> list[NodeSpec]:
    where = f"{source}: nodes[{index}]"
    if not isinstance(raw, dict):
        raise UsageError(f"{where} must be a mapping")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)}",
                         hint=f"known keys: {', '.join(sorted(_KEYS))}")
    count = raw.get("count", 1)
    if not isinstance(count, int) or count < 1:
        raise UsageError(f"{where}.count must be a positive integer, not {count!r}")
    try:
        for key in ("cpu", "memory"):
            if key in raw:
                parse_quantity(str(raw[key]))
        bandwidth = float(parse_quantity(str(raw.get("pullBandwidth", "100Mi"))))
    except Exception as exc:  # InvalidQuantity
        raise UsageError(f"{where}: {exc}") from None
    if bandwidth <= 0:
        raise UsageError(f"{where}.pullBandwidth must be positive")
    taints = raw.get("taints") or []
    for taint in taints:
        if not isinstance(taint, dict) or "key" not in taint or taint.get("effect") not in (
            "NoSchedule", "PreferNoSchedule", "NoExecute"
        ):
            raise UsageError(f"{where}.taints: {taint!r} needs key and an effect "
                             "NoSchedule, PreferNoSchedule or NoExecute")
    runtime = str(raw.get("runtime", "simulated"))
    if runtime not in RUNTIMES:
        raise UsageError(f"{where}.runtime must be simulated or process, not {runtime!r}")
    prefix = str(raw.get("namePrefix") or f"group{index}")
    return [
        NodeSpec(
            f"{prefix}-{i}",
            cpu=str(raw.get("cpu", "4")),
            memory=str(raw.get("memory", "16Gi")),
            pods=int(raw.get("pods", 110)),
            zone=str(raw.get("zone", "zone-a")),
            instance_type=str(raw.get("instanceType", "m5.xlarge")),
            labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
            taints=tuple(dict(t) for t in taints),
            pull_bandwidth=bandwidth,
            role=str(raw.get("role", "")),
            private_endpoint=raw.get("privateEndpoint"),
            runtime=runtime,
        )
        for i in range(count)
    ]


def load_node_specs(path: Path) -> list[NodeSpec]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read node spec file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else YAML(typ="safe").load(text)
    except (ValueError, YAMLError) as exc:
        raise UsageError(f"{path} is not valid YAML/JSON: {exc}") from None
    groups = (data or {}).get("nodes") if isinstance(data, dict) else None
    if not isinstance(groups, list) or not groups:
        raise UsageError(f"{path}: expected a non-empty 'nodes:' list")
    specs = [spec for i, raw in enumerate(groups) for spec in _group(i, raw, path)]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"{path}: node names repeat; give each group its own namePrefix")
    return specs
