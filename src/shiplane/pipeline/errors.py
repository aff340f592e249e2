"""Errors of the pipeline package.

::

    PipelineError                   (shiplane.errors) a run, the git server or a webhook failed
    ├── InvalidTransition           a step or run event not allowed in its state (a bug)
    ├── RunNotFound                 `pipeline show/logs RUN` for an unknown run id (exit 2)
    ├── NotAServiceRepo             `pipeline run` outside a service repository (exit 2)
    ├── UnknownStep                 `--until`/`--step` names no step of the pipeline (exit 2)
    ├── UnknownEnvironment          `--env` names no environment of the workspace (exit 2)
    ├── StepFailed                  raised by a step implementation: the step failed, with why
    ├── GitServerError              the local git server cannot start or serve a repository
    └── WebhookRejected             a webhook request is malformed or its signature is wrong
"""

from __future__ import annotations

from shiplane.errors import PipelineError

__all__ = [
    "GitServerError",
    "InvalidTransition",
    "NotAServiceRepo",
    "PipelineError",
    "RunNotFound",
    "StepFailed",
    "UnknownEnvironment",
    "UnknownStep",
    "WebhookRejected",
]


class InvalidTransition(PipelineError):
    """An event that the state machine does not allow in the current state."""


class RunNotFound(PipelineError):
    exit_code = 2


class NotAServiceRepo(PipelineError):
    exit_code = 2


class UnknownStep(PipelineError):
    exit_code = 2


class UnknownEnvironment(PipelineError):
    exit_code = 2


class StepFailed(PipelineError):
    """A step implementation's way to say "this step failed, because ..."."""


class GitServerError(PipelineError):
    pass


class WebhookRejected(PipelineError):
    """``status`` is the HTTP status the webhook endpoint answers with."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
