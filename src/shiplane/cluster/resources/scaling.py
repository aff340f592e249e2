"""autoscaling/v2 HPAs, policy/v1 PDBs, networking.k8s.io/v1 and discovery.k8s.io/v1.

Defaults: k/pkg/apis/autoscaling/v2/defaults.go (SetDefaults_HorizontalPodAutoscaler:
minReplicas 1, cpu 80 % when no metric is given; a given behavior gets scale-up 4 pods or
100 % per 15 s, selectPolicy Max, scale-down 100 % per 15 s, its window left to the
controller) and networking/v1 defaults (policyTypes).
"""

from __future__ import annotations

from typing import Any

from shiplane.cluster.resources.hpa_conversion import hpa_to_v2
from shiplane.cluster.resources.validation import Errors, validate_label_selector
from shiplane.cluster.store.errors import FieldError

__all__ = [
    "default_hpa",
    "default_hpa_v1",
    "default_network_policy",
    "validate_endpointslice",
    "validate_hpa",
    "validate_hpa_v1",
    "validate_ingress",
    "validate_pdb",
]


def default_hpa(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80},
                },
            }
        ]
    # SetDefaults_HorizontalPodAutoscalerBehavior: only a given behavior is filled in; the
    # scale-down stabilizationWindowSeconds stays unset (the controller's
    # --horizontal-pod-autoscaler-downscale-stabilization, 300 s, applies)
    behavior = spec.get("behavior")
    if behavior is None:
        return
    up = behavior.get("scaleUp") or {}
    behavior["scaleUp"] = up
    if up.get("stabilizationWindowSeconds") is None:
        up["stabilizationWindowSeconds"] = 0
    if up.get("selectPolicy") is None:
        up["selectPolicy"] = "Max"
    if up.get("policies") is None:
        up["policies"] = [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ]
    down = behavior.get("scaleDown") or {}
    behavior["scaleDown"] = down
    if down.get("selectPolicy") is None:
        down["selectPolicy"] = "Max"
    if down.get("policies") is None:
        down["policies"] = [{"type": "Percent", "value": 100, "periodSeconds": 15}]


def default_hpa_v1(obj: dict[str, Any]) -> None:
    """apis/autoscaling/v1/defaults.go: only minReplicas (the cpu target stays implicit)."""
    obj.setdefault("spec", {}).setdefault("minReplicas", 1)


def validate_hpa_v1(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    """v1 objects are validated as what they convert to, as upstream validates internal
    objects."""
    return validate_hpa(hpa_to_v2(obj), hpa_to_v2(old) if old is not None else None)


def validate_hpa(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    spec = obj.get("spec") or {}
    errors: Errors = []
    ref = spec.get("scaleTargetRef") or {}
    if not ref.get("kind"):
        errors.append(FieldError("Required", "spec.scaleTargetRef.kind"))
    if not ref.get("name"):
        errors.append(FieldError("Required", "spec.scaleTargetRef.name"))
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    if high is None:
        errors.append(FieldError("Required", "spec.maxReplicas"))
    elif isinstance(low, int) and isinstance(high, int):
        if low < 1:
            errors.append(
                FieldError("Invalid", "spec.minReplicas", low, "must be greater than or equal to 1")
            )
        if high < low:
            errors.append(
                FieldError(
                    "Invalid",
                    "spec.maxReplicas",
                    high,
                    "must be greater than or equal to `minReplicas`",
                )
            )
    return errors


def validate_pdb(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    spec = obj.get("spec") or {}
    errors = validate_label_selector(spec.get("selector"), "spec.selector")
    if "minAvailable" in spec and "maxUnavailable" in spec:
        errors.append(
            FieldError(
                "Invalid", "spec", spec, "minAvailable and maxUnavailable cannot be both set"
            )
        )
    return errors


def default_network_policy(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    if "policyTypes" not in spec:
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types
    spec.setdefault("podSelector", {})


def validate_ingress(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    spec = obj.get("spec") or {}
    errors: Errors = []
    if not spec.get("rules") and not spec.get("defaultBackend"):
        errors.append(
            FieldError(
                "Invalid", "spec", spec, "either `defaultBackend` or `rules` must be specified"
            )
        )
    for i, rule in enumerate(spec.get("rules") or []):
        for j, path in enumerate(((rule.get("http") or {}).get("paths")) or []):
            where = f"spec.rules[{i}].http.paths[{j}]"
            kind = path.get("pathType")
            if kind is None:
                errors.append(
                    FieldError("Required", f"{where}.pathType", detail="pathType must be specified")
                )
            elif kind not in ("Exact", "Prefix", "ImplementationSpecific"):
                errors.append(
                    FieldError(
                        "Unsupported",
                        f"{where}.pathType",
                        kind,
                        supported=("Exact", "ImplementationSpecific", "Prefix"),
                    )
                )
            if not path.get("backend"):
                errors.append(FieldError("Required", f"{where}.backend"))
    return errors


def validate_endpointslice(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    family = obj.get("addressType")
    if family not in ("IPv4", "IPv6", "FQDN"):
        return [
            FieldError("Unsupported", "addressType", family, supported=("FQDN", "IPv4", "IPv6"))
        ]
    return []
