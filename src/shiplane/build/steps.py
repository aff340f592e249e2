"""Step planning inside one stage: each instruction → the config after it, an optional
filesystem operation, and a cache key.

:class:`StagePlanner` keeps a stage's ARG scope while :func:`shiplane.build.plan.plan_build`
walks the Dockerfile. Keys chain the parent key, the instruction as resolved (after variable
substitution) and the digests of its inputs, so a key changes exactly when the step's result
could (cf. kaniko #899 / #870: no false hits after a cached COPY or for COPY --from).
Pure: nothing here reads the disk.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from shiplane.build.config import DEFAULT_PATH, ImageConfig
from shiplane.build.context import ContextFile, ContextMap, has_glob, resolve_source
from shiplane.build.dockerfile import Dockerfile, Instruction, exec_form_of
from shiplane.build.errors import ContextError
from shiplane.build.shellwords import SubstitutionError, expand_word, expand_words

__all__ = ["CopyEntry", "CopyOp", "RunOp", "StagePlanner", "Step", "chain_key", "expand",
           "expand_list"]

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


def chain_key(*parts: object) -> str:
    data = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()

def expand(inst: Instruction, text: str, env: Mapping[str, str], escape: str) -> str:
    try:
        return expand_word(text, env, escape)
    except SubstitutionError as error:
        raise inst.error(str(error)) from None


def expand_list(inst: Instruction, text: str, env: Mapping[str, str], escape: str) -> list[str]:
    try:
        return expand_words(text, env, escape)
    except SubstitutionError as error:
        raise inst.error(str(error)) from None


def _pairs(inst: Instruction, env: Mapping[str, str], escape: str) -> dict[str, str]:
    """``KEY=VALUE ...`` (or the legacy ``KEY value with spaces``) of ENV and LABEL."""
    words = expand_list(inst, inst.rest, env, escape)
    if words and "=" not in words[0]:
        key, _, value = inst.rest.strip().partition(" ")
        if not value.strip():
            raise inst.error(f"{key} needs a value (KEY=VALUE or KEY VALUE)")
        return {expand(inst, key, env, escape): expand(inst, value.strip(), env, escape)}
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

StageKey = Callable[[int], str]
StageResolver = Callable[[Instruction, str], int]


class StagePlanner:
    """Walks one stage's instructions, keeping its ARG scope.

    ``stage_key(index)`` gives another stage's final key (for COPY --from); ``resolve_stage``
    turns a ``--from`` value into a stage index (adding an implicit image stage if needed).
    """

    def __init__(self, df: Dockerfile, context: ContextMap, build_args: Mapping[str, str],
                 global_args: Mapping[str, str | None], stage_key: StageKey,
                 resolve_stage: StageResolver) -> None:
        self.df = df
        self.context = context
        self.build_args = build_args
        self.global_args = global_args
        self.stage_key = stage_key
        self.resolve_stage = resolve_stage
        self.args: dict[str, str] = {}
        self.cmd_set = False

    def env(self, config: ImageConfig) -> dict[str, str]:
        merged = dict(self.args)
        merged.update(config.env_dict())
        return merged

    def step(self, inst: Instruction, parent: str, config: ImageConfig) -> Step:
        esc = self.df.escape
        env = self.env(config)
        kw = inst.keyword
        created_by = inst.original
        if kw == "ARG":
            for word in expand_list(inst, inst.rest, env, esc):
                name, eq, default = word.partition("=")
                if not name:
                    raise inst.error("ARG needs a name")
                if name in self.build_args:
                    value: str | None = self.build_args[name]
                elif eq:
                    value = default
                elif name in self.global_args:
                    value = self.global_args[name]
                else:
                    value = None
                if value is not None:
                    self.args[name] = value
                else:
                    self.args.pop(name, None)
            return Step(inst, chain_key(parent, "ARG", sorted(self.args.items())), config, created_by)
        if kw == "ENV":
            config = config.with_env(_pairs(inst, env, esc))
        elif kw == "LABEL":
            config = config.with_labels(_pairs(inst, env, esc))
        elif kw == "MAINTAINER":
            config = replace(config, author=expand(inst, inst.rest, env, esc))
        elif kw == "WORKDIR":
            path = expand(inst, inst.rest, env, esc)
            base = config.workdir or "/"
            config = replace(config, workdir=posixpath.normpath(posixpath.join(base, path)))
        elif kw == "USER":
            config = replace(config, user=expand(inst, inst.rest, env, esc))
        elif kw == "EXPOSE":
            ports = set(config.exposed_ports)
            for word in expand_list(inst, inst.rest, env, esc):
                ports.update(_ports(inst, word))
            config = replace(config, exposed_ports=tuple(sorted(ports)))
        elif kw == "VOLUME":
            items = list(inst.exec_form) if inst.exec_form is not None else expand_list(
                inst, inst.rest, env, esc)
            volumes = set(config.volumes) | {expand(inst, v, env, esc) for v in items}
            config = replace(config, volumes=tuple(sorted(volumes)))
        elif kw == "STOPSIGNAL":
            config = replace(config, stop_signal=expand(inst, inst.rest, env, esc))
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
            return self.copy_step(inst, parent, config, env)
        else:  # pragma: no cover - FROM is handled by plan_build, ONBUILD refused by the parser
            raise inst.error("unexpected instruction")
        return Step(inst, chain_key(parent, "CONFIG", config.to_oci(), config.shell), config,
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
        form = exec_form_of(words[1])  # the parser's JSON rule
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
        key = chain_key(parent, "RUN", op.argv, sorted(op.env), op.user, op.workdir, op.network)
        return Step(inst, key, config, inst.original, run=op)

    def copy_step(self, inst: Instruction, parent: str, config: ImageConfig,
                  env: Mapping[str, str]) -> Step:
        esc = self.df.escape
        add = inst.keyword == "ADD"
        if inst.exec_form is not None:
            args = [expand(inst, a, env, esc) for a in inst.exec_form]
        else:
            args = expand_list(inst, inst.rest, env, esc)
        if len(args) < 2:
            raise inst.error(f"{inst.keyword} needs at least one source and a destination")
        *sources, dest = args
        chown = expand(inst, inst.flag("chown") or "", env, esc)
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
            stage = self.resolve_stage(inst, expand(inst, from_flag, env, esc))
            if multiple and not dest_is_dir:
                raise inst.error("with more than one source the destination must end with /")
            op = CopyOp(add, absolute, dest_is_dir or multiple, chown, chmod,
                        from_stage=stage, sources=tuple(sources))
            return Step(inst, chain_key(parent, "COPY-FROM", self.stage_key(stage), op.sources,
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
        key = chain_key(parent, inst.keyword, absolute, dest_is_dir, chown, chmod, inputs)
        return Step(inst, key, config, inst.original, copy=op)

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

