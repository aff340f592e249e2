"""core/v1 kinds other than pods, plus the simple coordination and events kinds.

Defaults: k/pkg/apis/core/v1/defaults.go (SetDefaults_Service, _ServicePort,
_Namespace, _Secret, _NamespaceStatus); validation from core/validation.
Cluster IPs and node ports are allocated by the API server, not here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from shiplane.cluster.resources.validation import (
    Errors,
    is_dns1123_subdomain,
    name_errors,
    validate_labels,
)
from shiplane.cluster.store.errors import FieldError

__all__ = [
    "ACCESS_MODES",
    "default_namespace",
    "default_pvc",
    "default_secret",
    "default_service",
    "validate_configmap",
    "validate_namespace",
    "validate_pvc",
    "validate_secret",
    "validate_service",
]

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_PROTOCOLS = ("SCTP", "TCP", "UDP")


def default_service(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        port.setdefault("protocol", "TCP")
        if "targetPort" not in port and "port" in port:
            port["targetPort"] = port["port"]
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


def validate_service(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    errors: Errors = []
    name = (obj.get("metadata") or {}).get("name")
    if name:
        errors = [e for e in name_errors(name, "metadata.name", "dns1035")]
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return errors + [FieldError("Required", "spec")]
    stype = spec.get("type")
    if stype not in SERVICE_TYPES:
        errors.append(FieldError("Unsupported", "spec.type", stype, supported=SERVICE_TYPES))
    ports = spec.get("ports") or []
    if not ports and stype != "ExternalName" and spec.get("clusterIP") != "None":
        errors.append(FieldError("Required", "spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        pname = port.get("name", "")
        if len(ports) > 1 and not pname:
            errors.append(FieldError("Required", f"{path}.name"))
        if pname:
            errors += name_errors(pname, f"{path}.name", "label")
            if pname in names:
                errors.append(FieldError("Duplicate", f"{path}.name", pname))
            names.add(pname)
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(
                FieldError(
                    "Invalid", f"{path}.port", number, "must be between 1 and 65535, inclusive"
                )
            )
        protocol = port.get("protocol")
        if protocol not in _PROTOCOLS:
            errors.append(
                FieldError("Unsupported", f"{path}.protocol", protocol, supported=_PROTOCOLS)
            )
        target = port.get("targetPort")
        if isinstance(target, int) and not 1 <= target <= 65535:
            errors.append(
                FieldError(
                    "Invalid",
                    f"{path}.targetPort",
                    target,
                    "must be between 1 and 65535, inclusive",
                )
            )
        node_port = port.get("nodePort")
        if node_port is not None and stype not in ("NodePort", "LoadBalancer"):
            errors.append(
                FieldError(
                    "Forbidden",
                    f"{path}.nodePort",
                    detail="may not be used when `type` is 'ClusterIP'",
                )
            )
    errors += validate_labels(spec.get("selector"), "spec.selector")
    if stype == "ExternalName" and not spec.get("externalName"):
        errors.append(FieldError("Required", "spec.externalName"))
    if old is not None:
        old_ip = (old.get("spec") or {}).get("clusterIP")
        if old_ip and spec.get("clusterIP") not in (old_ip, None, "") and stype != "ExternalName":
            errors.append(
                FieldError(
                    "Invalid",
                    "spec.clusterIPs[0]",
                    [spec.get("clusterIP")],
                    "may not change once set",
                )
            )
    return errors


def default_namespace(obj: dict[str, Any]) -> None:
    meta = obj.setdefault("metadata", {})
    name = meta.get("name")
    if name:
        # NamespaceLabel defaulting: kubernetes.io/metadata.name mirrors the name.
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    status = obj.setdefault("status", {})
    status.setdefault("phase", "Active")


def validate_namespace(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    name = (obj.get("metadata") or {}).get("name") or ""
    errors = [e for e in name_errors(name, "metadata.name", "label")] if name else []
    phase = (obj.get("status") or {}).get("phase")
    if phase not in (None, "Active", "Terminating"):
        errors.append(
            FieldError("Unsupported", "status.phase", phase, supported=("Active", "Terminating"))
        )
    return errors


def _data_key_errors(data: Any, field: str) -> Errors:
    errors: Errors = []
    for key in data or {}:
        if not key or len(key) > 253 or not all(c.isalnum() or c in "-._" for c in key):
            errors.append(
                FieldError(
                    "Invalid",
                    field,
                    key,
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                    "(e.g. "
                    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
                    "'[-._a-zA-Z0-9]+')",
                )
            )
    return errors


def validate_configmap(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    errors = _data_key_errors(obj.get("data"), "data")
    errors += _data_key_errors(obj.get("binaryData"), "binaryData")
    for key, value in (obj.get("data") or {}).items():
        if not isinstance(value, str):
            errors.append(FieldError("Invalid", f"data[{key}]", value, "must be a string"))
    if (
        old is not None
        and old.get("immutable")
        and (obj.get("data") != old.get("data") or obj.get("binaryData") != old.get("binaryData"))
    ):
        errors.append(
            FieldError("Forbidden", "data", detail="field is immutable when `immutable` is set")
        )
    return errors


def default_secret(obj: dict[str, Any]) -> None:
    obj.setdefault("type", "Opaque")
    # stringData is write-only: it is merged into data (base64) and dropped.
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def validate_secret(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    errors = _data_key_errors(obj.get("data"), "data")
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(value or "", validate=True)
        except (binascii.Error, TypeError, ValueError):
            errors.append(
                FieldError(
                    "Invalid", f"data[{key}]", "<secret contents redacted>", "illegal base64 data"
                )
            )
    if old is not None and old.get("type") != obj.get("type"):
        errors.append(FieldError("Invalid", "type", obj.get("type"), "field is immutable"))
    return errors


def validate_event(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    involved = obj.get("involvedObject") or obj.get("regarding")
    if obj.get("apiVersion") == "v1" and not involved:
        return [FieldError("Required", "involvedObject")]
    namespace = (obj.get("metadata") or {}).get("namespace")
    if involved and involved.get("namespace") and namespace and involved["namespace"] != namespace:
        return [
            FieldError(
                "Invalid",
                "involvedObject.namespace",
                involved["namespace"],
                "does not match event.namespace",
            )
        ]
    return []


def validate_node(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    errors: Errors = []
    for i, taint in enumerate(((obj.get("spec") or {}).get("taints")) or []):
        effect = taint.get("effect")
        if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errors.append(
                FieldError(
                    "Unsupported",
                    f"spec.taints[{i}].effect",
                    effect,
                    supported=("NoSchedule", "PreferNoSchedule", "NoExecute"),
                )
            )
        if not taint.get("key"):
            errors.append(FieldError("Required", f"spec.taints[{i}].key"))
    return errors


def validate_lease(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    duration = (obj.get("spec") or {}).get("leaseDurationSeconds")
    if duration is not None and (not isinstance(duration, int) or duration <= 0):
        return [
            FieldError("Invalid", "spec.leaseDurationSeconds", duration, "must be greater than 0")
        ]
    return []


def validate_service_account(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    errors: Errors = []
    for i, ref in enumerate(obj.get("imagePullSecrets") or []):
        if not is_dns1123_subdomain(ref.get("name", "")):
            errors.append(FieldError("Required", f"imagePullSecrets[{i}].name"))
    return errors


ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")


def default_pvc(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")


def validate_pvc(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    """ValidatePersistentVolumeClaimSpec: access modes and a storage request."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError("Required", "spec")]
    errors: Errors = []
    modes = spec.get("accessModes") or []
    if not modes:
        errors.append(
            FieldError("Required", "spec.accessModes", detail="at least 1 access mode is required")
        )
    for mode in modes:
        if mode not in ACCESS_MODES:
            errors.append(
                FieldError("Unsupported", "spec.accessModes", mode, supported=ACCESS_MODES)
            )
    requests = ((spec.get("resources") or {}).get("requests")) or {}
    if "storage" not in requests:
        errors.append(FieldError("Required", "spec.resources[storage]"))
    if old is not None:
        old_spec = dict(old.get("spec") or {})
        new_spec = dict(spec)
        for mutable in ("resources", "volumeAttributesClassName", "volumeName"):
            old_spec.pop(mutable, None)
            new_spec.pop(mutable, None)
        if old_spec != new_spec:
            errors.append(
                FieldError(
                    "Forbidden",
                    "spec",
                    detail="spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims",
                )
            )
    return errors
