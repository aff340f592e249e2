"""CI pipeline runs (Model 1 and 2), the local git server and push webhooks.

Pure cores: :mod:`states` (step/run state machines, :func:`next_action`),
:mod:`definition` (steps per model, service info from the chart), :mod:`webhook`
(GitHub/Gitea push payloads). Stores: :mod:`store` (memory, SQLite). I/O:
:mod:`steps` (step registry, checkout, test), :mod:`runner`, :mod:`run_queue`,
:mod:`gitserver` (smart HTTP via ``git http-backend``), :mod:`triggers`,
:mod:`embedded` (servers in this process), :mod:`operations` (what the CLI calls).
"""

from shiplane.pipeline.definition import (
    CHECKOUT,
    MODEL_ANNOTATION,
    MODEL_STEPS,
    ServiceInfo,
    plan_steps,
    read_service_info,
    service_info_from_chart,
)
from shiplane.pipeline.embedded import LocalGitServer, PipelineServer, git_root
from shiplane.pipeline.errors import (
    GitServerError,
    InvalidTransition,
    NotAServiceRepo,
    PipelineError,
    RunFailed,
    RunNotFound,
    StepFailed,
    UnknownEnvironment,
    UnknownStep,
    WebhookRejected,
)
from shiplane.pipeline.gitserver import (
    PushEvent,
    RefUpdate,
    RepositoryRoot,
    build_git_app,
    diff_refs,
)
from shiplane.pipeline.operations import (
    get_run,
    list_runs,
    resolve_workspace,
    run_logs,
    run_pipeline,
    serve_git,
)
from shiplane.pipeline.records import RunRecord, StepRecord, Trigger, log_tail
from shiplane.pipeline.run_queue import RunQueue
from shiplane.pipeline.runner import PipelineRunner, RunObserver, RunRequest
from shiplane.pipeline.states import (
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    Event,
    FinishRun,
    RunStatus,
    StartStep,
    StepStatus,
    next_action,
    run_transition,
    step_transition,
)
from shiplane.pipeline.steps import (
    RunSettings,
    StepContext,
    StepImplementation,
    StepLog,
    StepOutputs,
    StepRegistry,
    default_step_registry,
    run_logged,
)
from shiplane.pipeline.store import MemoryRunStore, RunStore, SqliteRunStore, open_run_store
from shiplane.pipeline.triggers import PushTrigger, service_info_at, triggering_updates
from shiplane.pipeline.webhook import WebhookPush, parse_push_webhook, sign_body

__all__ = [
    "CHECKOUT",
    "MODEL_ANNOTATION",
    "MODEL_STEPS",
    "RUN_TRANSITIONS",
    "STEP_TRANSITIONS",
    "Event",
    "FinishRun",
    "GitServerError",
    "InvalidTransition",
    "LocalGitServer",
    "MemoryRunStore",
    "NotAServiceRepo",
    "PipelineError",
    "PipelineRunner",
    "PipelineServer",
    "PushEvent",
    "PushTrigger",
    "RefUpdate",
    "RepositoryRoot",
    "RunFailed",
    "RunNotFound",
    "RunObserver",
    "RunQueue",
    "RunRecord",
    "RunRequest",
    "RunSettings",
    "RunStatus",
    "RunStore",
    "ServiceInfo",
    "SqliteRunStore",
    "StartStep",
    "StepContext",
    "StepFailed",
    "StepImplementation",
    "StepLog",
    "StepOutputs",
    "StepRecord",
    "StepRegistry",
    "StepStatus",
    "Trigger",
    "UnknownEnvironment",
    "UnknownStep",
    "WebhookPush",
    "WebhookRejected",
    "build_git_app",
    "default_step_registry",
    "diff_refs",
    "get_run",
    "git_root",
    "list_runs",
    "log_tail",
    "next_action",
    "open_run_store",
    "parse_push_webhook",
    "plan_steps",
    "read_service_info",
    "resolve_workspace",
    "run_logged",
    "run_logs",
    "run_pipeline",
    "run_transition",
    "serve_git",
    "service_info_at",
    "service_info_from_chart",
    "sign_body",
    "step_transition",
    "triggering_updates",
]
