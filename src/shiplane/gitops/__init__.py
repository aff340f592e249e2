"""Model 2's GitOps controller with Argo CD Application semantics, and promotion.

Pure cores: ``application`` (Application/AppProject models), ``project``
(whitelists), ``ignore`` + ``diff`` (normalised diff → sync status), ``plan``
(sync order), ``operation`` (the sync state machine: waves, hooks), ``health``,
``retry``, ``tracking``, ``quantity`` + ``removed`` (diff normalisation), ``windows`` +
``roles`` (AppProject sync windows and roles), ``leader`` (``decide``), ``credentials``
(``credentials_for``: Argo CD repository / repo-creds Secrets), ``request`` (the
Application's ``operation`` field: a requested sync). Adapters:
``desired`` (render through ``shiplane.charts``, git exports, Helm repositories),
``reconciler`` (sync, resume an operation left Running, run a requested one),
``observer`` (render, list live objects, compare), ``executor``
(apply/prune/wait through ``shiplane.kube``), ``live`` (per-pass list cache),
``controller`` (``gitops run``: poll loop, webhook listener), ``appwatch`` (watch on
the Applications for requested operations), ``leader``
(``LeaderElector`` over a Lease). Errors: the ``GitOpsError`` subtree in ``errors``.
"""

from shiplane.gitops.application import (
    Application,
    AppProject,
    Destination,
    HelmParameter,
    HelmSource,
    IgnoreDifference,
    ProjectRole,
    Retry,
    Source,
    SyncPolicy,
    SyncWindow,
    load_documents,
    parse_application,
    parse_project,
)
from shiplane.gitops.checkout import RepoCheckout
from shiplane.gitops.clusters import ClusterClients, resolve_destination
from shiplane.gitops.credentials import (
    RepoCredentials,
    SecretRepositoryCredentials,
    credentials_for,
)
from shiplane.gitops.desired import DesiredState, GitSources, LocalSources, render_application
from shiplane.gitops.diff import Comparison, ResourceDiff, SyncStatus, compare, normalise
from shiplane.gitops.errors import (
    ApplicationInvalid,
    GateRefused,
    GitOpsError,
    OperationInterrupted,
    ProjectViolation,
    PromotionError,
    RollbackRefused,
    SourceUnavailable,
    SyncFailed,
    SyncRefused,
)
from shiplane.gitops.gates import Gate, GateFacts, evaluate_gates
from shiplane.gitops.health import Health, HealthStatus, app_health, resource_health
from shiplane.gitops.operation import (
    Progress,
    Step,
    TaskPhase,
    next_step,
    restore,
    sync_wave_delay,
    task_progress,
)
from shiplane.gitops.plan import KIND_ORDER, Action, Phase, SyncTask, plan_sync
from shiplane.gitops.quantity import parse_quantity
from shiplane.gitops.project import project_problems
from shiplane.gitops.promotion import (
    AuditEntry,
    PendingPromotion,
    Promotion,
    approve,
    audit,
    commit_promotion,
    copy_keys,
    list_pending,
    plan_promotion,
    reject,
)
from shiplane.gitops.reconciler import FIELD_MANAGER, AppState, LiveCache, Reconciler
from shiplane.gitops.request import IN_PROGRESS, SyncRequest, in_progress, parse_request
from shiplane.gitops.status import (
    ClusterStatusStore,
    FileStatusStore,
    MemoryStatusStore,
    OperationState,
    StatusStore,
    application_status,
    terminate,
)
from shiplane.gitops.retry import backoff_schedule, next_delay, parse_duration, should_retry
from shiplane.gitops.windows import can_sync
from shiplane.gitops.tracking import mark, owned_by, tracking_id

__all__ = [
    "FIELD_MANAGER",
    "IN_PROGRESS",
    "KIND_ORDER",
    "Action",
    "AppProject",
    "AppState",
    "Application",
    "ApplicationInvalid",
    "AuditEntry",
    "ClusterStatusStore",
    "ClusterClients",
    "Comparison",
    "DesiredState",
    "Destination",
    "FileStatusStore",
    "Gate",
    "GateFacts",
    "GateRefused",
    "GitOpsError",
    "GitSources",
    "Health",
    "HealthStatus",
    "HelmParameter",
    "HelmSource",
    "IgnoreDifference",
    "LiveCache",
    "OperationInterrupted",
    "OperationState",
    "LocalSources",
    "MemoryStatusStore",
    "PendingPromotion",
    "Phase",
    "ProjectRole",
    "ProjectViolation",
    "Progress",
    "Promotion",
    "PromotionError",
    "Reconciler",
    "RepoCheckout",
    "RepoCredentials",
    "ResourceDiff",
    "Retry",
    "RollbackRefused",
    "SecretRepositoryCredentials",
    "Source",
    "SourceUnavailable",
    "Step",
    "StatusStore",
    "SyncFailed",
    "SyncPolicy",
    "SyncRefused",
    "SyncRequest",
    "SyncStatus",
    "SyncTask",
    "SyncWindow",
    "TaskPhase",
    "app_health",
    "application_status",
    "approve",
    "audit",
    "backoff_schedule",
    "can_sync",
    "commit_promotion",
    "compare",
    "copy_keys",
    "credentials_for",
    "evaluate_gates",
    "in_progress",
    "list_pending",
    "load_documents",
    "mark",
    "next_delay",
    "next_step",
    "normalise",
    "owned_by",
    "parse_application",
    "parse_duration",
    "parse_project",
    "parse_quantity",
    "parse_request",
    "plan_promotion",
    "plan_sync",
    "project_problems",
    "reject",
    "render_application",
    "resolve_destination",
    "resource_health",
    "restore",
    "should_retry",
    "sync_wave_delay",
    "task_progress",
    "terminate",
    "tracking_id",
]
