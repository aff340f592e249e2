"""apps/v1 and batch/v1 workloads: defaulting and validation.

Defaults: k/pkg/apis/apps/v1/defaults.go (SetDefaults_Deployment, _ReplicaSet,
_StatefulSet, _DaemonSet) and k/pkg/apis/batch/v1/defaults.go (SetDefaults_Job).
Validation: k/pkg/apis/apps/validation/validation.go and batch/validation — selectors
that match the template, immutable selectors, replica counts, strategies.
"""

from __future__ import annotations

import re
from typing import Any

from shiplane.cluster.resources.pods import default_pod_template, validate_pod_spec
from shiplane.cluster.resources.validation import (
    Errors,
    format_label_selector,
    selector_matches_labels,
    validate_label_selector,
    validate_labels,
)
from shiplane.cluster.store.errors import FieldError, GoLiteral

__all__ = [
    "default_cronjob",
    "default_daemonset",
    "default_deployment",
    "default_job",
    "default_replicaset",
    "default_statefulset",
    "validate_cronjob",
    "validate_daemonset",
    "validate_deployment",
    "validate_job",
    "validate_replicaset",
    "validate_statefulset",
]

_PERCENT = re.compile(r"^(\d+)%$")


def default_deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_pod_template(spec.get("template"))


def default_replicaset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    default_pod_template(spec.get("template"))


def default_statefulset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault(
        "persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"}
    )
    default_pod_template(spec.get("template"))


def default_daemonset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    default_pod_template(spec.get("template"))


def default_job(obj: dict[str, Any]) -> None:
    """SetDefaults_Job plus the generated selector of the Job strategy (PrepareForCreate)."""
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    uid = obj.get("metadata", {}).get("uid")
    name = obj.get("metadata", {}).get("name", "")
    template = spec.get("template")
    if (
        uid
        and not spec.get("manualSelector")
        and "selector" not in spec
        and isinstance(template, dict)
    ):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels.setdefault("batch.kubernetes.io/controller-uid", uid)
        labels.setdefault("batch.kubernetes.io/job-name", name)
        labels.setdefault("controller-uid", uid)
        labels.setdefault("job-name", name)
    default_pod_template(template)


def _replicas_errors(spec: dict[str, Any], field: str = "replicas") -> Errors:
    value = spec.get(field)
    if value is not None and (not isinstance(value, int) or value < 0):
        return [FieldError("Invalid", f"spec.{field}", value, "must be greater than or equal to 0")]
    return []


def _non_negative(spec: dict[str, Any], field: str) -> Errors:
    value = spec.get(field)
    if value is not None and (not isinstance(value, int) or value < 0):
        return [FieldError("Invalid", f"spec.{field}", value, "must be greater than or equal to 0")]
    return []


def _template_errors(
    spec: dict[str, Any],
    *,
    empty_selector_detail: str,
    restart_policies: tuple[str, ...] = ("Always",),
) -> Errors:
    """Selector present and non-empty, template labels matching it, a valid pod spec."""
    errors: Errors = []
    selector = spec.get("selector")
    if selector is None:
        errors.append(FieldError("Required", "spec.selector"))
    else:
        errors += validate_label_selector(selector, "spec.selector")
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            errors.append(
                FieldError(
                    "Invalid",
                    "spec.selector",
                    GoLiteral(format_label_selector(selector)),
                    empty_selector_detail,
                )
            )
    template = spec.get("template")
    if not isinstance(template, dict):
        errors.append(FieldError("Required", "spec.template"))
        return errors
    labels = (template.get("metadata") or {}).get("labels") or {}
    errors += validate_labels(labels, "spec.template.metadata.labels")
    if selector and (selector.get("matchLabels") or selector.get("matchExpressions")):
        if not selector_matches_labels(selector, labels):
            errors.append(
                FieldError(
                    "Invalid",
                    "spec.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                )
            )
    errors += validate_pod_spec(template.get("spec"), "spec.template.spec")
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy is not None and policy not in restart_policies:
        errors.append(
            FieldError(
                "Unsupported",
                "spec.template.spec.restartPolicy",
                policy,
                supported=restart_policies,
            )
        )
    return errors


def _immutable_selector(spec: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    if old is None:
        return []
    old_selector = (old.get("spec") or {}).get("selector")
    if spec.get("selector") != old_selector:
        return [
            FieldError(
                "Invalid",
                "spec.selector",
                GoLiteral(format_label_selector(spec.get("selector"))),
                "field is immutable",
            )
        ]
    return []


def _int_or_percent(value: Any, field: str) -> Errors:
    if isinstance(value, int):
        if value < 0:
            return [FieldError("Invalid", field, value, "must be greater than or equal to 0")]
        return []
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if not match:
            return [
                FieldError(
                    "Invalid",
                    field,
                    value,
                    "a valid percent string must be a numeric "
                    "string followed by an ending '%' (e.g. '1%',  or '93%', regex used "
                    "for validation is '[0-9]+%')",
                )
            ]
        if int(match.group(1)) > 100:
            return [FieldError("Invalid", field, value, "must not be greater than 100%")]
        return []
    return [FieldError("Invalid", field, value, "must be an integer or percentage (e.g '5%')")]


def _is_zero(value: Any) -> bool:
    return value == 0 or value == "0%"


def validate_deployment(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError("Required", "spec")]
    errors = _replicas_errors(spec)
    errors += _template_errors(
        spec, empty_selector_detail="empty selector is invalid for deployment"
    )
    strategy = spec.get("strategy") or {}
    stype = strategy.get("type")
    if stype not in ("Recreate", "RollingUpdate"):
        errors.append(
            FieldError(
                "Unsupported", "spec.strategy.type", stype, supported=("Recreate", "RollingUpdate")
            )
        )
    rolling = strategy.get("rollingUpdate")
    if stype == "Recreate" and rolling is not None:
        errors.append(
            FieldError(
                "Forbidden",
                "spec.strategy.rollingUpdate",
                detail="may not be specified when strategy `type` is 'Recreate'",
            )
        )
    if stype == "RollingUpdate" and isinstance(rolling, dict):
        unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
        errors += _int_or_percent(unavailable, "spec.strategy.rollingUpdate.maxUnavailable")
        errors += _int_or_percent(surge, "spec.strategy.rollingUpdate.maxSurge")
        if _is_zero(unavailable) and _is_zero(surge):
            errors.append(
                FieldError(
                    "Invalid",
                    "spec.strategy.rollingUpdate.maxUnavailable",
                    GoLiteral(_intstr(unavailable)),
                    "may not be 0 when `maxSurge` is 0",
                )
            )
    errors += _non_negative(spec, "minReadySeconds")
    errors += _non_negative(spec, "revisionHistoryLimit")
    deadline = spec.get("progressDeadlineSeconds")
    if isinstance(deadline, int) and deadline <= spec.get("minReadySeconds", 0):
        errors.append(
            FieldError(
                "Invalid",
                "spec.progressDeadlineSeconds",
                deadline,
                "must be greater than minReadySeconds",
            )
        )
    errors += _immutable_selector(spec, old)
    return errors


def _intstr(value: Any) -> str:
    if isinstance(value, str):
        return f'intstr.IntOrString{{Type:1, IntVal:0, StrVal:"{value}"}}'
    return f'intstr.IntOrString{{Type:0, IntVal:{value}, StrVal:""}}'


def validate_replicaset(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError("Required", "spec")]
    errors = _replicas_errors(spec) + _non_negative(spec, "minReadySeconds")
    errors += _template_errors(
        spec, empty_selector_detail="empty selector is invalid for deployment"
    )
    return errors + _immutable_selector(spec, old)


def validate_statefulset(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError("Required", "spec")]
    errors = _replicas_errors(spec)
    errors += _template_errors(
        spec, empty_selector_detail="empty selector is invalid for statefulset"
    )
    policy = spec.get("podManagementPolicy")
    if policy not in ("OrderedReady", "Parallel"):
        errors.append(
            FieldError(
                "Unsupported",
                "spec.podManagementPolicy",
                policy,
                supported=("OrderedReady", "Parallel"),
            )
        )
    if old is not None:
        old_spec = dict(old.get("spec") or {})
        new_spec = dict(spec)
        for mutable in (
            "replicas",
            "ordinals",
            "template",
            "updateStrategy",
            "persistentVolumeClaimRetentionPolicy",
            "minReadySeconds",
            "revisionHistoryLimit",
        ):
            old_spec.pop(mutable, None)
            new_spec.pop(mutable, None)
        if old_spec != new_spec:
            errors.append(
                FieldError(
                    "Forbidden",
                    "spec",
                    detail="updates to statefulset spec for fields other than 'replicas', "
                    "'ordinals', "
                    "'template', 'updateStrategy', 'revisionHistoryLimit', "
                    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                )
            )
    return errors


def validate_daemonset(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError("Required", "spec")]
    errors = _template_errors(spec, empty_selector_detail="empty selector is invalid for daemonset")
    return errors + _immutable_selector(spec, old)


def validate_job(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError("Required", "spec")]
    errors: Errors = []
    for field in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds"):
        errors += _non_negative(spec, field)
    errors += _template_errors(
        spec,
        empty_selector_detail="empty selector is invalid for job",
        restart_policies=("OnFailure", "Never"),
    )
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if policy is None or policy == "Always":
        errors = [e for e in errors if e.field != "spec.template.spec.restartPolicy"]
        errors.append(
            FieldError(
                "Unsupported",
                "spec.template.spec.restartPolicy",
                policy or "Always",
                supported=("OnFailure", "Never"),
            )
        )
    if old is not None:
        old_spec = old.get("spec") or {}
        if spec.get("selector") != old_spec.get("selector"):
            errors += _immutable_selector(spec, old)
        if spec.get("completions") != old_spec.get("completions"):
            errors.append(
                FieldError(
                    "Invalid", "spec.completions", spec.get("completions"), "field is immutable"
                )
            )
        if spec.get("template") != old_spec.get("template"):
            errors.append(
                FieldError(
                    "Invalid",
                    "spec.template",
                    GoLiteral("core.PodTemplateSpec{...}"),
                    "field is immutable",
                )
            )
    return errors


_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")


def default_cronjob(obj: dict[str, Any]) -> None:
    """batch/v1 SetDefaults_CronJob; the job template's pod spec gets pod defaults."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = (spec.get("jobTemplate") or {}).get("spec")
    if isinstance(job_spec, dict):
        default_pod_template(job_spec.get("template"))


def _schedule_errors(schedule: Any) -> Errors:
    if not schedule:
        return [FieldError("Required", "spec.schedule")]
    if not isinstance(schedule, str):
        return [FieldError("Invalid", "spec.schedule", schedule, "must be a string")]
    text = schedule.strip()
    if text.startswith("TZ=") or text.startswith("CRON_TZ="):
        return [
            FieldError(
                "Invalid",
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            )
        ]
    if text in _CRON_MACROS or text.startswith("@every "):
        return []
    fields = text.split()
    if len(fields) != 5:
        # robfig/cron's parser message, as the CronJob validation reports it.
        return [
            FieldError(
                "Invalid",
                "spec.schedule",
                schedule,
                f"Expected exactly 5 fields, found {len(fields)}: {text}",
            )
        ]
    return []


def validate_cronjob(obj: dict[str, Any], old: dict[str, Any] | None) -> Errors:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError("Required", "spec")]
    errors: Errors = []
    name = (obj.get("metadata") or {}).get("name") or ""
    if len(name) > 52:
        errors.append(
            FieldError("Invalid", "metadata.name", name, "must be no more than 52 characters")
        )
    errors += _schedule_errors(spec.get("schedule"))
    policy = spec.get("concurrencyPolicy")
    if policy not in _CONCURRENCY_POLICIES:
        errors.append(
            FieldError(
                "Unsupported", "spec.concurrencyPolicy", policy, supported=_CONCURRENCY_POLICIES
            )
        )
    for field in (
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ):
        errors += _non_negative(spec, field)
    job_spec = (spec.get("jobTemplate") or {}).get("spec")
    template = job_spec.get("template") if isinstance(job_spec, dict) else None
    if not isinstance(template, dict):
        return errors + [FieldError("Required", "spec.jobTemplate.spec.template")]
    pod_spec = template.get("spec")
    errors += [
        FieldError(
            e.type,
            e.field.replace("spec.template", "spec.jobTemplate.spec.template", 1),
            e.value,
            e.detail,
            e.supported,
        )
        for e in validate_pod_spec(pod_spec, "spec.template.spec")
    ]
    restart = (pod_spec or {}).get("restartPolicy") if isinstance(pod_spec, dict) else None
    if restart not in ("OnFailure", "Never"):
        errors.append(
            FieldError(
                "Unsupported",
                "spec.jobTemplate.spec.template.spec.restartPolicy",
                restart or "Always",
                supported=("OnFailure", "Never"),
            )
        )
    return errors
