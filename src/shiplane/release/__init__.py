"""Model 1 releases: ``shiplane deploy`` / ``history`` / ``rollback`` / ``diff`` through Helm.

``deploy`` is the guide's ``helm upgrade --install SERVICE ./helm -f values-ENV.yaml
--set-string image.tag=…`` run through Helm's SDK (``shiplane.charts``) against an
environment's cluster (embedded or any kubeconfig context, one code path), with
recovery of releases left pending by killed deploys (``revisions``, ``storage``),
live rollout steps (``progress``, ``namespace_watch``, ``view``), a diagnosis of
failures and automatic rollback (``diagnosis``), and a normalised diff (``diff``).
"""

from shiplane.release.deploy import DeployResult, deploy, ensure_namespace, recover_stuck
from shiplane.release.diagnosis import Diagnosis, PodProblem, diagnose
from shiplane.release.diff import ObjectDiff, diff_objects, normalise
from shiplane.release.errors import (
    DeployFailedError,
    ReleaseBusyError,
    ReleaseError,
    ReleaseStorageError,
    ReleaseTargetError,
)
from shiplane.release.operations import release_diff, release_revisions, rollback
from shiplane.release.progress import Observation, StepEvent, TrackerState, advance, initial_state
from shiplane.release.revisions import (
    PENDING_STATUSES,
    OwnerState,
    RecoveryAction,
    RecoveryPlan,
    Revision,
    last_deployed,
    plan_recovery,
)
from shiplane.release.target import image_overrides, resolve_access, resolve_chart
from shiplane.release.view import JsonLinesSink, LiveStepView

__all__ = [
    "PENDING_STATUSES",
    "DeployFailedError",
    "DeployResult",
    "Diagnosis",
    "JsonLinesSink",
    "LiveStepView",
    "ObjectDiff",
    "Observation",
    "OwnerState",
    "PodProblem",
    "RecoveryAction",
    "RecoveryPlan",
    "ReleaseBusyError",
    "ReleaseError",
    "ReleaseStorageError",
    "ReleaseTargetError",
    "Revision",
    "StepEvent",
    "TrackerState",
    "advance",
    "deploy",
    "diagnose",
    "diff_objects",
    "ensure_namespace",
    "image_overrides",
    "initial_state",
    "last_deployed",
    "normalise",
    "plan_recovery",
    "recover_stuck",
    "release_diff",
    "release_revisions",
    "resolve_access",
    "resolve_chart",
    "rollback",
]
