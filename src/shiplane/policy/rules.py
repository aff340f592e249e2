"""The governance rules, one pure function each: manifests in, violations out.

Every rule has a documented name (``RULES``); a violation names the rule, the
resource (``Deployment/payment-service``) and the field
(``spec.template.spec.containers[0].resources.limits.cpu``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["RULES", "Rule", "Violation", "pod_templates", "selector_matches", "split_image"]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str  # Kind/name
    field: str
    message: str
    severity: str = "error"  # error blocks; warning is reported only

    def __str__(self) -> str:
        return f"[{self.rule}] {self.resource} {self.field}: {self.message}"


@dataclass(frozen=True)
class Rule:
    name: str
    summary: str
    check: Callable[[Sequence[Mapping[str, Any]], Mapping[str, Any]], Iterator[tuple[str, str, str]]]


def _name(obj: Mapping[str, Any]) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def pod_templates(obj: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """(field path, pod template) of a workload; the Pod itself for kind Pod."""
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    if kind == "Pod":
        return "", obj
    if kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
        return ("spec.jobTemplate.spec.template.", template) if template else None
    if kind in WORKLOAD_KINDS and spec.get("template"):
        return "spec.template.", spec["template"]
    return None


def _containers(obj: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(field prefix, container, pod spec) for every container and init container."""
    found = pod_templates(obj)
    if not found:
        return
    prefix, template = found
    pod_spec = template.get("spec") or {}
    for key in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(key) or []):
            yield f"{prefix}spec.{key}[{index}]", container, pod_spec


def _workloads(manifests: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    return (m for m in manifests if pod_templates(m) is not None)


def _resources(manifests, options) -> Iterator[tuple[str, str, str]]:
    for obj in _workloads(manifests):
        for field, container, _ in _containers(obj):
            resources = container.get("resources") or {}
            for section in ("requests", "limits"):
                for resource in options.get("resources", ("cpu", "memory")):
                    if not (resources.get(section) or {}).get(resource):
                        yield (_name(obj), f"{field}.resources.{section}.{resource}",
                               f"container {container.get('name')} has no {resource} {section[:-1]}")


def _probes(manifests, options) -> Iterator[tuple[str, str, str]]:
    for obj in _workloads(manifests):
        if obj.get("kind") in ("Job", "CronJob"):
            continue  # run-to-completion pods are not probed
        for field, container, _ in _containers(obj):
            if ".initContainers[" in field:
                continue
            for probe in ("readinessProbe", "livenessProbe"):
                if not container.get(probe):
                    yield (_name(obj), f"{field}.{probe}",
                           f"container {container.get('name')} has no {probe}")


def split_image(image: str) -> tuple[str, str, str | None, str | None]:
    """(registry, repository, tag, digest); Docker Hub names get registry docker.io."""
    rest, _, digest = image.partition("@")
    last = rest.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        rest, _, tag = rest.rpartition(":")
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = "docker.io", rest
    return registry, repository, tag, digest or None


def _immutable_tags(manifests, options) -> Iterator[tuple[str, str, str]]:
    mutable = {t.lower() for t in options.get("mutableTags", (
        "latest", "main", "master", "dev", "develop", "staging", "stable", "edge", "nightly"))}
    for obj in _workloads(manifests):
        for field, container, _ in _containers(obj):
            image = str(container.get("image", ""))
            _, _, tag, digest = split_image(image)
            if digest:
                continue
            if tag is None or tag.lower() in mutable:
                yield (_name(obj), f"{field}.image",
                       f"{image} uses the mutable tag {tag or 'latest (implicit)'}; "
                       "use an immutable version tag or a digest")


def _prefer_digests(manifests, options) -> Iterator[tuple[str, str, str]]:
    for obj in _workloads(manifests):
        for field, container, _ in _containers(obj):
            image = str(container.get("image", ""))
            if not split_image(image)[3]:
                yield (_name(obj), f"{field}.image", f"{image} is not pinned by digest")


def _allowed_registries(manifests, options) -> Iterator[tuple[str, str, str]]:
    allowed = list(options.get("registries") or ())
    for obj in _workloads(manifests):
        for field, container, _ in _containers(obj):
            image = str(container.get("image", ""))
            registry, repository, _, _ = split_image(image)
            full = f"{registry}/{repository}"
            if not any(full == a or full.startswith(a.rstrip("/") + "/") or registry == a
                       for a in allowed):
                yield (_name(obj), f"{field}.image",
                       f"{image} is not from an allowed registry ({', '.join(allowed) or 'none'})")


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, Any]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against labels; empty matches all."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _pod_labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    found = pod_templates(obj)
    return ((found[1].get("metadata") or {}).get("labels") or {}) if found else {}


def _replicas(obj: Mapping[str, Any], manifests: Sequence[Mapping[str, Any]]) -> int:
    replicas = (obj.get("spec") or {}).get("replicas", 1)
    for hpa in manifests:
        target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if hpa.get("kind") == "HorizontalPodAutoscaler" and target.get("kind") == obj.get("kind") \
                and target.get("name") == (obj.get("metadata") or {}).get("name"):
            replicas = max(replicas or 0, (hpa.get("spec") or {}).get("minReplicas", 1))
    return int(replicas or 0)


def _pdb(manifests, options) -> Iterator[tuple[str, str, str]]:
    pdbs = [m for m in manifests if m.get("kind") == "PodDisruptionBudget"]
    for obj in manifests:
        if obj.get("kind") not in ("Deployment", "StatefulSet"):
            continue
        replicas = _replicas(obj, manifests)
        labels = _pod_labels(obj)
        if replicas > 1 and not any(selector_matches((p.get("spec") or {}).get("selector"), labels)
                                    for p in pdbs):
            yield (_name(obj), "spec.replicas",
                   f"{replicas} replicas and no PodDisruptionBudget selects its pods")


def _network_policy(manifests, options) -> Iterator[tuple[str, str, str]]:
    policies = [m for m in manifests if m.get("kind") == "NetworkPolicy"]
    for obj in manifests:
        if obj.get("kind") not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        labels = _pod_labels(obj)
        if not any(selector_matches((p.get("spec") or {}).get("podSelector"), labels)
                   for p in policies):
            yield (_name(obj), "spec.template.metadata.labels",
                   "no NetworkPolicy selects its pods")


def _non_root(manifests, options) -> Iterator[tuple[str, str, str]]:
    for obj in _workloads(manifests):
        for field, container, pod_spec in _containers(obj):
            pod_level = (pod_spec.get("securityContext") or {}).get("runAsNonRoot")
            own = (container.get("securityContext") or {}).get("runAsNonRoot")
            if not (own is True or (own is None and pod_level is True)):
                yield (_name(obj), f"{field}.securityContext.runAsNonRoot",
                       f"container {container.get('name')} may run as root")


def _privileged(manifests, options) -> Iterator[tuple[str, str, str]]:
    for obj in _workloads(manifests):
        for field, container, _ in _containers(obj):
            if (container.get("securityContext") or {}).get("privileged") is True:
                yield (_name(obj), f"{field}.securityContext.privileged",
                       f"container {container.get('name')} is privileged")


RULES: dict[str, Rule] = {rule.name: rule for rule in (
    Rule("resources-set", "every container sets cpu and memory requests and limits", _resources),
    Rule("probes-set", "every long-running container has readiness and liveness probes", _probes),
    Rule("immutable-tags", "no latest or other mutable tags (options: mutableTags)",
         _immutable_tags),
    Rule("prefer-digests", "images pinned by digest (usually a warning)", _prefer_digests),
    Rule("allowed-registries", "images only from listed registries (options: registries)",
         _allowed_registries),
    Rule("pdb-when-replicated", "a PodDisruptionBudget selects workloads with > 1 replica "
         "(HPA minReplicas counts)", _pdb),
    Rule("network-policy", "a NetworkPolicy selects every workload's pods", _network_policy),
    Rule("run-as-non-root", "runAsNonRoot: true on the pod or every container", _non_root),
    Rule("no-privileged", "no container runs privileged", _privileged),
)}
