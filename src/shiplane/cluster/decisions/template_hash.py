"""pod-template-hash and template equality (k8s pkg/controller/controller_utils.go ComputeHash,
apimachinery util/rand SafeEncodeString, deployment/util EqualIgnoreHash), and the ReplicaSet a
Deployment creates for its current template (sync.go getNewReplicaSet).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "HASH_LABEL",
    "SAFE_ALPHABET",
    "compute_hash",
    "equal_ignore_hash",
    "fnv32a",
    "new_replicaset",
    "safe_encode_string",
]

HASH_LABEL = "pod-template-hash"
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery util/rand alphanums
Obj = Mapping[str, Any]


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def safe_encode_string(text: str) -> str:
    """rand.SafeEncodeString: every character maps to alphanums[ord(c) % 27]."""
    return "".join(SAFE_ALPHABET[ord(ch) % len(SAFE_ALPHABET)] for ch in text)


def compute_hash(template: Obj, collision_count: int | None) -> str:
    """pod-template-hash (controller_utils.go ComputeHash).

    Upstream hashes a go-spew dump of the Go PodTemplateSpec struct, which cannot be reproduced
    byte for byte from JSON; we hash a canonical JSON serialisation (sorted keys, compact)
    instead, so names differ from a real cluster's but are equally stable. The rest is upstream:
    FNV-32a, then collisionCount written as an 8-byte buffer holding a little-endian uint32,
    then the decimal Sum32 encoded with SafeEncodeString.
    """
    data = json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\0\0\0\0"
    return safe_encode_string(str(fnv32a(data)))


def _semantic(value: Any) -> Any:
    # apiequality.Semantic.DeepEqual treats nil and empty maps/slices alike
    if isinstance(value, Mapping):
        out = {k: _semantic(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def equal_ignore_hash(template1: Obj, template2: Obj) -> bool:
    """EqualIgnoreHash: templates equal once the pod-template-hash label is dropped."""
    t1, t2 = copy.deepcopy(dict(template1)), copy.deepcopy(dict(template2))
    for t in (t1, t2):
        ((t.get("metadata") or {}).get("labels") or {}).pop(HASH_LABEL, None)
    return _semantic(t1) == _semantic(t2)


def new_replicaset(deployment: Obj, collision_count: int | None) -> dict:
    """The ReplicaSet object for the Deployment's template with 0 replicas: name
    ``<deployment>-<hash>``, the hash label added to labels, selector and template
    (CloneAndAddLabel / CloneSelectorAndAddLabel), a controller ownerReference, minReadySeconds."""
    spec = deployment.get("spec") or {}
    meta = deployment.get("metadata") or {}
    template = copy.deepcopy(dict(spec.get("template") or {}))
    pod_hash = compute_hash(template, collision_count)
    template.setdefault("metadata", {})
    template["metadata"]["labels"] = {
        **(template["metadata"].get("labels") or {}),
        HASH_LABEL: pod_hash,
    }
    selector = copy.deepcopy(dict(spec.get("selector") or {}))
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
    owner = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{meta.get('name', '')}-{pod_hash}",
                     "namespace": meta.get("namespace", "default"),
                     "labels": dict(template["metadata"]["labels"]), "annotations": {},
                     "ownerReferences": [owner]},
        "spec": {"replicas": 0, "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                 "selector": selector, "template": template},
    }  # fmt: skip
