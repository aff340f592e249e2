"""The build plan: a pure function of (Dockerfile, context map, build args, base images).

Theory of operation. :func:`required_images` names the external images the Dockerfile needs
(FROM and COPY --from=<image>); the caller pulls them and passes their configs to
:func:`plan_build`, which walks the instructions once, keeping per stage the ARG scope and
the :class:`ImageConfig`, and emits a :class:`Step` per instruction with

* the config after the step (metadata instructions only change this),
* a :class:`CopyOp` or :class:`RunOp` for steps that change the filesystem,
* a cache key chaining the parent key, the instruction as resolved and the digest of its
  inputs (context file digests, the source stage's key, RUN's argv/env/user/workdir).

Nothing here touches the disk: the executor (``builder``) performs the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from shiplane.build.config import DEFAULT_PATH, HOST_PLATFORM, BaseImage, ImageConfig
from shiplane.build.context import ContextMap
from shiplane.build.dockerfile import Dockerfile, Instruction
from shiplane.build.errors import BuildError, UnsupportedInstruction
from shiplane.build.steps import (
    CopyEntry,
    CopyOp,
    RunOp,
    StagePlanner,
    Step,
    chain_key,
    expand,
    expand_list,
)

__all__ = [
    "BuildPlan",
    "CopyEntry",
    "CopyOp",
    "RunOp",
    "Stage",
    "Step",
    "plan_build",
    "required_images",
]


@dataclass(frozen=True)
class Stage:
    index: int
    name: str  # "" for unnamed stages
    base: str  # "scratch" | "image" | "stage"
    base_key: str
    initial_config: ImageConfig
    steps: tuple[Step, ...] = ()
    base_image: BaseImage | None = None
    base_stage: int | None = None
    line: int = 0

    @property
    def key(self) -> str:
        return self.steps[-1].key if self.steps else self.base_key

    @property
    def config(self) -> ImageConfig:
        return self.steps[-1].config if self.steps else self.initial_config

    def dependencies(self) -> set[int]:
        deps = {self.base_stage} if self.base_stage is not None else set()
        deps |= {s.copy.from_stage for s in self.steps if s.copy and s.copy.from_stage is not None}
        return deps


@dataclass(frozen=True)
class BuildPlan:
    stages: tuple[Stage, ...]
    target: int

    def needed_stages(self) -> list[int]:
        """The target and the stages it depends on, in build order."""
        order: list[int] = []

        def visit(index: int) -> None:
            if index in order:
                return
            for dep in sorted(self.stages[index].dependencies()):
                visit(dep)
            order.append(index)

        visit(self.target)
        return order

def _platform_args() -> dict[str, str]:
    p = HOST_PLATFORM
    return {
        "TARGETPLATFORM": str(p), "TARGETOS": p.os, "TARGETARCH": p.architecture,
        "TARGETVARIANT": p.variant, "BUILDPLATFORM": str(p), "BUILDOS": p.os,
        "BUILDARCH": p.architecture, "BUILDVARIANT": p.variant,
    }

@dataclass
class _Globals:
    args: dict[str, str | None] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {k: v for k, v in self.args.items() if v is not None}


def _global_args(df: Dockerfile, build_args: Mapping[str, str]) -> _Globals:
    scope = _Globals(dict(_platform_args()))
    for inst in df.instructions:
        if inst.keyword != "ARG":
            break
        for word in expand_list(inst, inst.rest, scope.env(), df.escape):
            name, eq, default = word.partition("=")
            scope.args[name] = build_args.get(name, default if eq else None)
    return scope


def _from_parts(inst: Instruction, env: Mapping[str, str], escape: str) -> tuple[str, str]:
    words = expand_list(inst, inst.rest, env, escape)
    if len(words) == 3 and words[1].lower() == "as":
        image, name = words[0], words[2]
    elif len(words) == 1:
        image, name = words[0], ""
    else:
        raise inst.error("expected FROM <image> [AS <name>]")
    if not image:
        raise inst.error("the image reference is empty after variable substitution")
    platform = inst.flag("platform")
    if platform is not None:
        value = expand(inst, platform, env, escape)
        if value and value not in (str(HOST_PLATFORM), HOST_PLATFORM.os):
            raise UnsupportedInstruction(
                inst.line, f"FROM --platform={value}: cross-platform builds are not supported "
                f"(this machine builds {HOST_PLATFORM})",
            )
    return image, name.lower()


def required_images(df: Dockerfile, build_args: Mapping[str, str]) -> list[str]:
    """External image references needed by FROM and COPY --from, in first-use order."""
    scope = _global_args(df, build_args)
    names: set[str] = set()
    refs: list[str] = []
    count = 0
    for inst in df.instructions:
        if inst.keyword == "FROM":
            image, name = _from_parts(inst, scope.env(), df.escape)
            if image.lower() not in names and image != "scratch" and image not in refs:
                refs.append(image)
            names.add(name) if name else None
            names.add(str(count))
            count += 1
        elif inst.keyword == "COPY" and inst.flag("from") is not None:
            source = expand(inst, inst.flag("from") or "", scope.env(), df.escape)
            if source.lower() not in names and source not in refs:
                refs.append(source)
    return refs

def plan_build(df: Dockerfile, context: ContextMap, build_args: Mapping[str, str],
               base_images: Mapping[str, BaseImage], target: str | None = None) -> BuildPlan:
    """Plan every stage; ``target`` names the stage to build (default: the last)."""
    scope = _global_args(df, build_args)
    stages: list[Stage] = []
    names: dict[str, int] = {}
    implicit: dict[str, int] = {}
    pending: list[tuple[Stage, list[Step]]] = []

    def stage_key(index: int) -> str:
        if index <= -1000:
            reference = list(implicit)[-(index + 1000)]
            image = base_images.get(reference)
            if image is None:
                raise BuildError(f"image {reference!r} (COPY --from) was not resolved")
            return chain_key("image", image.digest)
        for stage, steps in pending:
            if stage.index == index:
                return steps[-1].key if steps else stage.base_key
        raise AssertionError(index)

    def image_stage(inst: Instruction, reference: str) -> Stage:
        image = base_images.get(reference)
        if image is None:
            raise BuildError(f"Dockerfile:{inst.line}: base image {reference!r} was not resolved")
        config = ImageConfig.from_oci(image.config.get("config"))
        return Stage(-1, "", "image", chain_key("image", image.digest), config, base_image=image,
                     line=inst.line)

    def resolve_stage(inst: Instruction, value: str) -> int:
        lowered = value.lower()
        if lowered in names:
            return names[lowered]
        if value.isdigit():
            raise inst.error(f"--from={value} refers to a stage that is not defined before it")
        if value not in implicit:
            implicit[value] = -1  # placed after the real stages below
        return -(list(implicit).index(value) + 1000)

    current: Stage | None = None
    steps: list[Step] = []
    for inst in df.instructions[len(_leading_args(df)):]:
        if inst.keyword == "FROM":
            if current is not None:
                pending.append((current, steps))
            image, name = _from_parts(inst, scope.env(), df.escape)
            index = len(pending)
            if image.lower() in names:
                base_index = names[image.lower()]
                current = Stage(index, name, "stage", chain_key("stage", stage_key(base_index)),
                                _stage_config(pending, base_index), base_stage=base_index,
                                line=inst.line)
            elif image == "scratch":
                config = ImageConfig(env=(("PATH", DEFAULT_PATH),))
                current = Stage(index, name, "scratch", chain_key("scratch", str(HOST_PLATFORM)),
                                config, line=inst.line)
            else:
                current = replace(image_stage(inst, image), index=index, name=name)
            if name:
                if name in names:
                    raise inst.error(f"duplicate stage name {name!r}")
                names[name] = index
            names[str(index)] = index
            steps = []
            planner = StagePlanner(df, context, build_args, scope.args, stage_key, resolve_stage)
            continue
        assert current is not None
        parent = steps[-1].key if steps else current.base_key
        config = steps[-1].config if steps else current.initial_config
        steps.append(planner.step(inst, parent, config))
    assert current is not None
    pending.append((current, steps))
    stages = [replace(stage, steps=tuple(s)) for stage, s in pending]
    # implicit stages for COPY --from=<image>, appended after the Dockerfile's stages
    remap: dict[int, int] = {}
    for position, reference in enumerate(implicit):
        index = len(stages)
        remap[-(position + 1000)] = index
        inst = next(i for i in df.instructions if i.keyword == "COPY" and i.flag("from"))
        stages.append(replace(image_stage(inst, reference), index=index, name=""))
    if remap:
        stages = [_remap(stage, remap) for stage in stages]
    if target is None:
        target_index = len(pending) - 1
    elif target.lower() in names:
        target_index = names[target.lower()]
    else:
        raise BuildError(f"target stage {target!r} is not defined in the Dockerfile")
    return BuildPlan(tuple(stages), target_index)


def _leading_args(df: Dockerfile) -> list[Instruction]:
    leading = []
    for inst in df.instructions:
        if inst.keyword != "ARG":
            break
        leading.append(inst)
    return leading


def _stage_config(pending: list[tuple[Stage, list[Step]]], index: int) -> ImageConfig:
    stage, steps = pending[index]
    return steps[-1].config if steps else stage.initial_config


def _remap(stage: Stage, remap: dict[int, int]) -> Stage:
    new_steps = []
    for step in stage.steps:
        if step.copy and step.copy.from_stage in remap:
            copy = replace(step.copy, from_stage=remap[step.copy.from_stage])
            step = replace(step, copy=copy)
        new_steps.append(step)
    return replace(stage, steps=tuple(new_steps))

