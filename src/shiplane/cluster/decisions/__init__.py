"""Pure decision cores of the embedded cluster: plain functions over Kubernetes-shaped dicts.

No I/O, no clocks (``now`` is always passed in), no randomness. The controllers, scheduler and
simulated kubelets call these and perform the returned plans through the API server.

=======================  =======================================================================
``rollout``              ``plan_deployment`` — one Deployment controller sync (RollingUpdate,
                         Recreate, scaling, pause, status and conditions, revision cleanup)
``rollout_progress``     status, Available/Progressing/ReplicaFailure conditions, deadlines
``rollout_scaling``      proportional scaling of ReplicaSets when replicas change mid-rollout
``deployment_util``      fenceposts, NewRSNewReplicas, revision annotations, completeness
``template_hash``        pod-template-hash, EqualIgnoreHash, the new ReplicaSet object
``rollout_client``       ``kubectl rollout status`` text and ``rollout undo`` patch
``replicaset``           ``plan_replicaset`` — slow-start creates, ranked deletes, status
``job``                  ``plan_job`` — Job pods (NonIndexed/Indexed), back-off, deadline, suspend,
                         conditions, ttlSecondsAfterFinished
``scheduling``           ``schedule`` — FitError message, node search, weighted scores
``scheduler_*``          snapshot (NodeInfo), filters, scores of the default plugins
``quantity``             resource.Quantity parsing; ``pod_resources`` effective requests
``image_pull``           pull policy, cache/pull/back-off decision, Pulled/Pulling events, duration
``backoff``              kubelet exponential back-off (10 s → 300 s, reset after 10 min)
``container_states``     container lifecycle transition table, CrashLoopBackOff decision
``probes``               probe workers (thresholds, startup gating); ``pod_status`` phase/conditions
``termination``          preStop, SIGTERM, SIGKILL timeline of a stopping container
``container_process``    argv/env (``$(VAR)``, envFrom, key refs)/workingDir/user of a container
``cgroup_resources``     cpu.shares/CFS quota/memory limit of a container (kubelet, runc; v1, v2)
``pod_volumes``          emptyDir/configMap/secret volume files and a container's volumeMounts
``container_log``        CRI log lines, pods/log options, which instance ``--previous`` means
``remote_command``       pods/exec and pods/attach: options, channel framing, exit-code Status
``sim_behaviour``        the ``sim.shiplane.dev/*`` annotations of simulated containers
``endpoints``            Endpoints and EndpointSlices of a Service
``event_correlation``    client-go's EventCorrelator: similar-event aggregation, counts, spam filter
``autoscaling``          HPA reconcile: stabilisation, scaling policies (``hpa_replicas``: calculator)
``disruption``           PDB status and the eviction decision
``garbage_collection``   ownerReference collection: background, foreground, orphan
``namespace_deletion``   emptying a Terminating namespace: leftovers, estimates, conditions
``node_lifecycle``       node health from Lease age, unreachable/not-ready taints, taint eviction
=======================  =======================================================================
"""

from shiplane.cluster.decisions.autoscaling import (
    AutoscalerMemory,
    HPADecision,
    MetricSample,
    plan_hpa,
)
from shiplane.cluster.decisions.backoff import Backoff
from shiplane.cluster.decisions.container_states import (
    ContainerRecord,
    Input,
    InvalidTransition,
    Phase,
    transition,
)
from shiplane.cluster.decisions.disruption import EvictionDecision, decide_eviction, pdb_status
from shiplane.cluster.decisions.endpoints import endpoint_slices, endpoints
from shiplane.cluster.decisions.errors import (
    DecisionInputError,
    InvalidIntOrPercent,
    InvalidQuantity,
)
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.garbage_collection import plan_collection
from shiplane.cluster.decisions.image_pull import (
    PullDecision,
    decide_pull,
    default_pull_policy,
    pull_duration,
)
from shiplane.cluster.decisions.job import JobPlan, plan_job
from shiplane.cluster.decisions.node_lifecycle import node_health, taint_eviction
from shiplane.cluster.decisions.pod_status import pod_conditions, pod_phase
from shiplane.cluster.decisions.probes import ProbeWorker, new_worker, probe_step
from shiplane.cluster.decisions.quantity import parse_quantity
from shiplane.cluster.decisions.replicaset import ReplicaSetPlan, plan_replicaset
from shiplane.cluster.decisions.rollout import (
    CreateReplicaSet,
    DeleteReplicaSet,
    DeploymentPlan,
    UpdateDeployment,
    UpdateReplicaSet,
    plan_deployment,
)
from shiplane.cluster.decisions.rollout_client import (
    RollbackDecision,
    RolloutStatus,
    plan_rollback,
    rollout_status,
)
from shiplane.cluster.decisions.scheduling import FitError, ScheduleResult, schedule
from shiplane.cluster.decisions.sim_behaviour import ContainerBehaviour, behaviour_for
from shiplane.cluster.decisions.termination import TerminationPlan, plan_termination

__all__ = [
    "AutoscalerMemory",
    "Backoff",
    "ContainerBehaviour",
    "ContainerRecord",
    "CreateReplicaSet",
    "DecisionInputError",
    "DeleteReplicaSet",
    "DeploymentPlan",
    "Event",
    "EvictionDecision",
    "FitError",
    "HPADecision",
    "Input",
    "InvalidIntOrPercent",
    "InvalidQuantity",
    "InvalidTransition",
    "JobPlan",
    "MetricSample",
    "Phase",
    "ProbeWorker",
    "PullDecision",
    "ReplicaSetPlan",
    "RollbackDecision",
    "RolloutStatus",
    "ScheduleResult",
    "TerminationPlan",
    "UpdateDeployment",
    "UpdateReplicaSet",
    "behaviour_for",
    "decide_eviction",
    "decide_pull",
    "default_pull_policy",
    "endpoint_slices",
    "endpoints",
    "new_worker",
    "node_health",
    "parse_quantity",
    "pdb_status",
    "plan_collection",
    "plan_deployment",
    "plan_hpa",
    "plan_job",
    "plan_replicaset",
    "plan_rollback",
    "plan_termination",
    "pod_conditions",
    "pod_phase",
    "probe_step",
    "pull_duration",
    "rollout_status",
    "schedule",
    "taint_eviction",
    "transition",
]
