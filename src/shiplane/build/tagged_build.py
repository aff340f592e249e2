"""``shiplane build``: build, tag with the CI tag set, write a layout and/or push.

:func:`build_and_tag` is the one library call behind the command. It validates the tag set
before building, builds (embedded builder by default, or buildah / a Docker engine), and only after success
takes a build number, tags the image locally and in the layout, and pushes — so a failed build
leaves nothing tagged or pushed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from shiplane.build.buildah import build_with_buildah
from shiplane.build.builder import BuildOptions, Builder, BuildResult
from shiplane.build.buildinfo import chart_app_version, git_state, next_build_number
from shiplane.build.docker import build_with_docker
from shiplane.build.dockerfile import parse_dockerfile
from shiplane.build.errors import BuildError
from shiplane.build.images import is_insecure, push_tags
from shiplane.build.oci import read_layout, rfc3339, write_layout
from shiplane.build.plan import required_images
from shiplane.build.tags import TagInputs, compute_tags

__all__ = ["BuildRequest", "TaggedBuild", "build_and_tag", "split_reference"]

BUILDERS = ("embedded", "buildah", "docker")
NETWORKS = ("default", "none", "host")


@dataclass(frozen=True)
class BuildRequest:
    path: Path
    state_dir: Path
    repository: str | None = None
    tags: Sequence[str] = ()  # extra tags, or repo:tag
    version: str | None = None
    environment: str | None = None
    push: bool = False
    output_layout: Path | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    no_cache: bool = False
    pull: bool = False
    network: str = "default"
    builder: str = "embedded"
    target: str | None = None
    dockerfile: Path | None = None
    source_date_epoch: int | None = None
    now: datetime | None = None
    progress: object = None
    buildah_root: Path | None = None  # separate buildah storage (default: buildah's own)


@dataclass
class TaggedBuild:
    repository: str
    tags: list[str]
    digest: str
    pushed: bool
    layout: Path | None
    result: BuildResult | None = None

    @property
    def references(self) -> list[str]:
        return [f"{self.repository}:{tag}@{self.digest}" for tag in self.tags]


def split_reference(value: str) -> tuple[str | None, str]:
    """``repo:tag`` → (repo, tag); a bare ``tag`` → (None, tag)."""
    if "/" in value or value.count(":") > 1:
        repo, _, tag = value.rpartition(":")
        if "/" in tag or not repo:
            return value, ""
        return repo, tag
    if ":" in value:
        repo, _, tag = value.partition(":")
        return repo, tag
    return None, value


def build_and_tag(request: BuildRequest) -> TaggedBuild:
    path = Path(request.path).resolve()
    if request.builder not in BUILDERS:
        raise BuildError(f"unknown builder {request.builder!r}: choose one of {', '.join(BUILDERS)}")
    if request.network not in NETWORKS:
        raise BuildError(f"unknown network {request.network!r}: choose one of {', '.join(NETWORKS)}")
    repository = request.repository
    extra: list[str] = []
    for value in request.tags:
        repo, tag = split_reference(value)
        if repo and repository and repo != repository:
            raise BuildError(f"--tag {value}: all tags must name the same repository "
                             f"({repository})")
        repository = repository or repo
        if tag:
            extra.append(tag)
    repository = (repository or path.name).lower()
    version = request.version or chart_app_version(path)
    git = git_state(path)
    now = request.now or datetime.now(timezone.utc)
    inputs = TagInputs(version=version, git_sha=git.sha if git else None,
                       dirty=git.dirty if git else False, build_number=0, time=now,
                       environment=request.environment, extra=tuple(extra))
    compute_tags(inputs)  # refuse bad tags before spending time on the build
    labels = {}
    if git:
        labels["org.opencontainers.image.revision"] = git.sha
        if git.remote:
            labels["org.opencontainers.image.source"] = git.remote
    if version:
        labels["org.opencontainers.image.version"] = version

    # Reproducible by default: SOURCE_DATE_EPOCH, else HEAD's commit time, else 0.
    epoch = request.source_date_epoch
    if epoch is None and not os.environ.get("SOURCE_DATE_EPOCH") and git and git.commit_time:
        epoch = git.commit_time
    builder = Builder.at(request.state_dir)
    with tempfile.TemporaryDirectory(prefix="shiplane-out-", dir=builder.work_root) as tmp:
        layout = Path(request.output_layout) if request.output_layout else Path(tmp) / "layout"
        result = None
        if request.builder == "buildah":
            dockerfile = request.dockerfile or path / "Dockerfile"
            refs = required_images(parse_dockerfile(dockerfile.read_text()), request.build_args)
            staging = Path(tmp) / "buildah"
            build_with_buildah(path, dockerfile, staging, "build", build_args=request.build_args,
                               no_cache=request.no_cache, network=request.network,
                               insecure=any(is_insecure(r) for r in refs),
                               source_date_epoch=epoch,
                               target=request.target, root=request.buildah_root)
            image = read_layout(staging, builder.blobs, "build")
        elif request.builder == "docker":
            staging = Path(tmp) / "docker"
            created = rfc3339(epoch if epoch is not None else _env_epoch())
            build_with_docker(path, request.dockerfile or path / "Dockerfile", staging, "build",
                              build_args=request.build_args, no_cache=request.no_cache,
                              pull=request.pull, network=request.network, target=request.target,
                              labels={"org.opencontainers.image.created": created, **labels})
            image = read_layout(staging, builder.blobs, "build")
        else:
            result = builder.build(BuildOptions(
                path, dockerfile=request.dockerfile, build_args=request.build_args,
                target=request.target, no_cache=request.no_cache, pull=request.pull,
                network=request.network, source_date_epoch=epoch,
                labels=labels, progress=request.progress,  # type: ignore[arg-type]
            ))
            image = result.image
        number = next_build_number(Path(request.state_dir) / "build" / "build-numbers.json",
                                   repository)
        tags = compute_tags(TagInputs(
            version=version, git_sha=inputs.git_sha, dirty=inputs.dirty, build_number=number,
            time=now, environment=request.environment, extra=tuple(extra)))
        write_layout(layout, builder.blobs, image, tags)
        for tag in tags:
            builder.images.tag(f"{repository}:{tag}", image)
        if request.push:
            push_image(layout, repository, tags)
        return TaggedBuild(repository, tags, image.digest, request.push,
                           request.output_layout, result)


def _env_epoch() -> int:
    """The embedded builder's default source date: $SOURCE_DATE_EPOCH, else 0."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    if value and not value.isdigit():
        raise BuildError(f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds")
    return int(value or 0)


def push_image(layout: Path, repository: str, tags: Sequence[str]) -> None:
    """Push every tag of ``layout`` to ``repository`` (the one place that pushes)."""
    push_tags(layout, repository, tags)
