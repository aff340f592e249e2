"""``history``, ``rollback`` and ``diff`` of a service's release in an environment.

Releases are ordinary Helm releases: history is read from Helm's storage Secrets
(what ``helm history`` reads), rollback is Helm's own (a new revision carrying the
old one's manifest), and diff compares what a deploy would render with the live
objects (``diff.diff_objects``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from shiplane.charts import (
    ValueOverrides,
    environment_overrides,
    release_manifest,
    render_chart,
    rollback_release,
)
from shiplane.config import Workspace
from shiplane.kube import ApiError, KubeClient
from shiplane.release.diff import ObjectDiff, diff_objects, normalise, object_key
from shiplane.release.errors import ReleaseTargetError
from shiplane.release.revisions import Revision
from shiplane.release.storage import read_revisions
from shiplane.release.target import (
    image_overrides,
    load_target_workspace,
    resolve_access,
    resolve_chart,
)

__all__ = ["release_diff", "release_revisions", "rollback"]


def release_revisions(
    service: str, env: str, *, workspace: Workspace | None = None
) -> list[Revision]:
    """The release's revisions, oldest first (empty if never deployed)."""
    access = resolve_access(workspace or load_target_workspace(), env)
    with KubeClient.from_kubeconfig(access.kubeconfig, access.context) as client:
        return read_revisions(client, access.namespace, service)


def rollback(
    service: str, env: str, revision: int | None = None, *, wait: bool = True,
    timeout: int = 300, workspace: Workspace | None = None,
) -> Revision:
    """Roll back to ``revision`` (default: the previous deployed one); returns the new revision."""
    access = resolve_access(workspace or load_target_workspace(), env)
    with KubeClient.from_kubeconfig(access.kubeconfig, access.context) as client:
        history = read_revisions(client, access.namespace, service)
        if not history:
            raise ReleaseTargetError(f"release {service} has never been deployed to {env}")
        numbers = [r.number for r in history]
        if revision is not None and revision not in numbers:
            raise ReleaseTargetError(
                f"release {service} in {env} has no revision {revision}",
                hint=f"revisions: {', '.join(map(str, numbers))}",
            )
        if revision is None:
            current = history[-1].number
            earlier = [r for r in history if r.number < current and r.status in
                       ("deployed", "superseded")]
            if not earlier:
                raise ReleaseTargetError(f"release {service} in {env} has no earlier revision")
            revision = earlier[-1].number
        rollback_release(access, service, revision, wait=wait, timeout=timeout)
        return read_revisions(client, access.namespace, service)[-1]


def release_diff(
    service_repo: str | Path, env: str, *, values_files: Sequence[Path] = (),
    set: Sequence[str] = (), set_string: Sequence[str] = (),  # noqa: A002
    set_json: Sequence[str] = (), set_file: Sequence[str] = (),
    image_tag: str | None = None, image_ref: str | None = None,
    workspace: Workspace | None = None,
) -> list[ObjectDiff]:
    """What a deploy with these values would change: rendered manifests vs live objects."""
    access = resolve_access(workspace or load_target_workspace(), env)
    service = resolve_chart(service_repo)
    overrides = environment_overrides(service.chart, env, ValueOverrides(
        values_files=tuple(values_files), set=tuple(set),
        set_string=(*set_string, *image_overrides(image_tag, image_ref)),
        set_json=tuple(set_json), set_file=tuple(set_file),
    ))
    rendered = render_chart(service.chart, overrides, release_name=service.name,
                            namespace=access.namespace)
    with KubeClient.from_kubeconfig(access.kubeconfig, access.context) as client:
        history = read_revisions(client, access.namespace, service.name)
        released: list[dict] = []
        if any(r.status == "deployed" for r in history):
            manifest = release_manifest(access, service.name)
            released = [d for d in yaml.safe_load_all(manifest) if isinstance(d, dict)]
        live: dict[str, dict | None] = {}
        for obj in [*rendered.manifests, *released]:
            key = object_key(normalise(obj, access.namespace))
            if key not in live:
                meta = obj.get("metadata") or {}
                try:
                    live[key] = client.get(obj["apiVersion"], obj["kind"], meta["name"],
                                           meta.get("namespace") or access.namespace)
                except ApiError as error:
                    if error.code != 404:
                        raise
                    live[key] = None
        previous = [object_key(normalise(o, access.namespace)) for o in released]
        return diff_objects(rendered.manifests, live, namespace=access.namespace,
                            previously_released=previous)
