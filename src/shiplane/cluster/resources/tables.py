"""Server-side printing: the ``meta.k8s.io/v1`` Table columns kubectl shows.

Columns and cell logic follow k/pkg/printers/internalversion/printers.go
(printPod, printDeployment, printReplicaSet, printService, printNode, ...); AGE
cells use apimachinery's duration.HumanDuration. Kinds without a printer get the
default Name / Created At columns, like upstream's default table convertor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "Column",
    "DEFAULT_TABLE",
    "TABLES",
    "TableSpec",
    "converted_table",
    "human_duration",
    "table_rows",
]


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    priority: int = 0
    format: str = ""
    description: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class TableSpec:
    columns: tuple[Column, ...]
    cells: Callable[[dict[str, Any], datetime], list[Any]]


def converted_table(spec: TableSpec, convert: Callable[[dict[str, Any]], dict[str, Any]]
                    ) -> TableSpec:
    """``spec`` for objects served at another version: rows are printed from the converted
    object, as upstream prints the internal version whatever version was asked for."""
    return TableSpec(spec.columns, lambda obj, now: spec.cells(convert(obj), now))


def human_duration(seconds: float) -> str:
    """apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if seconds < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _age(obj: dict[str, Any], now: datetime) -> str:
    created = _parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    return "<unknown>" if created is None else human_duration((now - created).total_seconds())


def _name(obj: dict[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("name", "")


_NAME = Column("Name", format="name", description="Name must be unique within a namespace.")
_AGE = Column(
    "Age",
    description="CreationTimestamp is a timestamp representing the server time "
    "when this object was created.",
)


def _containers(obj: dict[str, Any]) -> tuple[str, str]:
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers"
    ) or []
    return (
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
    )


def _selector_string(selector: dict[str, Any] | None) -> str:
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(sorted(values))})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(sorted(values))})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) or "<none>"


def _pod_cells(pod: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    restarts, ready, last_restart = 0, 0, None
    total = len(spec.get("containers") or [])
    reason = status.get("reason") or status.get("phase") or ""
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += cs.get("restartCount", 0)
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        if terminated:
            reason = "Init:" + (
                terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
            )
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break
    if not initializing:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            state = cs.get("state") or {}
            last = (cs.get("lastState") or {}).get("terminated") or {}
            finished = _parse_time(last.get("finishedAt"))
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated") is not None:
                term = state["terminated"]
                reason = term.get("reason") or (
                    f"Signal:{term['signal']}"
                    if term.get("signal")
                    else f"ExitCode:{term.get('exitCode')}"
                )
            elif state.get("running") is not None and cs.get("ready"):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_cond = any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or []
            )
            reason = "Running" if ready_cond else "NotReady"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    restart_text = str(restarts)
    if last_restart is not None:
        restart_text += f" ({human_duration((now - last_restart).total_seconds())} ago)"
    gates = spec.get("readinessGates") or []
    gate_text = "<none>"
    if gates:
        true = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
        gate_text = f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"
    ips = status.get("podIPs") or ([{"ip": status["podIP"]}] if status.get("podIP") else [])
    return [
        _name(pod),
        f"{ready}/{total}",
        reason,
        restart_text,
        _age(pod, now),
        ips[0]["ip"] if ips else "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gate_text,
    ]


def _deployment_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    return [
        _name(obj),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _age(obj, now),
        names,
        images,
        _selector_string(spec.get("selector")),
    ]


def _replicaset_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    return [
        _name(obj),
        spec.get("replicas", 0),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        _age(obj, now),
        names,
        images,
        _selector_string(spec.get("selector")),
    ]


def _statefulset_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    return [
        _name(obj),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        _age(obj, now),
        names,
        images,
    ]


def _daemonset_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    selector_text = ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>"
    return [
        _name(obj),
        status.get("desiredNumberScheduled", 0),
        status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0),
        status.get("numberAvailable", 0),
        selector_text,
        _age(obj, now),
        names,
        images,
        _selector_string(spec.get("selector")),
    ]


def _job_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    state = "Running"
    if conditions.get("Complete") == "True":
        state = "Complete"
    elif conditions.get("Failed") == "True":
        state = "Failed"
    elif spec.get("suspend"):
        state = "Suspended"
    completions = spec.get("completions")
    completion_text = (
        f"{status.get('succeeded', 0)}/{completions}"
        if completions is not None
        else f"{status.get('succeeded', 0)}/1 of {spec.get('parallelism', 1)}"
    )
    start, end = _parse_time(status.get("startTime")), _parse_time(status.get("completionTime"))
    duration = human_duration(((end or now) - start).total_seconds()) if start else ""
    names, images = _containers(obj)
    return [
        _name(obj),
        state,
        completion_text,
        duration,
        _age(obj, now),
        names,
        images,
        _selector_string(spec.get("selector")),
    ]


def _cronjob_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    last = _parse_time(status.get("lastScheduleTime"))
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    containers = ((job_spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return [
        _name(obj),
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        "True" if spec.get("suspend") else "False",
        len(status.get("active") or []),
        human_duration((now - last).total_seconds()) if last else "<none>",
        _age(obj, now),
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        _selector_string(job_spec.get("selector")),
    ]


_ACCESS_MODE_SHORT = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def _pvc_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    bound = status.get("phase") == "Bound"
    modes = ",".join(_ACCESS_MODE_SHORT.get(m, m) for m in status.get("accessModes") or [])
    return [
        _name(obj),
        "Terminating"
        if (obj.get("metadata") or {}).get("deletionTimestamp")
        else status.get("phase", ""),
        spec.get("volumeName", ""),
        ((status.get("capacity") or {}).get("storage", "")) if bound else "",
        modes if bound else "",
        spec.get("storageClassName") or "<unset>",
        spec.get("volumeAttributesClassName") or "<unset>",
        _age(obj, now),
        spec.get("volumeMode", ""),
    ]


def _port_text(port: dict[str, Any]) -> str:
    text = f"{port.get('port')}"
    if port.get("nodePort"):
        text += f":{port['nodePort']}"
    return f"{text}/{port.get('protocol', 'TCP')}"


def _service_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    stype = spec.get("type", "ClusterIP")
    ingress = [
        i.get("ip") or i.get("hostname")
        for i in ((status.get("loadBalancer") or {}).get("ingress") or [])
    ]
    external = list(spec.get("externalIPs") or [])
    if stype == "LoadBalancer":
        external_text = ",".join(ingress + external) or "<pending>"
    elif stype == "ExternalName":
        external_text = spec.get("externalName", "")
    else:
        external_text = ",".join(external) or "<none>"
    ports = ",".join(_port_text(p) for p in spec.get("ports") or []) or "<none>"
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    return [
        _name(obj),
        stype,
        spec.get("clusterIP") or "<none>",
        external_text,
        ports,
        _age(obj, now),
        selector or "<none>",
    ]


def _node_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    labels = (obj.get("metadata") or {}).get("labels") or {}
    ready = {c.get("type"): c.get("status") for c in status.get("conditions") or []}.get("Ready")
    states = ["Ready" if ready == "True" else "NotReady" if ready is not None else "Unknown"]
    if spec.get("unschedulable"):
        states.append("SchedulingDisabled")
    roles = sorted(
        k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k
    )
    if "kubernetes.io/role" in labels:
        roles.append(labels["kubernetes.io/role"])
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [
        _name(obj),
        ",".join(states),
        ",".join(roles) or "<none>",
        _age(obj, now),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP", "<none>"),
        addresses.get("ExternalIP", "<none>"),
        info.get("osImage", "<unknown>"),
        info.get("kernelVersion", "<unknown>"),
        info.get("containerRuntimeVersion", "<unknown>"),
    ]


def _namespace_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), (obj.get("status") or {}).get("phase", ""), _age(obj, now)]


def _configmap_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_name(obj), count, _age(obj, now)]


def _secret_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), obj.get("type", ""), len(obj.get("data") or {}), _age(obj, now)]


def _serviceaccount_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), len(obj.get("secrets") or []), _age(obj, now)]


def _endpoints_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    entries = []
    for subset in obj.get("subsets") or []:
        for address in subset.get("addresses") or []:
            for port in subset.get("ports") or [{}]:
                entries.append(
                    f"{address.get('ip')}:{port.get('port')}" if port else address.get("ip")
                )
    text = ",".join(entries[:3]) + (f" + {len(entries) - 3} more..." if len(entries) > 3 else "")
    return [_name(obj), text or "<none>", _age(obj, now)]


def _event_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    """printers.go printEvent (the server generates the wide cells; kubectl hides priority 1)."""
    involved = obj.get("involvedObject") or obj.get("regarding") or {}

    def since(stamp: datetime | None) -> str:
        return human_duration((now - stamp).total_seconds()) if stamp else "<unknown>"

    first = _parse_time(obj.get("firstTimestamp"))
    if first is None and obj.get("eventTime"):
        first = _parse_time(str(obj["eventTime"])[:19] + "Z")
    last = _parse_time(obj.get("lastTimestamp")) or first
    count = int(obj.get("count") or 0) or 1
    series = obj.get("series") or {}
    if series.get("lastObservedTime"):
        last = _parse_time(str(series["lastObservedTime"])[:19] + "Z")
        count = int(series.get("count") or count)
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return [
        since(last),
        obj.get("type", ""),
        obj.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        f"{component}, {instance}" if instance else component,
        (obj.get("message") or obj.get("note", "")).strip(),
        since(first),
        count,
        _name(obj),
    ]


def _hpa_target(metric: dict[str, Any], status: dict[str, Any]) -> str:
    """One entry of printers.go formatHPAMetrics; ``status`` is the index-aligned
    status.currentMetrics entry (empty when the metric failed)."""
    kind = metric.get("type")
    key = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
           "Object": "object", "External": "external"}.get(kind or "")
    if key is None:
        return "<unknown type>"
    source = metric.get(key) or {}
    target = source.get("target") or {}
    current = (status.get(key) or {}).get("current") if status.get("type") == kind else None
    if kind in ("Resource", "ContainerResource"):
        prefix = f"{source.get('name', '')}: "
        if target.get("averageValue") is not None:
            now = (current or {}).get("averageValue") or "<unknown>"
            return f"{prefix}{now}/{target['averageValue']}"
        used = (current or {}).get("averageUtilization")
        wanted = target.get("averageUtilization")
        return (f"{prefix}{'<unknown>' if used is None else f'{used}%'}/"
                f"{'<auto>' if wanted is None else f'{wanted}%'}")
    average = (current or {}).get("averageValue") or "<unknown>"
    if kind == "Pods":
        return f"{average}/{target.get('averageValue')}"
    if target.get("averageValue") is not None:  # Object / External per-pod targets
        return f"{average}/{target['averageValue']} (avg)"
    return f"{(current or {}).get('value') or '<unknown>'}/{target.get('value')}"


def _hpa_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    # printers.go formatHPAMetrics: statuses matched by index, two shown, then "+ N more..."
    statuses = status.get("currentMetrics") or []
    metrics = spec.get("metrics") or []
    targets = [_hpa_target(m, statuses[i] if i < len(statuses) else {})
               for i, m in enumerate(metrics)]
    text = ", ".join(targets[:2]) or "<none>"
    if len(targets) > 2:
        text += f" + {len(targets) - 2} more..."
    return [
        _name(obj),
        f"{ref.get('kind')}/{ref.get('name')}",
        text,
        spec.get("minReplicas", 1),
        spec.get("maxReplicas"),
        status.get("currentReplicas", 0),
        _age(obj, now),
    ]


def _pdb_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    return [
        _name(obj),
        str(spec.get("minAvailable", "N/A")),
        str(spec.get("maxUnavailable", "N/A")),
        (obj.get("status") or {}).get("disruptionsAllowed", 0),
        _age(obj, now),
    ]


def _ingress_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    hosts = ",".join(r.get("host", "*") for r in spec.get("rules") or []) or "*"
    ports = "80, 443" if spec.get("tls") else "80"
    addresses = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [
        _name(obj),
        spec.get("ingressClassName") or "<none>",
        hosts,
        ",".join(a.get("ip") or a.get("hostname", "") for a in addresses),
        ports,
        _age(obj, now),
    ]


def _netpol_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    selector = _selector_string((obj.get("spec") or {}).get("podSelector"))
    return [_name(obj), "<none>" if selector == "<none>" else selector, _age(obj, now)]


def _lease_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), (obj.get("spec") or {}).get("holderIdentity", ""), _age(obj, now)]


def _default_cells(obj: dict[str, Any], now: datetime) -> list[Any]:
    return [_name(obj), (obj.get("metadata") or {}).get("creationTimestamp")]


def _c(name: str, priority: int = 0, type_: str = "string") -> Column:
    return Column(name, type_, priority)


_WIDE_WORKLOAD = (_c("Containers", 1), _c("Images", 1), _c("Selector", 1))
_EVENT_COLUMNS = (_c("Last Seen"), _c("Type"), _c("Reason"), _c("Object"), _c("Subobject", 1),
                  _c("Source", 1), _c("Message"), _c("First Seen", 1), _c("Count", 1),
                  _c("Name", 1))

DEFAULT_TABLE = TableSpec(
    (
        _NAME,
        Column(
            "Created At",
            "date",
            description="CreationTimestamp is a timestamp "
            "representing the server time when this object was created.",
        ),
    ),
    _default_cells,
)

# plural.group → printer; kinds missing here use DEFAULT_TABLE.
TABLES: dict[str, TableSpec] = {
    "pods": TableSpec(
        (
            _NAME,
            _c("Ready"),
            _c("Status"),
            _c("Restarts"),
            _AGE,
            _c("IP", 1),
            _c("Node", 1),
            _c("Nominated Node", 1),
            _c("Readiness Gates", 1),
        ),
        _pod_cells,
    ),
    "deployments.apps": TableSpec(
        (
            _NAME,
            _c("Ready"),
            _c("Up-to-date", 0, "integer"),
            _c("Available", 0, "integer"),
            _AGE,
            *_WIDE_WORKLOAD,
        ),
        _deployment_cells,
    ),
    "replicasets.apps": TableSpec(
        (
            _NAME,
            _c("Desired", 0, "integer"),
            _c("Current", 0, "integer"),
            _c("Ready", 0, "integer"),
            _AGE,
            *_WIDE_WORKLOAD,
        ),
        _replicaset_cells,
    ),
    "statefulsets.apps": TableSpec(
        (_NAME, _c("Ready"), _AGE, _c("Containers", 1), _c("Images", 1)), _statefulset_cells
    ),
    "daemonsets.apps": TableSpec(
        (
            _NAME,
            _c("Desired", 0, "integer"),
            _c("Current", 0, "integer"),
            _c("Ready", 0, "integer"),
            _c("Up-to-date", 0, "integer"),
            _c("Available", 0, "integer"),
            _c("Node Selector"),
            _AGE,
            *_WIDE_WORKLOAD,
        ),
        _daemonset_cells,
    ),
    "jobs.batch": TableSpec(
        (_NAME, _c("Status"), _c("Completions"), _c("Duration"), _AGE, *_WIDE_WORKLOAD), _job_cells
    ),
    "cronjobs.batch": TableSpec(
        (
            _NAME,
            _c("Schedule"),
            _c("Timezone"),
            _c("Suspend"),
            _c("Active", 0, "integer"),
            _c("Last Schedule"),
            _AGE,
            *_WIDE_WORKLOAD,
        ),
        _cronjob_cells,
    ),
    "persistentvolumeclaims": TableSpec(
        (
            _NAME,
            _c("Status"),
            _c("Volume"),
            _c("Capacity"),
            _c("Access Modes"),
            _c("StorageClass"),
            _c("VolumeAttributesClass"),
            _AGE,
            _c("VolumeMode", 1),
        ),
        _pvc_cells,
    ),
    "services": TableSpec(
        (
            _NAME,
            _c("Type"),
            _c("Cluster-IP"),
            _c("External-IP"),
            _c("Port(s)"),
            _AGE,
            _c("Selector", 1),
        ),
        _service_cells,
    ),
    "nodes": TableSpec(
        (
            _NAME,
            _c("Status"),
            _c("Roles"),
            _AGE,
            _c("Version"),
            _c("Internal-IP", 1),
            _c("External-IP", 1),
            _c("OS-Image", 1),
            _c("Kernel-Version", 1),
            _c("Container-Runtime", 1),
        ),
        _node_cells,
    ),
    "namespaces": TableSpec((_NAME, _c("Status"), _AGE), _namespace_cells),
    "configmaps": TableSpec((_NAME, _c("Data", 0, "integer"), _AGE), _configmap_cells),
    "secrets": TableSpec((_NAME, _c("Type"), _c("Data", 0, "integer"), _AGE), _secret_cells),
    "serviceaccounts": TableSpec((_NAME, _c("Secrets", 0, "integer"), _AGE), _serviceaccount_cells),
    "endpoints": TableSpec((_NAME, _c("Endpoints"), _AGE), _endpoints_cells),
    "events": TableSpec(
        _EVENT_COLUMNS, _event_cells
    ),
    "events.events.k8s.io": TableSpec(
        _EVENT_COLUMNS, _event_cells
    ),
    "horizontalpodautoscalers.autoscaling": TableSpec(
        (
            _NAME,
            _c("Reference"),
            _c("Targets"),
            _c("MinPods", 0, "integer"),
            _c("MaxPods", 0, "integer"),
            _c("Replicas", 0, "integer"),
            _AGE,
        ),
        _hpa_cells,
    ),
    "poddisruptionbudgets.policy": TableSpec(
        (
            _NAME,
            _c("Min Available"),
            _c("Max Unavailable"),
            _c("Allowed Disruptions", 0, "integer"),
            _AGE,
        ),
        _pdb_cells,
    ),
    "ingresses.networking.k8s.io": TableSpec(
        (_NAME, _c("Class"), _c("Hosts"), _c("Address"), _c("Ports"), _AGE), _ingress_cells
    ),
    "networkpolicies.networking.k8s.io": TableSpec(
        (_NAME, _c("Pod-Selector"), _AGE), _netpol_cells
    ),
    "leases.coordination.k8s.io": TableSpec((_NAME, _c("Holder"), _AGE), _lease_cells),
}


def table_rows(
    spec: TableSpec,
    objects: list[dict[str, Any]],
    now: datetime | None = None,
) -> list[list[Any]]:
    now = now or datetime.now(timezone.utc)
    width = len(spec.columns)
    return [spec.cells(obj, now)[:width] for obj in objects]
