"""The Job controller's sync as a pure function (k8s pkg/controller/job/job_controller.go syncJob,
manageJob, pastBackoffLimitOnFailure, pastActiveDeadline; indexed_job_utils.go; backoff_utils.go;
pkg/controller/ttlafterfinished/ttlafterfinished_controller.go).

Theory of operation: ``plan_job(job, pods, now)`` looks at the pods the Job controls (the caller
selects them by controller uid) and returns the pods to create, the pods to delete, the status to
write, the events to record, whether the Job itself is to be deleted (ttlSecondsAfterFinished),
and when to look again. Like the ReplicaSet plan, the executor must not plan again for a Job until
its own creations and deletions have been observed (upstream's expectations).

Finished pods are counted from the pods themselves (the pre-1.26 accounting, without the
``batch.kubernetes.io/job-tracking`` finalizer and ``uncountedTerminatedPods``); the counts never
go down, so a finished pod deleted by hand is not forgotten. Conditions follow 1.31+: a terminal
decision first adds ``SuccessCriteriaMet`` / ``FailureTarget``, and ``Complete`` / ``Failed``
follow once no pod of the Job is still terminating.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shiplane.cluster.decisions.clock import format_time, parse_time
from shiplane.cluster.decisions.pods import is_pod_active, is_pod_ready, is_pod_terminating

__all__ = [
    "COMPLETION_INDEX_KEY",
    "JobPlan",
    "completed_indexes",
    "completion_index",
    "job_finished",
    "parse_indexes",
    "plan_job",
    "pod_for_job",
]

# batch.JobCompletionIndexAnnotation (and, since 1.28, the pod label of the same name)
COMPLETION_INDEX_KEY = "batch.kubernetes.io/job-completion-index"
DEFAULT_BACKOFF_LIMIT = 6
POD_FAILURE_BACKOFF = 10.0  # DefaultJobPodFailureBackOff
MAX_POD_FAILURE_BACKOFF = 600.0  # MaxJobPodFailureBackOff (10 minutes)
MAX_POD_CREATE_DELETE_PER_SYNC = 500  # MaxPodCreateDeletePerSync
BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
COMPLETIONS_MESSAGE = "Reached expected number of succeeded pods"
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class JobPlan:
    create: tuple[dict, ...] = ()  # pod bodies to POST
    delete: tuple[str, ...] = ()  # pod names
    status: dict = field(default_factory=dict)
    events: tuple[tuple[str, str, str], ...] = ()
    delete_job: bool = False  # ttlSecondsAfterFinished has passed
    requeue_after: float | None = None  # cluster seconds


def _condition(status: Obj, kind: str) -> Mapping[str, Any] | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def _is_true(status: Obj, kind: str) -> bool:
    cond = _condition(status, kind)
    return cond is not None and cond.get("status") == "True"


def job_finished(job: Obj) -> bool:
    """IsJobFinished: a Complete or Failed condition is True."""
    status = job.get("status") or {}
    return _is_true(status, "Complete") or _is_true(status, "Failed")


def _set_condition(status: dict, kind: str, value: str, reason: str, message: str,
                   now: datetime) -> bool:
    """ensureJobConditionStatus: add or flip a condition; False when nothing changed."""
    conditions = list(status.get("conditions") or [])
    stamp = format_time(now)
    for i, cond in enumerate(conditions):
        if cond.get("type") != kind:
            continue
        if cond.get("status") == value and cond.get("reason") == reason \
                and cond.get("message") == message:
            return False
        transition = stamp if cond.get("status") != value else cond.get("lastTransitionTime")
        conditions[i] = {**cond, "status": value, "reason": reason, "message": message,
                         "lastProbeTime": stamp, "lastTransitionTime": transition}
        status["conditions"] = conditions
        return True
    if value != "True":
        return False  # a missing condition is already not True
    conditions.append({"type": kind, "status": value, "reason": reason, "message": message,
                       "lastProbeTime": stamp, "lastTransitionTime": stamp})
    status["conditions"] = conditions
    return True


def completion_index(pod: Obj) -> int | None:
    """getCompletionIndex: the annotation (or label) value, None when absent or invalid."""
    meta = pod.get("metadata") or {}
    raw = (meta.get("annotations") or {}).get(COMPLETION_INDEX_KEY)
    if raw is None:
        raw = (meta.get("labels") or {}).get(COMPLETION_INDEX_KEY)
    try:
        index = int(str(raw))
    except ValueError:
        return None
    return index if index >= 0 and str(index) == str(raw) else None


def parse_indexes(text: str | None, completions: int) -> set[int]:
    """parseIndexesFromString: "0-2,5" → {0, 1, 2, 5}, indexes >= completions dropped."""
    found: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            lo, hi = int(first), int(last or first)
        except ValueError:
            continue
        found.update(i for i in range(lo, hi + 1) if i < completions)
    return found


def completed_indexes(indexes: set[int]) -> str:
    """succeededIndexes.String(): sorted ranges "0-2,5"."""
    parts: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def pod_for_job(job: Obj, index: int | None = None) -> dict:
    """controller.GetPodFromTemplate with the Job's controller reference; an Indexed Job's pod
    also gets the completion index (annotation + label, addCompletionIndexAnnotation), the
    JOB_COMPLETION_INDEX env var (addCompletionIndexEnvVariables) and hostname ``<job>-<index>``
    (the subdomain stays as the template says)."""
    spec = job.get("spec") or {}
    template = spec.get("template") or {}
    tmeta = template.get("metadata") or {}
    meta = job.get("metadata") or {}
    name = meta.get("name", "")
    labels = dict(tmeta.get("labels") or {})
    annotations = dict(tmeta.get("annotations") or {})
    pod_spec = copy.deepcopy(template.get("spec") or {})
    generate = f"{name}-"
    if index is not None:
        generate = f"{name}-{index}-"
        annotations[COMPLETION_INDEX_KEY] = str(index)
        labels[COMPLETION_INDEX_KEY] = str(index)
        pod_spec.setdefault("hostname", f"{name}-{index}")
        env_var = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.annotations['{COMPLETION_INDEX_KEY}']"}}}
        for key in ("initContainers", "containers"):
            for container in pod_spec.get(key) or []:
                env = container.setdefault("env", [])
                if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in env):
                    env.append(dict(env_var))
    pod_meta: dict[str, Any] = {
        "generateName": generate,
        "namespace": meta.get("namespace", "default"),
        "labels": labels,
        "ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": meta.get("uid", ""),
            "controller": True, "blockOwnerDeletion": True,
        }],
    }
    if annotations:
        pod_meta["annotations"] = annotations
    if tmeta.get("finalizers"):
        pod_meta["finalizers"] = list(tmeta["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


def _finished_at(pod: Obj) -> datetime | None:
    """When a pod finished: its containers' latest finishedAt, else its Ready condition flip."""
    status = pod.get("status") or {}
    moments = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            term = (cs.get("state") or {}).get("terminated") or {}
            if term.get("finishedAt"):
                moments.append(parse_time(term["finishedAt"]))
    if not moments:
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Ready" and cond.get("lastTransitionTime"):
                moments.append(parse_time(cond["lastTransitionTime"]))
    return max((m for m in moments if m is not None), default=None)


def _backoff_remaining(succeeded: Sequence[Obj], failed: Sequence[Obj], now: datetime) -> float:
    """backoffRecord.getRemainingTime: 10 s * 2^(failures after the last success - 1), capped at
    10 minutes, counted from the last failure."""
    last_success = max((t for t in map(_finished_at, succeeded) if t), default=None)
    times = [t for t in map(_finished_at, failed) if t is not None]
    after = [t for t in times if last_success is None or t > last_success]
    if not after:
        return 0.0
    delay = min(POD_FAILURE_BACKOFF * 2 ** (len(after) - 1), MAX_POD_FAILURE_BACKOFF)
    return max(0.0, delay - (now - max(after)).total_seconds())


def _restarts(pod: Obj) -> int:
    status = pod.get("status") or {}
    return sum(int(cs.get("restartCount") or 0) for key in ("initContainerStatuses",
               "containerStatuses") for cs in status.get(key) or [])


def _past_backoff_limit_on_failure(job: Obj, active: Sequence[Obj], limit: int) -> bool:
    """pastBackoffLimitOnFailure: restarts of running/pending pods count against the limit."""
    template_spec = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    if template_spec.get("restartPolicy") != "OnFailure":
        return False
    total = sum(_restarts(p) for p in active
                if (p.get("status") or {}).get("phase", "Pending") in ("Pending", "Running"))
    return total > 0 if limit == 0 else total >= limit


def _removal_rank(pod: Obj) -> tuple:
    """ActivePodsWithRanks order, least useful first: unscheduled, pending, not ready, newest."""
    status = pod.get("status") or {}
    created = (pod.get("metadata") or {}).get("creationTimestamp") or ""
    return (bool((pod.get("spec") or {}).get("nodeName")),
            _PHASE_ORDINAL.get(status.get("phase", "Pending"), 0), is_pod_ready(pod),
            _restarts(pod) * -1, _negate(created), (pod.get("metadata") or {}).get("name", ""))


def _negate(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)  # newer (larger) timestamps sort first


def _int(value: Any, default: int | None) -> int | None:
    return default if value is None else int(value)


def plan_job(job: Obj, pods: Sequence[Obj], now: datetime) -> JobPlan:
    """One syncJob of the Job ``job`` over the pods it controls."""
    spec = job.get("spec") or {}
    prior = dict(job.get("status") or {})
    if job_finished(job):
        return _plan_finished(job, prior, now)
    status: dict[str, Any] = copy.deepcopy(prior)
    events: list[tuple[str, str, str]] = []
    indexed = spec.get("completionMode") == "Indexed"
    completions = _int(spec.get("completions"), None)
    backoff_limit = _int(spec.get("backoffLimit"), DEFAULT_BACKOFF_LIMIT)
    suspended = bool(spec.get("suspend"))
    requeue: list[float] = []

    active = [p for p in pods if is_pod_active(p)]
    terminating = [p for p in pods if is_pod_terminating(p)
                   and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    succeeded_pods = [p for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"]
    failed_pods = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"]

    succeeded_indexes: set[int] = set()
    if indexed:
        succeeded_indexes = parse_indexes(prior.get("completedIndexes"), completions or 0)
        succeeded_indexes.update(i for i in map(completion_index, succeeded_pods)
                                 if i is not None and i < (completions or 0))
        succeeded = len(succeeded_indexes)
    else:
        succeeded = max(int(prior.get("succeeded") or 0), len(succeeded_pods))
    failed = max(int(prior.get("failed") or 0), len(failed_pods))

    if status.get("startTime") is None and not suspended:
        status["startTime"] = format_time(now)

    # the terminal decision (syncJob: FailureTarget / SuccessCriteriaMet first)
    reason = message = None
    target = _condition(status, "FailureTarget")
    if target is not None and target.get("status") == "True":
        reason, message = target.get("reason"), target.get("message")
    elif failed > backoff_limit or _past_backoff_limit_on_failure(job, active, backoff_limit):
        reason, message = "BackoffLimitExceeded", BACKOFF_MESSAGE
    elif (spec.get("activeDeadlineSeconds") is not None and status.get("startTime")
          and not suspended):
        deadline = parse_time(status["startTime"]) + timedelta(
            seconds=int(spec["activeDeadlineSeconds"]))
        if now >= deadline:
            reason, message = "DeadlineExceeded", DEADLINE_MESSAGE
        else:
            requeue.append((deadline - now).total_seconds())

    delete: list[Obj] = []
    create: list[dict] = []
    if reason is not None:
        delete = list(active)  # the Job failed: every active pod goes
    elif suspended:
        delete = list(active)
        if _set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", now):
            events.append(("Normal", "Suspended", "Job suspended"))
    else:
        if _is_true(status, "Suspended"):
            _set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now)
            status["startTime"] = format_time(now)  # the deadline counts from the resumption
            events.append(("Normal", "Resumed", "Job resumed"))
        delete, create, wait = _manage(job, active, succeeded, succeeded_indexes,
                                       succeeded_pods, failed_pods, now)
        if wait:
            requeue.append(wait)

    deleted_names = {(p.get("metadata") or {}).get("name") for p in delete}
    still_active = [p for p in active if (p.get("metadata") or {}).get("name") not in deleted_names]
    status["active"] = len(still_active) + len(create)
    status["ready"] = sum(1 for p in still_active if is_pod_ready(p))
    status["terminating"] = len(terminating) + len(delete)
    status["succeeded"] = succeeded
    status["failed"] = failed
    status.setdefault("uncountedTerminatedPods", {})
    if indexed:
        status["completedIndexes"] = completed_indexes(succeeded_indexes)

    if reason is None and not suspended and status["active"] == 0 and (
            (completions is None and succeeded > 0)
            or (completions is not None and succeeded >= completions)):
        reason, message = "CompletionsReached", COMPLETIONS_MESSAGE
    if reason == "CompletionsReached":
        _set_condition(status, "SuccessCriteriaMet", "True", reason, message, now)
        if status["terminating"] == 0:
            _set_condition(status, "Complete", "True", reason, message, now)
            status["completionTime"] = format_time(now)
            events.append(("Normal", "Completed", "Job completed"))
    elif reason is not None:
        _set_condition(status, "FailureTarget", "True", reason, message, now)
        if status["terminating"] == 0:
            _set_condition(status, "Failed", "True", reason, message, now)
            events.append(("Warning", reason, message))
    if (reason is not None and status["terminating"] == 0
            and spec.get("ttlSecondsAfterFinished") is not None):
        requeue.append(float(spec["ttlSecondsAfterFinished"]))
    return JobPlan(
        create=tuple(create),
        delete=tuple((p.get("metadata") or {}).get("name", "") for p in delete),
        status=status, events=tuple(events),
        requeue_after=min(requeue) if requeue else None,
    )


def _manage(job: Obj, active: list[Obj], succeeded: int, succeeded_indexes: set[int],
            succeeded_pods: Sequence[Obj], failed_pods: Sequence[Obj], now: datetime
            ) -> tuple[list[Obj], list[dict], float | None]:
    """manageJob: (pods to delete, pods to create, seconds of pod-failure back-off to wait)."""
    spec = job.get("spec") or {}
    indexed = spec.get("completionMode") == "Indexed"
    completions = _int(spec.get("completions"), None)
    parallelism = _int(spec.get("parallelism"), 1) or 0
    delete: list[Obj] = []
    if indexed:  # appendDuplicatedIndexPodsForRemoval: bad, out-of-range, succeeded, duplicates
        seen: set[int] = set()
        for pod in sorted(active, key=_removal_rank, reverse=True):
            index = completion_index(pod)
            if index is None or index >= (completions or 0) or index in succeeded_indexes \
                    or index in seen:
                delete.append(pod)
            else:
                seen.add(index)
    kept = [p for p in active if p not in delete]
    if completions is None:
        want = len(kept) if succeeded > 0 else parallelism
    else:
        want = max(0, min(completions - succeeded, parallelism))
    extra = len(kept) - want
    if extra > 0:
        delete.extend(sorted(kept, key=_removal_rank)[:extra])
    if delete:
        return delete[:MAX_POD_CREATE_DELETE_PER_SYNC], [], None
    missing = min(want - len(kept), MAX_POD_CREATE_DELETE_PER_SYNC)
    if missing <= 0:
        return [], [], None
    wait = _backoff_remaining(succeeded_pods, failed_pods, now)
    if wait > 0:
        return [], [], wait
    if not indexed:
        return [], [pod_for_job(job) for _ in range(missing)], None
    taken = succeeded_indexes | {completion_index(p) for p in kept}
    free = [i for i in range(completions or 0) if i not in taken][:missing]  # firstPendingIndexes
    return [], [pod_for_job(job, i) for i in free], None


def _plan_finished(job: Obj, status: dict, now: datetime) -> JobPlan:
    """A finished Job is left alone, except that ttlSecondsAfterFinished deletes it
    (ttlafterfinished_controller.go processTTL: from completionTime or the Failed condition)."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None:
        return JobPlan(status=status)
    finished = None
    for kind in ("Complete", "Failed"):
        cond = _condition(status, kind)
        if cond is not None and cond.get("status") == "True":
            finished = parse_time(status.get("completionTime") if kind == "Complete" else None) \
                or parse_time(cond.get("lastTransitionTime"))
    if finished is None:
        finished = now
    remaining = (finished + timedelta(seconds=int(ttl)) - now).total_seconds()
    if remaining <= 0:
        return JobPlan(status=status, delete_job=True)
    return JobPlan(status=status, requeue_after=remaining)
