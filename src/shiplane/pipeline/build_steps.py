"""The build, tag and push steps, over the daemonless builder (``shiplane.build``).

The builder's one-call ``build_and_tag`` (behind ``shiplane build``) is split here
into the guide's three pipeline steps, each doing its own part of the work:

* ``build``: Dockerfile → OCI image in the builder's store (layer cache, sandboxed RUN);
* ``tag``: the CI tag set — semver from ``helm/Chart.yaml`` appVersion, ``sha-<7>``,
  ``build-<n>`` and the UTC time — on the local image and in an OCI layout for the run;
  ``n`` is ``GITHUB_RUN_NUMBER`` in GitHub Actions, else the pipeline run number;
* ``push``: every tag to ``<registry>/<service>``, the registry being ``--registry``
  or the environment's; the run then records ``repo:sha-<7>@<digest>`` for the deploy.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from shiplane.build import BuildOptions, Builder, TagInputs, compute_tags
from shiplane.build.buildinfo import chart_app_version, git_state
from shiplane.build.oci import write_layout
from shiplane.build.tagged_build import push_image
from shiplane.config import running_stack
from shiplane.errors import BuildError
from shiplane.pipeline.delivery_steps import deploy_tag
from shiplane.pipeline.errors import StepFailed
from shiplane.pipeline.steps import StepContext, StepOutputs

__all__ = ["build_step", "push_step", "tag_step", "target_registry"]


def target_registry(context: StepContext) -> str | None:
    """``--registry``, else the environment's registry; the embedded one is the running
    ``shiplane up`` stack's (None when no stack runs)."""
    if context.settings.registry:
        return context.settings.registry.rstrip("/")
    registry = context.environment.registry
    if registry.is_embedded:
        stack = running_stack(context.state_dir)
        return stack.registry if stack is not None else None
    return registry.url


def _builder(context: StepContext) -> Builder:
    return Builder.at(context.state_dir)


def build_step(context: StepContext) -> StepOutputs:
    workdir = context.workdir
    if not (workdir / "Dockerfile").is_file():
        raise StepFailed(f"no Dockerfile in {workdir}")
    git = git_state(workdir)
    version = chart_app_version(workdir)
    labels = {}
    if git:
        labels["org.opencontainers.image.revision"] = git.sha
        if git.remote:
            labels["org.opencontainers.image.source"] = git.remote
    if version:
        labels["org.opencontainers.image.version"] = version
    # Reproducible as `shiplane build`: SOURCE_DATE_EPOCH, else HEAD's commit time.
    epoch = None
    if not os.environ.get("SOURCE_DATE_EPOCH") and git and git.commit_time:
        epoch = git.commit_time
    result = _builder(context).build(BuildOptions(
        workdir, build_args=dict(context.settings.build_args), labels=labels,
        source_date_epoch=epoch, progress=context.log.write,
    ))
    context.outputs["image"] = result.image
    return StepOutputs(
        summary=f"{result.image.digest[:19]} ({result.cache_hits} cached, "
                f"{result.cache_misses} run)",
        image_digest=result.image.digest,
    )


def tag_step(context: StepContext) -> StepOutputs:
    image = context.outputs.get("image")
    if image is None:
        raise StepFailed("no image was built in this run")
    git = git_state(context.workdir)
    ci_number = os.environ.get("GITHUB_RUN_NUMBER", "")
    tags = compute_tags(TagInputs(
        version=chart_app_version(context.workdir), git_sha=git.sha if git else None,
        dirty=git.dirty if git else False,
        build_number=int(ci_number) if ci_number.isdigit() else context.run.id,
        time=datetime.now(timezone.utc), environment=context.run.env,
    ))
    registry = target_registry(context)
    repository = f"{registry}/{context.run.service}" if registry else context.run.service
    builder = _builder(context)
    layout = context.state_dir / "pipeline" / "images" / f"run-{context.run.id}"
    write_layout(layout, builder.blobs, image, tags)
    for tag in tags:
        builder.images.tag(f"{repository}:{tag}", image)
        context.log.write(f"tagged {repository}:{tag}")
    context.outputs["layout"] = layout
    return StepOutputs(summary=", ".join(tags), image_tags=tags,
                       image_reference=f"{repository}:{deploy_tag(tags)}@{image.digest}")


def push_step(context: StepContext) -> StepOutputs:
    layout = context.outputs.get("layout")
    if layout is None or not context.run.image_tags:
        raise StepFailed("no tagged image in this run")
    registry = target_registry(context)
    if registry is None:
        raise StepFailed(
            f"the {context.run.env} environment pushes to the embedded registry, "
            "whose address this run does not know",
            hint="start the embedded stack (`shiplane up`) or pass --registry HOST:PORT",
        )
    repository = f"{registry}/{context.run.service}"
    tags = context.run.image_tags
    try:
        push_image(layout, repository, tags)
    except BuildError as error:
        raise StepFailed(f"push to {repository} failed: {error.message}", hint=error.hint) from None
    for tag in tags:
        context.log.write(f"pushed {repository}:{tag}")
    digest = context.run.image_digest
    return StepOutputs(summary=f"{len(tags)} tags to {repository}",
                       image_reference=f"{repository}:{deploy_tag(tags)}@{digest}")
