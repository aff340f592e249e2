"""Model 1's ``deploy`` step: ``shiplane.release.deploy`` with the image ``push`` produced.

The image is named by digest (``<registry>/<service>:sha-<7>@sha256:…``, the run's
``image_reference``), so what rolls out is exactly what this run built, whatever
later pushes do to the tags. The rollout's steps (new ReplicaSet, pods scheduled,
pulled, Ready…) go to the step log; the Helm release revision goes into the run.
A failed rollout fails the step with Helm's and the diagnosis' reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shiplane.errors import ShiplaneError
from shiplane.pipeline.errors import StepFailed
from shiplane.pipeline.steps import StepContext, StepOutputs

if TYPE_CHECKING:
    from shiplane.release import StepEvent

__all__ = ["deploy_step", "describe_step_event"]


def describe_step_event(step: StepEvent) -> str:
    """One log line for a release ``StepEvent``: ``[pulled] pod/NAME 1.2 MB in 0.3s``."""
    return " ".join(part for part in (f"[{step.step}]", step.subject, step.detail) if part)


def deploy_step(context: StepContext) -> StepOutputs:
    from shiplane.release import deploy  # Helm SDK: heavy, loaded only when a run deploys

    run = context.run
    if not run.image_reference:
        raise StepFailed("no image was pushed by this run: nothing to deploy")
    chart = context.workdir / "helm"
    if not chart.is_dir():
        raise StepFailed(f"the service repository has no Helm chart ({chart} is missing)",
                         hint="Model 1 services keep their chart in ./helm (shiplane init service)")
    context.log.write(f"helm upgrade --install {run.service} ./helm -f values-{run.env}.yaml "
                      f"--set-string image={run.image_reference}")
    try:
        result = deploy(context.workdir, run.env, image_ref=run.image_reference,
                        workspace=context.workspace,
                        on_step=lambda step: context.log.write(describe_step_event(step)))
    except ShiplaneError as error:
        raise StepFailed(f"deploy failed: {error.message}", hint=error.hint) from None
    action = "installed" if result.installed else "upgraded"
    return StepOutputs(
        summary=f"{result.release} {action} in {result.namespace}: revision {result.revision} "
                f"{result.status}",
        release_revision=result.revision,
    )
