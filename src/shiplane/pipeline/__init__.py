"""CI pipeline runs (Model 1 and 2), the local git server and push webhooks.

Pure cores: :mod:`states` (step/run state machines, :func:`next_action`),
:mod:`definition` (steps per model, service info from the chart), :mod:`webhook`
(GitHub/Gitea push payloads). Stores: :mod:`store` (memory, SQLite). I/O:
:mod:`steps` (step registry, checkout, test), :mod:`build_steps` (build, tag, push
over ``shiplane.build``), :mod:`delivery_steps` (bump), :mod:`deploy_step` (Model 1 deploy), :mod:`catalog` (steps by name),
:mod:`runner`, :mod:`run_queue`, :mod:`gitserver` (smart HTTP via ``git http-backend``),
:mod:`triggers`,
:mod:`embedded` (servers in this process), :mod:`operations` (what the CLI calls).
"""

import importlib

from shiplane.pipeline.catalog import default_step_registry
from shiplane.pipeline.definition import (
    CHECKOUT,
    MODEL_ANNOTATION,
    MODEL_STEPS,
    ServiceInfo,
    plan_steps,
    read_service_info,
    service_info_from_chart,
)
from shiplane.pipeline.errors import (
    GitServerError,
    InvalidTransition,
    NotAServiceRepo,
    PipelineError,
    RunNotFound,
    StepFailed,
    UnknownEnvironment,
    UnknownStep,
    WebhookRejected,
)
from shiplane.pipeline.operations import (
    WorkspacePaths,
    follow_run,
    get_run,
    list_runs,
    resolve_workspace,
    run_logs,
    run_pipeline,
    serve_git,
)
from shiplane.pipeline.records import RunRecord, StepRecord, Trigger, log_tail, utc_now
from shiplane.pipeline.recovery import (
    is_abandoned,
    pid_alive,
    recover_abandoned,
    runner_id,
    settle_abandoned,
)
from shiplane.pipeline.run_queue import RunQueue
from shiplane.pipeline.runner import PipelineRunner, RunObserver, RunRequest
from shiplane.pipeline.states import (
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    Action,
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
    checkout_step,
    run_logged,
    test_python,
    test_step,
)
from shiplane.pipeline.store import (
    DATABASE_NAME,
    MemoryRunStore,
    RunStore,
    SqliteRunStore,
    open_run_store,
)
from shiplane.pipeline.webhook import WebhookPush, parse_push_webhook, sign_body

# Loaded on first use (PEP 562): web servers, the builder and the scaffold (Helm SDK) are
# heavy, and `shiplane pipeline list/show/logs` needs none of them.
_LAZY = {
    "build_step": "build_steps",
    "push_step": "build_steps",
    "tag_step": "build_steps",
    "target_registry": "build_steps",
    "bump_step": "delivery_steps",
    "deploy_tag": "delivery_steps",
    "image_repository": "delivery_steps",
    "deploy_step": "deploy_step",
    "describe_step_event": "deploy_step",
    "LocalGitServer": "embedded",
    "PipelineServer": "embedded",
    "git_root": "embedded",
    "PushEvent": "gitserver",
    "PushHandler": "gitserver",
    "RefUpdate": "gitserver",
    "RepositoryRoot": "gitserver",
    "WebhookHandler": "gitserver",
    "build_git_app": "gitserver",
    "diff_refs": "gitserver",
    "PushTrigger": "triggers",
    "service_info_at": "triggers",
    "triggering_updates": "triggers",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shiplane.pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(f"shiplane.pipeline.{module}"), name)


__all__ = [
    "CHECKOUT",
    "DATABASE_NAME",
    "MODEL_ANNOTATION",
    "MODEL_STEPS",
    "RUN_TRANSITIONS",
    "STEP_TRANSITIONS",
    "Action",
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
    "PushHandler",
    "PushTrigger",
    "RefUpdate",
    "RepositoryRoot",
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
    "WebhookHandler",
    "WebhookPush",
    "WebhookRejected",
    "WorkspacePaths",
    "build_git_app",
    "build_step",
    "bump_step",
    "checkout_step",
    "default_step_registry",
    "deploy_step",
    "deploy_tag",
    "describe_step_event",
    "diff_refs",
    "follow_run",
    "get_run",
    "git_root",
    "image_repository",
    "is_abandoned",
    "list_runs",
    "log_tail",
    "next_action",
    "open_run_store",
    "parse_push_webhook",
    "pid_alive",
    "plan_steps",
    "push_step",
    "read_service_info",
    "recover_abandoned",
    "resolve_workspace",
    "run_logged",
    "run_logs",
    "run_pipeline",
    "run_transition",
    "runner_id",
    "serve_git",
    "service_info_at",
    "service_info_from_chart",
    "settle_abandoned",
    "sign_body",
    "step_transition",
    "tag_step",
    "target_registry",
    "test_python",
    "test_step",
    "triggering_updates",
    "utc_now",
]
