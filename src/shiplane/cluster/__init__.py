"""The embedded Kubernetes-API-compatible cluster.

Sub-packages: ``store`` (versioned object store), ``apiserver`` (HTTP API: REST, watch, patch,
discovery), ``resources`` (per-kind defaulting and validation), ``decisions`` (pure cores of the
controllers, scheduler and kubelet: rollout math, scheduling, backoff, probes), and the
controllers/nodes that drive them through the API like upstream components do.
"""

__all__: list[str] = []
