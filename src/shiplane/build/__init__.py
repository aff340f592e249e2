"""Daemonless image builder: Dockerfile → reproducible OCI image (``shiplane build``).

Pure cores: :mod:`dockerfile` (parser), :mod:`shellwords` (substitution), :mod:`dockerignore`,
:mod:`plan` (build plan and cache keys), :mod:`tags` (CI tag set). I/O: :mod:`context`
(context scan), :mod:`layers` (tar/gzip, whiteouts), :mod:`sandbox` (bubblewrap),
:mod:`builder` (executor + layer cache), :mod:`images` (pull/push seam), :mod:`baseimage`;
shiplane's own image: :mod:`wheelhouse` (installed distributions → wheels),
:mod:`shiplane_image` (``shiplane gitops image build``).
"""

from __future__ import annotations

from shiplane.build.baseimage import BaseImageResult, create_base_images
from shiplane.build.builder import BuildOptions, BuildResult, Builder
from shiplane.build.container import RunningImage, start_image, unpack_rootfs
from shiplane.build.dockerfile import Dockerfile, Instruction, parse_dockerfile
from shiplane.build.dockerignore import IgnoreRules, parse_dockerignore
from shiplane.build.errors import (
    ArchiveRejected,
    BaseImageError,
    BuildError,
    ContextError,
    DockerfileError,
    PushError,
    RunFailed,
    SandboxError,
    TagError,
    UnsupportedInstruction,
)
from shiplane.build.layers import ArchiveLimits
from shiplane.build.plan import BuildPlan, plan_build, required_images
from shiplane.build.shiplane_image import ShiplaneImage, ShiplaneImageRequest, build_shiplane_image
from shiplane.build.tagged_build import BuildRequest, TaggedBuild, build_and_tag
from shiplane.build.tags import TagInputs, compute_tags
from shiplane.build.wheelhouse import PackedWheel, write_wheelhouse

__all__ = [
    "ArchiveLimits",
    "ArchiveRejected",
    "BaseImageError",
    "BaseImageResult",
    "BuildError",
    "BuildOptions",
    "BuildPlan",
    "BuildRequest",
    "BuildResult",
    "Builder",
    "ContextError",
    "Dockerfile",
    "DockerfileError",
    "IgnoreRules",
    "Instruction",
    "PackedWheel",
    "PushError",
    "RunFailed",
    "RunningImage",
    "SandboxError",
    "ShiplaneImage",
    "ShiplaneImageRequest",
    "TagError",
    "TagInputs",
    "TaggedBuild",
    "UnsupportedInstruction",
    "build_and_tag",
    "build_shiplane_image",
    "compute_tags",
    "create_base_images",
    "parse_dockerfile",
    "parse_dockerignore",
    "plan_build",
    "required_images",
    "start_image",
    "unpack_rootfs",
    "write_wheelhouse",
]
