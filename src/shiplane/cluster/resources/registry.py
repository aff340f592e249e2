"""The resource registry: one row per kind the API server serves.

Each :class:`ResourceType` says where the kind lives (group, version, plural,
namespaced), how discovery names it (singular, shortNames, categories, verbs,
subresources), and the pure functions the server applies (defaulter, validator,
table printer, strategic-merge schema, selectable fields, scale paths). The
API server is generic over this table; part 2 (CRDs, OpenAPI, server-side apply)
adds rows and columns instead of code paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shiplane.cluster.resources import core, pods, scaling, workloads
from shiplane.cluster.resources.hpa_conversion import convert_hpa, hpa_to_v2
from shiplane.cluster.resources.patch_strategies import DEFAULT_SCHEMA, PATCH_SCHEMAS, Struct
from shiplane.cluster.resources.tables import DEFAULT_TABLE, TABLES, TableSpec, converted_table
from shiplane.cluster.resources.validation import Errors, validate_object_meta

__all__ = ["ALL_VERBS", "REGISTRY", "ResourceRegistry", "ResourceType", "ScaleSpec"]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

Defaulter = Callable[[dict[str, Any]], None]
Validator = Callable[[dict[str, Any], "dict[str, Any] | None"], Errors]


@dataclass(frozen=True)
class ScaleSpec:
    """Where the scale subresource reads and writes (autoscaling/v1 Scale)."""

    replicas_path: tuple[str, ...] = ("spec", "replicas")
    status_replicas_path: tuple[str, ...] = ("status", "replicas")
    selector_path: tuple[str, ...] = ("spec", "selector")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    defaulter: Defaulter | None = None
    validator: Validator | None = None
    name_rule: str = "subdomain"  # "subdomain" | "label" | "dns1035"
    # Fields usable in fieldSelector besides metadata.name/metadata.namespace.
    selectable_fields: tuple[str, ...] = ()
    scale: ScaleSpec | None = None
    # Status that create resets (PrepareForCreate); None keeps what the client sent.
    initial_status: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Graceful deletion (pods): a scheduled pod is only marked for its grace period.
    graceful_delete: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def table(self) -> TableSpec:
        custom = self.extra.get("table")  # CustomResourceDefinitions bring their columns
        return custom if custom is not None else TABLES.get(self.group_resource, DEFAULT_TABLE)

    @property
    def patch_schema(self) -> Struct:
        return PATCH_SCHEMAS.get(self.group_resource, DEFAULT_SCHEMA)

    def default(self, obj: dict[str, Any]) -> dict[str, Any]:
        if self.defaulter is not None:
            self.defaulter(obj)
        return obj

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
        errors = validate_object_meta(obj, name_rule=self.name_rule)
        if self.validator is not None:
            errors += self.validator(obj, old)
        return errors


class ResourceRegistry:
    """Look-ups over the rows: by group/version/plural, by kind, by group."""

    def __init__(self, types: list[ResourceType]) -> None:
        self.types = list(types)
        self._by_path = {(t.group, t.version, t.plural): t for t in self.types}
        self._by_kind = {(t.group, t.version, t.kind): t for t in self.types}

    def add(self, rt: ResourceType) -> None:
        """Serve one more type (CustomResourceDefinitions); replaces one at the same path."""
        self.remove(rt.group, rt.version, rt.plural)
        self.types.append(rt)
        self._by_path[(rt.group, rt.version, rt.plural)] = rt
        self._by_kind[(rt.group, rt.version, rt.kind)] = rt

    def remove(self, group: str, version: str, plural: str) -> None:
        rt = self._by_path.pop((group, version, plural), None)
        if rt is not None:
            self.types.remove(rt)
            self._by_kind.pop((rt.group, rt.version, rt.kind), None)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self._by_kind.get((group, version, kind))

    def groups(self) -> dict[str, list[str]]:
        """group → versions, in registration order (core group is "")."""
        result: dict[str, list[str]] = {}
        for t in self.types:
            versions = result.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)
        return result

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.types if t.group == group and t.version == version]


def _pod_status(pod: dict[str, Any]) -> dict[str, Any]:
    return {"phase": "Pending", "qosClass": _qos_class(pod)}


def _qos_class(pod: dict[str, Any]) -> str:
    """k/pkg/apis/core/helper/qos GetPodQOS for cpu and memory."""
    spec = pod.get("spec") or {}
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    any_set, guaranteed = False, True
    for container in containers:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits.get(name)) != limits.get(name):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _empty_status(obj: dict[str, Any]) -> dict[str, Any]:
    return {}


def _namespace_status(obj: dict[str, Any]) -> dict[str, Any]:
    return {"phase": "Active"}


_STATUS = ("status",)
_STATUS_SCALE = ("status", "scale")
_ALL = ("all",)
_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

REGISTRY = ResourceRegistry(
    [
        # core/v1
        ResourceType(
            "",
            "v1",
            "Namespace",
            "namespaces",
            "namespace",
            namespaced=False,
            short_names=("ns",),
            subresources=("status", "finalize"),
            defaulter=core.default_namespace,
            validator=core.validate_namespace,
            name_rule="label",
            selectable_fields=("status.phase",),
            initial_status=_namespace_status,
        ),
        ResourceType(
            "",
            "v1",
            "Pod",
            "pods",
            "pod",
            short_names=("po",),
            categories=_ALL,
            subresources=("status", "binding", "eviction", "log", "exec", "attach"),
            defaulter=pods.default_pod,
            validator=pods.validate_pod,
            selectable_fields=(
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.nominatedNodeName",
            ),
            initial_status=_pod_status,
            graceful_delete=True,
        ),
        ResourceType(
            "",
            "v1",
            "Service",
            "services",
            "service",
            short_names=("svc",),
            categories=_ALL,
            subresources=_STATUS,
            defaulter=core.default_service,
            validator=core.validate_service,
            initial_status=_empty_status,
            verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
            name_rule="dns1035",
        ),
        ResourceType("", "v1", "Endpoints", "endpoints", "endpoints", short_names=("ep",)),
        ResourceType(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            "configmap",
            short_names=("cm",),
            validator=core.validate_configmap,
        ),
        ResourceType(
            "",
            "v1",
            "Secret",
            "secrets",
            "secret",
            defaulter=core.default_secret,
            validator=core.validate_secret,
            selectable_fields=("type",),
        ),
        ResourceType(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            "serviceaccount",
            short_names=("sa",),
            subresources=("token",),
            validator=core.validate_service_account,
        ),
        ResourceType(
            "",
            "v1",
            "Event",
            "events",
            "event",
            short_names=("ev",),
            validator=core.validate_event,
            selectable_fields=_EVENT_FIELDS,
        ),
        ResourceType(
            "",
            "v1",
            "Node",
            "nodes",
            "node",
            namespaced=False,
            short_names=("no",),
            subresources=_STATUS,
            validator=core.validate_node,
            selectable_fields=("spec.unschedulable",),
        ),
        ResourceType(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            "persistentvolumeclaim",
            short_names=("pvc",),
            subresources=_STATUS,
            defaulter=core.default_pvc,
            validator=core.validate_pvc,
            initial_status=lambda obj: {"phase": "Pending"},
        ),
        # apps/v1
        ResourceType(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            "deployment",
            short_names=("deploy",),
            categories=_ALL,
            subresources=_STATUS_SCALE,
            defaulter=workloads.default_deployment,
            validator=workloads.validate_deployment,
            scale=ScaleSpec(),
            initial_status=_empty_status,
        ),
        ResourceType(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            "replicaset",
            short_names=("rs",),
            categories=_ALL,
            subresources=_STATUS_SCALE,
            defaulter=workloads.default_replicaset,
            validator=workloads.validate_replicaset,
            scale=ScaleSpec(),
            initial_status=_empty_status,
        ),
        ResourceType(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            "statefulset",
            short_names=("sts",),
            categories=_ALL,
            subresources=_STATUS_SCALE,
            defaulter=workloads.default_statefulset,
            validator=workloads.validate_statefulset,
            scale=ScaleSpec(),
            initial_status=_empty_status,
        ),
        ResourceType(
            "apps",
            "v1",
            "DaemonSet",
            "daemonsets",
            "daemonset",
            short_names=("ds",),
            categories=_ALL,
            subresources=_STATUS,
            defaulter=workloads.default_daemonset,
            validator=workloads.validate_daemonset,
            initial_status=_empty_status,
        ),
        # batch/v1
        ResourceType(
            "batch",
            "v1",
            "Job",
            "jobs",
            "job",
            categories=_ALL,
            subresources=_STATUS,
            defaulter=workloads.default_job,
            validator=workloads.validate_job,
            initial_status=_empty_status,
            selectable_fields=("status.successful",),
        ),
        ResourceType(
            "batch",
            "v1",
            "CronJob",
            "cronjobs",
            "cronjob",
            short_names=("cj",),
            categories=_ALL,
            subresources=_STATUS,
            defaulter=workloads.default_cronjob,
            validator=workloads.validate_cronjob,
            initial_status=_empty_status,
        ),
        # autoscaling/v2
        ResourceType(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            short_names=("hpa",),
            categories=_ALL,
            subresources=_STATUS,
            defaulter=scaling.default_hpa,
            validator=scaling.validate_hpa,
            # PrepareForCreate resets the status; v2 always writes desiredReplicas
            initial_status=lambda obj: {"desiredReplicas": 0},
        ),
        # autoscaling/v1: the same objects, stored at v2 and converted on the way in and out
        # (pkg/apis/autoscaling/v1/conversion.go); v2 stays the preferred version
        ResourceType(
            "autoscaling",
            "v1",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            "horizontalpodautoscaler",
            short_names=("hpa",),
            categories=_ALL,
            subresources=_STATUS,
            defaulter=scaling.default_hpa_v1,
            validator=scaling.validate_hpa_v1,
            initial_status=lambda obj: {"currentReplicas": 0, "desiredReplicas": 0},
            extra={
                "storage_version": "autoscaling/v2",
                "convert": convert_hpa,
                "storage_defaulter": scaling.default_hpa,
                "table": converted_table(TABLES["horizontalpodautoscalers.autoscaling"],
                                         hpa_to_v2),
            },
        ),
        # policy/v1
        ResourceType(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            "poddisruptionbudget",
            short_names=("pdb",),
            subresources=_STATUS,
            validator=scaling.validate_pdb,
            initial_status=_empty_status,
        ),
        # networking.k8s.io/v1
        ResourceType(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "ingresses",
            "ingress",
            short_names=("ing",),
            subresources=_STATUS,
            validator=scaling.validate_ingress,
            initial_status=_empty_status,
        ),
        ResourceType(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            "networkpolicy",
            short_names=("netpol",),
            defaulter=scaling.default_network_policy,
        ),
        # discovery.k8s.io/v1
        ResourceType(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            "endpointslice",
            validator=scaling.validate_endpointslice,
        ),
        # coordination.k8s.io/v1
        ResourceType(
            "coordination.k8s.io", "v1", "Lease", "leases", "lease", validator=core.validate_lease
        ),
        # rbac.authorization.k8s.io/v1 (names are path segments: "system:discovery")
        ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles",
                     "clusterrole", namespaced=False, name_rule="path"),
        ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding",
                     "clusterrolebindings", "clusterrolebinding", namespaced=False,
                     name_rule="path"),
        ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", "role",
                     name_rule="path"),
        ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings",
                     "rolebinding", name_rule="path"),
        # authorization.k8s.io/v1: answered, never stored
        ResourceType("authorization.k8s.io", "v1", "SelfSubjectAccessReview",
                     "selfsubjectaccessreviews", "", namespaced=False, verbs=("create",)),
        ResourceType("authorization.k8s.io", "v1", "SubjectAccessReview",
                     "subjectaccessreviews", "", namespaced=False, verbs=("create",)),
        # apiextensions.k8s.io/v1 (the backend attaches CRD defaulting and validation)
        ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                     "customresourcedefinitions", "customresourcedefinition", namespaced=False,
                     short_names=("crd", "crds"), subresources=("status",)),
        # metrics.k8s.io/v1beta1: served from the kubelets' reports (apiserver/metrics.py)
        ResourceType("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", "", namespaced=False,
                     verbs=("get", "list")),
        ResourceType("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", "",
                     verbs=("get", "list")),
        # events.k8s.io/v1
        ResourceType(
            "events.k8s.io",
            "v1",
            "Event",
            "events",
            "event",
            short_names=("ev",),
            selectable_fields=(
                "regarding.kind",
                "regarding.namespace",
                "regarding.name",
                "regarding.uid",
                "reason",
                "type",
            ),
        ),
    ]
)
