"""Steps that deliver: Model 2's ``bump`` (commit the new tag to the platform repo).

``bump`` is the guide's Model 2 hand-off: CI does not deploy, it commits the new
image tag to ``<env>/<service>/values.yaml`` of the platform repo with
``platform set-image`` and Argo CD (or shiplane's GitOps controller) syncs it.
The tag committed is the immutable ``sha-<7>`` one when the build made it (the
same choice as the generated GitHub workflow), else the first tag pushed.
"""

from __future__ import annotations

from collections.abc import Sequence

from shiplane.errors import ScaffoldError
from shiplane.pipeline.errors import StepFailed
from shiplane.pipeline.steps import StepContext, StepOutputs
from shiplane.scaffold import set_image

__all__ = ["bump_step", "deploy_tag", "image_repository"]


def image_repository(reference: str) -> str:
    """``host:5000/team/svc:tag@sha256:…`` → ``host:5000/team/svc``."""
    name = reference.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def deploy_tag(tags: Sequence[str]) -> str | None:
    """The tag a deploy should name: ``sha-<7>`` (immutable per commit), else the first."""
    for tag in tags:
        if tag.startswith("sha-") and not tag.endswith("-dirty"):
            return tag
    return tags[0] if tags else None


def bump_step(context: StepContext) -> StepOutputs:
    run = context.run
    platform = context.settings.platform_repo
    if platform is None:
        raise StepFailed(
            "Model 2 needs the platform repo to commit the new image tag to",
            hint="pass --platform-repo PATH (a clone of the platform repo)",
        )
    tag = deploy_tag(run.image_tags)
    if not run.image_reference or tag is None:
        raise StepFailed("no image was pushed by this run: nothing to commit")
    repository = image_repository(run.image_reference)
    message = (f"{run.service}: {run.env} -> {tag} (pipeline run {run.id}"
               + (f", commit {run.commit[:7]})" if run.commit else ")"))
    try:
        root, commit = set_image(run.service, environment=run.env, tag=tag,
                                 repository=repository, directory=platform, message=message)
    except ScaffoldError as error:
        raise StepFailed(f"platform set-image failed: {error.message}", hint=error.hint) from None
    context.log.write(f"{root}: {run.env}/{run.service}/values.yaml image.repository="
                      f"{repository} image.tag={tag}")
    context.log.write(f"commit {commit}: {message}")
    return StepOutputs(summary=f"platform commit {commit[:7]}: {run.env} -> {tag}")
