"""The step implementations this shiplane has, by name.

A pipeline step whose name is not here fails with "no implementation" rather
than pretending. Model 1's ``deploy`` (``deploy_step``) reads
``context.run.image_reference`` (``<registry>/<service>:sha-<7>@<digest>``, set by
``push``), ``context.run.env``/``context.environment`` (namespace, cluster) and
``context.workdir / "helm"``, writes its progress to ``context.log``, raises a
``ShiplaneError`` on failure, and returns ``StepOutputs(release_revision=N)``.
"""

from __future__ import annotations

from shiplane.pipeline.steps import StepRegistry, checkout_step, test_step

__all__ = ["default_step_registry"]


def default_step_registry() -> StepRegistry:
    # imported here: the builder and the scaffold (Helm SDK) are heavy to load, and
    # `pipeline list/show/logs` never runs a step
    from shiplane.pipeline.build_steps import build_step, push_step, tag_step
    from shiplane.pipeline.delivery_steps import bump_step
    from shiplane.pipeline.deploy_step import deploy_step

    return StepRegistry({
        "checkout": checkout_step,
        "test": test_step,
        "build": build_step,
        "tag": tag_step,
        "push": push_step,
        "bump": bump_step,
        "deploy": deploy_step,
    })
