"""Pod and pod-template defaulting and validation (core/v1).

Defaults: k/pkg/apis/core/v1/defaults.go (SetDefaults_PodSpec, _Container, _Probe,
_HTTPGetAction, _Volume, _ConfigMapVolumeSource, _SecretVolumeSource, _ServicePort) and
the admission plugins every pod passes (ServiceAccount, DefaultTolerationSeconds,
Priority). Validation: the subset of k/pkg/apis/core/validation/validation.go that
real manifests trip over, with its messages.
"""

from __future__ import annotations

from typing import Any

from shiplane.cluster.resources.validation import (
    Errors,
    name_errors,
    validate_labels,
)
from shiplane.cluster.store.errors import FieldError

__all__ = [
    "default_pod",
    "default_pod_spec",
    "default_pod_template",
    "image_pull_policy",
    "validate_pod",
    "validate_pod_spec",
]

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def image_pull_policy(image: str) -> str:
    """Always for ``:latest`` or no tag (and no digest), else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _default_probe(probe: dict[str, Any] | None) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")
    grpc = probe.get("grpc")
    if isinstance(grpc, dict):
        grpc.setdefault("service", "")


def _default_container(container: dict[str, Any]) -> None:
    if not isinstance(container, dict):
        return
    if "imagePullPolicy" not in container and isinstance(container.get("image"), str):
        container["imagePullPolicy"] = image_pull_policy(container["image"])
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    resources = container.setdefault("resources", {})
    if isinstance(resources, dict) and resources.get("limits"):
        # SetDefaults_ResourceList: requests default to limits.
        requests = resources.setdefault("requests", {})
        for name, value in resources["limits"].items():
            requests.setdefault(name, value)
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(container.get(probe))
    for hook in ("postStart", "preStop"):
        http = ((container.get("lifecycle") or {}).get(hook) or {}).get("httpGet")
        if isinstance(http, dict):
            http.setdefault("path", "/")
            http.setdefault("scheme", "HTTP")


def _default_volume(volume: dict[str, Any]) -> None:
    sources = set(volume) - {"name"}
    if not sources:
        volume["emptyDir"] = {}
    for source in ("configMap", "secret", "downwardAPI", "projected"):
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", 420)


def default_pod_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_PodSpec and the per-container defaults."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    for list_name in _CONTAINER_LISTS:
        for container in spec.get(list_name) or []:
            _default_container(container)
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict):
            _default_volume(volume)


def default_pod_template(template: dict[str, Any] | None) -> None:
    if isinstance(template, dict):
        spec = template.setdefault("spec", {})
        if isinstance(spec, dict):
            default_pod_spec(spec)


def default_pod(pod: dict[str, Any]) -> None:
    """Pod defaults plus the admission plugins every created pod passes through."""
    spec = pod.setdefault("spec", {})
    default_pod_spec(spec)
    # ServiceAccount admission: the namespace's "default" account.
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = account
    spec["serviceAccount"] = account
    # DefaultTolerationSeconds admission: tolerate not-ready/unreachable nodes for 300 s.
    tolerations = spec.setdefault("tolerations", [])
    for taint in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == taint for t in tolerations if isinstance(t, dict)):
            tolerations.append(
                {
                    "key": taint,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            )
    # Priority admission: no PriorityClass means priority 0.
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def _container_errors(container: Any, path: str, names: set[str], kind: str) -> Errors:
    if not isinstance(container, dict):
        return [FieldError("Invalid", path, container, "must be an object")]
    errors: Errors = []
    name = container.get("name")
    if not name:
        errors.append(FieldError("Required", f"{path}.name"))
    else:
        errors += name_errors(name, f"{path}.name", "label")
        if name in names:
            errors.append(FieldError("Duplicate", f"{path}.name", name))
        names.add(name)
    if not container.get("image") and kind != "ephemeral":
        errors.append(FieldError("Required", f"{path}.image"))
    policy = container.get("imagePullPolicy")
    if policy is not None and policy not in _PULL_POLICIES:
        errors.append(
            FieldError("Unsupported", f"{path}.imagePullPolicy", policy, supported=_PULL_POLICIES)
        )
    port_names: set[str] = set()
    for j, port in enumerate(container.get("ports") or []):
        ppath = f"{path}.ports[{j}]"
        number = port.get("containerPort")
        if number is None:
            errors.append(FieldError("Required", f"{ppath}.containerPort"))
        elif not isinstance(number, int) or not 1 <= number <= 65535:
            errors.append(
                FieldError(
                    "Invalid",
                    f"{ppath}.containerPort",
                    number,
                    "must be between 1 and 65535, inclusive",
                )
            )
        protocol = port.get("protocol", "TCP")
        if protocol not in _PROTOCOLS:
            errors.append(
                FieldError("Unsupported", f"{ppath}.protocol", protocol, supported=_PROTOCOLS)
            )
        pname = port.get("name")
        if pname:
            if pname in port_names:
                errors.append(FieldError("Duplicate", f"{ppath}.name", pname))
            port_names.add(pname)
    env_names_path = f"{path}.env"
    for j, env in enumerate(container.get("env") or []):
        if not env.get("name"):
            errors.append(FieldError("Required", f"{env_names_path}[{j}].name"))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        spec = container.get(probe)
        if isinstance(spec, dict):
            handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if h in spec]
            if not handlers:
                errors.append(
                    FieldError("Required", f"{path}.{probe}", detail="must specify a handler type")
                )
            for field in (
                "timeoutSeconds",
                "periodSeconds",
                "successThreshold",
                "failureThreshold",
            ):
                value = spec.get(field)
                if isinstance(value, int) and value < 1:
                    errors.append(
                        FieldError(
                            "Invalid",
                            f"{path}.{probe}.{field}",
                            value,
                            "must be greater than or equal to 1",
                        )
                    )
            if probe in ("livenessProbe", "startupProbe") and spec.get("successThreshold", 1) != 1:
                errors.append(
                    FieldError(
                        "Invalid",
                        f"{path}.{probe}.successThreshold",
                        spec.get("successThreshold"),
                        "must be 1",
                    )
                )
    return errors


def validate_pod_spec(spec: Any, path: str) -> Errors:
    if not isinstance(spec, dict):
        return [FieldError("Required", path)]
    errors: Errors = []
    volumes: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or []):
        name = volume.get("name")
        if not name:
            errors.append(FieldError("Required", f"{path}.volumes[{i}].name"))
            continue
        errors += name_errors(name, f"{path}.volumes[{i}].name", "label")
        if name in volumes:
            errors.append(FieldError("Duplicate", f"{path}.volumes[{i}].name", name))
        volumes.add(name)
    containers = spec.get("containers")
    if not containers:
        errors.append(FieldError("Required", f"{path}.containers"))
    names: set[str] = set()
    for list_name in _CONTAINER_LISTS:
        for i, container in enumerate(spec.get(list_name) or []):
            cpath = f"{path}.{list_name}[{i}]"
            errors += _container_errors(container, cpath, names, list_name)
            for j, mount in enumerate(
                container.get("volumeMounts") or [] if isinstance(container, dict) else []
            ):
                if mount.get("name") not in volumes:
                    errors.append(
                        FieldError("NotFound", f"{cpath}.volumeMounts[{j}].name", mount.get("name"))
                    )
                if not mount.get("mountPath"):
                    errors.append(FieldError("Required", f"{cpath}.volumeMounts[{j}].mountPath"))
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in _RESTART_POLICIES:
        errors.append(
            FieldError("Unsupported", f"{path}.restartPolicy", policy, supported=_RESTART_POLICIES)
        )
    dns = spec.get("dnsPolicy")
    if dns is not None and dns not in _DNS_POLICIES:
        errors.append(FieldError("Unsupported", f"{path}.dnsPolicy", dns, supported=_DNS_POLICIES))
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        errors.append(
            FieldError(
                "Invalid",
                f"{path}.terminationGracePeriodSeconds",
                grace,
                "must be greater than or equal to 0",
            )
        )
    errors += validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    return errors


_POD_MUTABLE_SPEC = (
    "activeDeadlineSeconds",
    "tolerations",
    "terminationGracePeriodSeconds",
    "schedulingGates",
)


def validate_pod(pod: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    spec = pod.get("spec")
    errors = validate_pod_spec(spec, "spec")
    if old is not None and isinstance(spec, dict):
        # ValidatePodUpdate: only images and a few fields may change; nodeName is set once.
        old_spec = dict(old.get("spec") or {})
        new_spec = dict(spec)
        for name in _POD_MUTABLE_SPEC:
            old_spec.pop(name, None)
            new_spec.pop(name, None)
        for list_name in _CONTAINER_LISTS:
            new_spec[list_name] = [
                {k: v for k, v in c.items() if k != "image"} for c in new_spec.get(list_name) or []
            ]
            old_spec[list_name] = [
                {k: v for k, v in c.items() if k != "image"} for c in old_spec.get(list_name) or []
            ]
        if old_spec.get("nodeName") in (None, ""):
            old_spec.pop("nodeName", None)
            new_spec.pop("nodeName", None)
        if old_spec != new_spec:
            errors.append(
                FieldError(
                    "Forbidden",
                    "spec",
                    detail="pod updates may not change fields other than "
                    "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                    "`spec.activeDeadlineSeconds`,`spec.tolerations` "
                    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                    "(allow it to be set to 1 if it was previously negative)",
                )
            )
    return errors
