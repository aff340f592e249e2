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

import hashlib
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from shiplane.build.config import DEFAULT_PATH, HOST_PLATFORM, BaseImage, ImageConfig
from shiplane.build.context import ContextFile, ContextMap, has_glob, resolve_source
from shiplane.build.dockerfile import Dockerfile, Instruction
from shiplane.build.errors import BuildError, ContextError, UnsupportedInstruction
from shiplane.build.shellwords import SubstitutionError, expand_word, expand_words

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

_URL = re.compile(r"^(https?|git|ssh|ftp)://|^git@", re.I)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}


@dataclass(frozen=True)
class CopyEntry:
    """One context file/dir/symlink written at ``dest`` (relative image path)."""

    dest: str
    source: ContextFile
    extract: bool = False  # ADD of a local archive: unpack it into ``dest``


@dataclass(frozen=True)
class CopyOp:
    add: bool
    dest: str  # absolute path in the image
    dest_is_dir: bool
    chown: str = ""
    chmod: int | None = None
    entries: tuple[CopyEntry, ...] = ()  # COPY from the context
    from_stage: int | None = None  # COPY --from=<stage or image>
    sources: tuple[str, ...] = ()  # paths in that stage


@dataclass(frozen=True)
class RunOp:
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    user: str
    workdir: str
    network: str  # "none" | "host"


@dataclass(frozen=True)
class Step:
    instruction: Instruction
    key: str
    config: ImageConfig
    created_by: str
    copy: CopyOp | None = None
    run: RunOp | None = None

    @property
    def changes_filesystem(self) -> bool:
        return self.copy is not None or self.run is not None


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


def _key(*parts: object) -> str:
    data = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def _platform_args() -> dict[str, str]:
    p = HOST_PLATFORM
    return {
        "TARGETPLATFORM": str(p), "TARGETOS": p.os, "TARGETARCH": p.architecture,
        "TARGETVARIANT": p.variant, "BUILDPLATFORM": str(p), "BUILDOS": p.os,
        "BUILDARCH": p.architecture, "BUILDVARIANT": p.variant,
    }


def _expand(inst: Instruction, text: str, env: Mapping[str, str], escape: str) -> str:
    try:
        return expand_word(text, env, escape)
    except SubstitutionError as error:
        raise inst.error(str(error)) from None


def _words(inst: Instruction, text: str, env: Mapping[str, str], escape: str) -> list[str]:
    try:
        return expand_words(text, env, escape)
    except SubstitutionError as error:
        raise inst.error(str(error)) from None


def _pairs(inst: Instruction, env: Mapping[str, str], escape: str) -> dict[str, str]:
    """``KEY=VALUE ...`` (or the legacy ``KEY value with spaces``) of ENV and LABEL."""
    words = _words(inst, inst.rest, env, escape)
    if words and "=" not in words[0]:
        key, _, value = inst.rest.strip().partition(" ")
        if not value.strip():
            raise inst.error(f"{key} needs a value (KEY=VALUE or KEY VALUE)")
        return {_expand(inst, key, env, escape): _expand(inst, value.strip(), env, escape)}
    pairs: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise inst.error(f"expected KEY=VALUE, got {word!r}")
        pairs[key] = value
    return pairs


def _duration_ns(inst: Instruction, text: str) -> int:
    pos, total = 0, 0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += int(float(match.group(1)) * _UNITS[match.group(2)])
        pos = match.end()
    if pos != len(text) or not text:
        raise inst.error(f"invalid duration {text!r} (e.g. 30s, 1m30s, 500ms)")
    return total


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
        for word in _words(inst, inst.rest, scope.env(), df.escape):
            name, eq, default = word.partition("=")
            scope.args[name] = build_args.get(name, default if eq else None)
    return scope


def _from_parts(inst: Instruction, env: Mapping[str, str], escape: str) -> tuple[str, str]:
    words = _words(inst, inst.rest, env, escape)
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
        value = _expand(inst, platform, env, escape)
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
            source = _expand(inst, inst.flag("from") or "", scope.env(), df.escape)
            if source.lower() not in names and source not in refs:
                refs.append(source)
    return refs


class _StagePlanner:
    """Walks one stage's instructions, keeping its ARG scope and config."""

    def __init__(self, df: Dockerfile, context: ContextMap, build_args: Mapping[str, str],
                 globals_: _Globals, stage_index: dict[str, int]) -> None:
        self.df = df
        self.context = context
        self.build_args = build_args
        self.globals = globals_
        self.stage_index = stage_index
        self.args: dict[str, str] = {}
        self.cmd_set = False

    def env(self, config: ImageConfig) -> dict[str, str]:
        merged = dict(self.args)
        merged.update(config.env_dict())
        return merged

    def step(self, inst: Instruction, parent: str, config: ImageConfig,
             resolve_stage: "callable[[Instruction, str], int]") -> Step:  # type: ignore[valid-type]
        esc = self.df.escape
        env = self.env(config)
        kw = inst.keyword
        created_by = inst.original
        if kw == "ARG":
            for word in _words(inst, inst.rest, env, esc):
                name, eq, default = word.partition("=")
                if not name:
                    raise inst.error("ARG needs a name")
                if name in self.build_args:
                    value: str | None = self.build_args[name]
                elif eq:
                    value = default
                elif name in self.globals.args:
                    value = self.globals.args[name]
                else:
                    value = None
                if value is not None:
                    self.args[name] = value
                else:
                    self.args.pop(name, None)
            return Step(inst, _key(parent, "ARG", sorted(self.args.items())), config, created_by)
        if kw == "ENV":
            config = config.with_env(_pairs(inst, env, esc))
        elif kw == "LABEL":
            config = config.with_labels(_pairs(inst, env, esc))
        elif kw == "MAINTAINER":
            config = replace(config, author=_expand(inst, inst.rest, env, esc))
        elif kw == "WORKDIR":
            path = _expand(inst, inst.rest, env, esc)
            base = config.workdir or "/"
            config = replace(config, workdir=posixpath.normpath(posixpath.join(base, path)))
        elif kw == "USER":
            config = replace(config, user=_expand(inst, inst.rest, env, esc))
        elif kw == "EXPOSE":
            ports = set(config.exposed_ports)
            for word in _words(inst, inst.rest, env, esc):
                ports.update(_ports(inst, word))
            config = replace(config, exposed_ports=tuple(sorted(ports)))
        elif kw == "VOLUME":
            items = list(inst.exec_form) if inst.exec_form is not None else _words(
                inst, inst.rest, env, esc)
            volumes = set(config.volumes) | {_expand(inst, v, env, esc) for v in items}
            config = replace(config, volumes=tuple(sorted(volumes)))
        elif kw == "STOPSIGNAL":
            config = replace(config, stop_signal=_expand(inst, inst.rest, env, esc))
        elif kw == "SHELL":
            config = replace(config, shell=tuple(inst.exec_form or ()))
        elif kw in ("CMD", "ENTRYPOINT"):
            command = (tuple(inst.exec_form) if inst.exec_form is not None
                       else (*config.shell, inst.rest))
            if kw == "CMD":
                config = replace(config, cmd=command)
                self.cmd_set = True
            else:
                # ENTRYPOINT resets a CMD inherited from the base image (Docker reference).
                config = replace(config, entrypoint=command,
                                 cmd=config.cmd if self.cmd_set else None)
        elif kw == "HEALTHCHECK":
            config = replace(config, healthcheck=self.healthcheck(inst))
        elif kw == "RUN":
            return self.run_step(inst, parent, config, env)
        elif kw in ("COPY", "ADD"):
            return self.copy_step(inst, parent, config, env, resolve_stage)
        else:  # pragma: no cover - FROM is handled by plan_build, ONBUILD refused by the parser
            raise inst.error("unexpected instruction")
        return Step(inst, _key(parent, "CONFIG", config.to_oci(), config.shell), config,
                    created_by)

    def healthcheck(self, inst: Instruction) -> str:
        words = inst.rest.split(None, 1)
        kind = words[0].upper() if words else ""
        if kind == "NONE":
            if inst.flags:
                raise inst.error("HEALTHCHECK NONE takes no options")
            return json.dumps({"Test": ["NONE"]}, sort_keys=True)
        if kind != "CMD" or len(words) < 2:
            raise inst.error("expected HEALTHCHECK [OPTIONS] CMD <command> or HEALTHCHECK NONE")
        from shiplane.build.dockerfile import _exec_form  # same JSON rule as the parser

        form = _exec_form(words[1])
        test = ["CMD", *form] if form is not None else ["CMD-SHELL", words[1]]
        check: dict[str, object] = {"Test": test}
        names = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
                 "start-interval": "StartInterval"}
        for flag, value in inst.flags:
            if flag == "retries":
                if not value.isdigit():
                    raise inst.error(f"--retries must be a number, got {value!r}")
                check["Retries"] = int(value)
            else:
                check[names[flag]] = _duration_ns(inst, value)
        return json.dumps(check, sort_keys=True)

    def run_step(self, inst: Instruction, parent: str, config: ImageConfig,
                 env: Mapping[str, str]) -> Step:
        if inst.exec_form is not None:
            if not inst.exec_form:
                raise inst.error("RUN needs a command")
            argv = tuple(inst.exec_form)
        else:
            if not inst.rest:
                raise inst.error("RUN needs a command")
            argv = (*config.shell, inst.rest)
        network = (inst.flag("network") or "default").lower()
        if network not in ("default", "none", "host"):
            raise inst.error(f"--network={network}: expected default, none or host")
        run_env = dict(self.args)
        run_env.update(config.env_dict())
        run_env.setdefault("PATH", DEFAULT_PATH)
        op = RunOp(argv, tuple(run_env.items()), config.user, config.workdir or "/",
                   "host" if network == "host" else network)
        key = _key(parent, "RUN", op.argv, sorted(op.env), op.user, op.workdir, op.network)
        return Step(inst, key, config, inst.original, run=op)

    def copy_step(self, inst: Instruction, parent: str, config: ImageConfig,
                  env: Mapping[str, str], resolve_stage) -> Step:  # type: ignore[no-untyped-def]
        esc = self.df.escape
        add = inst.keyword == "ADD"
        if inst.exec_form is not None:
            args = [_expand(inst, a, env, esc) for a in inst.exec_form]
        else:
            args = _words(inst, inst.rest, env, esc)
        if len(args) < 2:
            raise inst.error(f"{inst.keyword} needs at least one source and a destination")
        *sources, dest = args
        chown = _expand(inst, inst.flag("chown") or "", env, esc)
        chmod_text = inst.flag("chmod")
        chmod = None
        if chmod_text is not None:
            if not re.fullmatch(r"[0-7]{3,4}", chmod_text):
                raise inst.error(f"--chmod={chmod_text}: expected an octal mode such as 0755")
            chmod = int(chmod_text, 8)
        dest_is_dir = dest.endswith("/") or dest in (".", "..") or dest.endswith("/.")
        absolute = posixpath.normpath(posixpath.join(config.workdir or "/", dest))
        if add:
            for source in sources:
                if _URL.match(source):
                    raise inst.error(
                        f"ADD of a URL ({source}) is not possible offline",
                        hint="download the file into the build context and COPY it",
                    )
        multiple = len(sources) > 1 or any(has_glob(s) for s in sources)
        from_flag = inst.flag("from")
        if from_flag is not None:
            stage = resolve_stage(inst, _expand(inst, from_flag, env, esc))
            if multiple and not dest_is_dir:
                raise inst.error("with more than one source the destination must end with /")
            op = CopyOp(add, absolute, dest_is_dir or multiple, chown, chmod,
                        from_stage=stage, sources=tuple(sources))
            return Step(inst, _key(parent, "COPY-FROM", self.stage_key(stage), op.sources,
                                   op.dest, op.dest_is_dir, chown, chmod), config,
                        inst.original, copy=op)
        resolved: list[tuple[str, ContextFile]] = []
        for source in sources:
            try:
                resolved.extend(resolve_source(self.context, source))
            except ContextError as error:
                raise ContextError(f"Dockerfile:{inst.line}: {inst.keyword}: {error.message}",
                                   hint=error.hint) from None
        if (multiple or len(resolved) > 1) and not dest_is_dir:
            raise inst.error("with more than one source the destination must end with /")
        entries = self.entries(resolved, absolute, dest_is_dir, add)
        op = CopyOp(add, absolute, dest_is_dir, chown, chmod, entries=entries)
        inputs = [(e.dest, e.source.kind, e.source.mode, e.source.digest, e.source.target,
                   e.extract) for e in entries]
        key = _key(parent, inst.keyword, absolute, dest_is_dir, chown, chmod, inputs)
        return Step(inst, key, config, inst.original, copy=op)

    stage_key: "callable[[int], str]"  # type: ignore[valid-type]

    def entries(self, resolved: list[tuple[str, ContextFile]], dest: str, dest_is_dir: bool,
                add: bool) -> tuple[CopyEntry, ...]:
        out: dict[str, CopyEntry] = {}
        root = dest.lstrip("/")
        for name, entry in resolved:
            if entry.kind == "dir":
                prefix = "" if entry.path == "." else entry.path + "/"
                for child in self.context.children(entry.path):
                    rel = child.path[len(prefix):]
                    path = posixpath.join(root, rel) if root else rel
                    out[path] = CopyEntry(path, child)
                if root:
                    out.setdefault(root, CopyEntry(root, entry))
            elif add and entry.kind == "file" and entry.archive:
                out[root + "/\0" + name] = CopyEntry(root, entry, extract=True)
            else:
                target = posixpath.join(root, posixpath.basename(name)) if dest_is_dir else root
                if not target:
                    raise ContextError(f"cannot copy a file onto the root directory: {name!r}")
                out[target] = CopyEntry(target, entry)
        return tuple(out[k] for k in sorted(out))


def _ports(inst: Instruction, word: str) -> list[str]:
    port, _, proto = word.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise inst.error(f"invalid protocol {proto!r} in {word!r}")
    low, dash, high = port.partition("-")
    if not low.isdigit() or (dash and not high.isdigit()):
        raise inst.error(f"invalid port {word!r}")
    first, last = int(low), int(high) if dash else int(low)
    if not (0 < first <= last <= 65535):
        raise inst.error(f"invalid port range {word!r}")
    return [f"{n}/{proto}" for n in range(first, last + 1)]


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
            return _key("image", image.digest)
        for stage, steps in pending:
            if stage.index == index:
                return steps[-1].key if steps else stage.base_key
        raise AssertionError(index)

    def image_stage(inst: Instruction, reference: str) -> Stage:
        image = base_images.get(reference)
        if image is None:
            raise BuildError(f"Dockerfile:{inst.line}: base image {reference!r} was not resolved")
        config = ImageConfig.from_oci(image.config.get("config"))
        return Stage(-1, "", "image", _key("image", image.digest), config, base_image=image,
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
                current = Stage(index, name, "stage", _key("stage", stage_key(base_index)),
                                _stage_config(pending, base_index), base_stage=base_index,
                                line=inst.line)
            elif image == "scratch":
                config = ImageConfig(env=(("PATH", DEFAULT_PATH),))
                current = Stage(index, name, "scratch", _key("scratch", str(HOST_PLATFORM)),
                                config, line=inst.line)
            else:
                current = replace(image_stage(inst, image), index=index, name=name)
            if name:
                if name in names:
                    raise inst.error(f"duplicate stage name {name!r}")
                names[name] = index
            names[str(index)] = index
            steps = []
            planner = _StagePlanner(df, context, build_args, scope, names)
            planner.stage_key = stage_key
            continue
        assert current is not None
        parent = steps[-1].key if steps else current.base_key
        config = steps[-1].config if steps else current.initial_config
        steps.append(planner.step(inst, parent, config, resolve_stage))
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

