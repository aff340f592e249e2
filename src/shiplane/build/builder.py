"""The executor: performs a :class:`~shiplane.build.plan.BuildPlan` and stores the image.

Per stage it keeps the layer list and, only when a RUN or a COPY --from needs files, a root
folder assembled from those layers in a temp dir. Each filesystem step is looked up in the
layer cache by its plan key (plus SOURCE_DATE_EPOCH and the layer format); a hit reuses the
stored layer without touching the disk, so an unchanged rebuild only hashes the context.
Nothing is tagged or written to the output layout until every step succeeded, and the temp
dir is removed whatever happens.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import posixpath
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiplane.build.config import HOST_PLATFORM, BaseImage
from shiplane.build.context import ContextMap, scan_context
from shiplane.build.dockerfile import parse_dockerfile
from shiplane.build.dockerignore import parse_dockerignore, read_dockerignore
from shiplane.build.errors import BuildError, ContextError, RunFailed, SandboxError
from shiplane.build.images import ImageStore
from shiplane.build.layers import (
    ArchiveLimits,
    LayerBlob,
    TarEntry,
    apply_layer,
    diff_entries,
    entry_for,
    secure_join,
    snapshot,
    write_layer,
)
from shiplane.build.oci import LAYER_MEDIA_TYPE, Image, rfc3339, store_image, write_layout
from shiplane.build.plan import BuildPlan, CopyOp, Stage, Step, plan_build, required_images
from shiplane.build.sandbox import prepare_mountpoints, resolve_user, run_sandboxed, traversable
from shiplane.build.store import BlobStore, DiskBlobStore, DiskRecordStore, RecordStore

__all__ = ["BuildOptions", "BuildResult", "Builder"]

LAYER_FORMAT = "shiplane-layer-v1"
_OUTPUT_TAIL = 20


@dataclass(frozen=True)
class BuildOptions:
    context: Path
    dockerfile: Path | None = None  # default: <context>/Dockerfile
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    pull: bool = False
    network: str = "default"  # "host" lets RUN use the host network
    source_date_epoch: int | None = None  # default: $SOURCE_DATE_EPOCH, else 0
    labels: Mapping[str, str] = field(default_factory=dict)
    layout: Path | None = None  # write the image to this OCI layout
    tags: Sequence[str] = ()  # tags in the layout and in the local image store
    archive_limits: ArchiveLimits = ArchiveLimits()
    compresslevel: int = 6
    run_timeout: float | None = None
    progress: Callable[[str], None] | None = None


@dataclass
class BuildResult:
    image: Image
    plan: BuildPlan
    cache_hits: int = 0
    cache_misses: int = 0
    layout: Path | None = None
    seconds: float = 0.0

    @property
    def digest(self) -> str:
        return self.image.digest


@dataclass
class _StageState:
    layers: list[dict[str, Any]]
    diff_ids: list[str]
    history: list[dict[str, Any]]
    rootfs: Path | None = None
    applied: int = 0


def _epoch(options: BuildOptions) -> int:
    if options.source_date_epoch is not None:
        return int(options.source_date_epoch)
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    if value:
        if not value.isdigit():
            raise BuildError(f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds")
        return int(value)
    return 0


class Builder:
    """Builds Dockerfiles into images kept in ``blobs`` (cache records in ``cache``)."""

    def __init__(self, blobs: BlobStore, cache: RecordStore, images: ImageStore,
                 work_root: Path | None = None) -> None:
        self.blobs = blobs
        self.cache = cache
        self.images = images
        self.work_root = work_root

    @classmethod
    def at(cls, state_dir: Path) -> Builder:
        """The disk-backed builder under ``<state_dir>/build``."""
        root = Path(state_dir) / "build"
        blobs = DiskBlobStore(root / "blobs")
        images = ImageStore(blobs, DiskRecordStore(root / "refs"))
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        return cls(blobs, DiskRecordStore(root / "cache"), images, root / "tmp")

    # -- the whole build -------------------------------------------------------------------
    def build(self, options: BuildOptions) -> BuildResult:
        started = time.perf_counter()
        context_dir = Path(options.context).resolve()
        dockerfile_path = Path(options.dockerfile) if options.dockerfile else context_dir / "Dockerfile"
        try:
            text = dockerfile_path.read_text(encoding="utf-8")
        except OSError as error:
            raise BuildError(f"cannot read {dockerfile_path}: {error.strerror}") from None
        dockerfile = parse_dockerfile(text)
        # BuildKit: "<Dockerfile name>.dockerignore" next to the Dockerfile wins over
        # the context's .dockerignore
        specific = dockerfile_path.parent / (dockerfile_path.name + ".dockerignore")
        rules = (parse_dockerignore(specific.read_text(errors="replace")) if specific.is_file()
                 else read_dockerignore(context_dir))
        context = scan_context(context_dir, rules)
        bases: dict[str, BaseImage] = {}
        for reference in required_images(dockerfile, options.build_args):
            bases[reference] = self.images.base_image(reference, pull=options.pull)
        plan = plan_build(dockerfile, context, options.build_args, bases, options.target)
        work = Path(tempfile.mkdtemp(prefix="shiplane-build-", dir=self.work_root))
        os.chmod(work, 0o755)
        # A RUN as a non-root USER drops privileges before bwrap, so its root folder must be
        # reachable by that uid: when the work folder is not, root folders go under /tmp.
        roots = work if traversable(work) else Path(tempfile.mkdtemp(prefix="shiplane-rootfs-"))
        os.chmod(roots, 0o711 if roots != work else 0o755)
        run = _Run(self, options, plan, context, work, _epoch(options), roots)
        try:
            image = run.execute()
        finally:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(roots, ignore_errors=True)
        for tag in options.tags:
            self.images.tag(tag, image)
        if options.layout is not None:
            write_layout(Path(options.layout), self.blobs, image,
                         [t.rsplit(":", 1)[-1] if ":" in t.rsplit("/", 1)[-1] else t
                          for t in options.tags] or ["latest"])
        return BuildResult(image, plan, run.hits, run.misses, options.layout,
                           time.perf_counter() - started)


class _Run:
    """One build's mutable state: stage states, counters, the temp dir."""

    def __init__(self, builder: Builder, options: BuildOptions, plan: BuildPlan,
                 context: ContextMap, work: Path, epoch: int, roots: Path) -> None:
        self.b = builder
        self.options = options
        self.plan = plan
        self.context = context
        self.work = work
        self.roots = roots
        self.epoch = epoch
        self.created = rfc3339(epoch)
        self.states: dict[int, _StageState] = {}
        self.hits = 0
        self.misses = 0

    def say(self, message: str) -> None:
        if self.options.progress:
            self.options.progress(message)

    def execute(self) -> Image:
        order = self.plan.needed_stages()
        for position, index in enumerate(order, start=1):
            stage = self.plan.stages[index]
            state = self.initial_state(stage)
            self.states[index] = state
            label = f"[{position}/{len(order)}]" + (f" {stage.name}" if stage.name else "")
            for number, step in enumerate(stage.steps, start=1):
                self.step(stage, state, step, f"{label} STEP {number}/{len(stage.steps)}")
        target = self.plan.stages[self.plan.target]
        return self.finish(target, self.states[self.plan.target])

    def initial_state(self, stage: Stage) -> _StageState:
        if stage.base == "image":
            assert stage.base_image is not None
            config = stage.base_image.config
            diff_ids = list(config.get("rootfs", {}).get("diff_ids", []))
            if len(diff_ids) != len(stage.base_image.layers):
                raise BuildError(f"base image {stage.base_image.reference}: config and manifest "
                                 "disagree on the number of layers")
            return _StageState([dict(layer) for layer in stage.base_image.layers], diff_ids,
                               [dict(h) for h in config.get("history", [])])
        if stage.base == "stage":
            assert stage.base_stage is not None
            base = self.states[stage.base_stage]
            return _StageState(list(base.layers), list(base.diff_ids), list(base.history))
        return _StageState([], [], [])

    # -- steps -----------------------------------------------------------------------------
    def step(self, stage: Stage, state: _StageState, step: Step, label: str) -> None:
        if not step.changes_filesystem:
            if step.instruction.keyword != "ARG":
                state.history.append({"created": self.created, "created_by": step.created_by,
                                      "comment": "shiplane", "empty_layer": True})
            return
        key = f"{step.key}|{self.epoch}|{self.options.compresslevel}|{LAYER_FORMAT}"
        if step.copy is not None and step.copy.entries:
            # layer bytes carry min(mtime, SOURCE_DATE_EPOCH): part of the cache key, so a
            # cached layer is byte-identical to what a clean build would write
            times = ",".join(str(min(e.source.mtime, self.epoch)) for e in step.copy.entries)
            key += "|" + hashlib.sha256(times.encode()).hexdigest()
        record = None if self.options.no_cache else self.b.cache.get(key)
        if record is not None and (record.get("empty") or self.b.blobs.has(record["digest"])):
            self.hits += 1
            self.say(f"{label}: {step.created_by} (cached)")
        else:
            self.misses += 1
            self.say(f"{label}: {step.created_by}")
            layer = self.run_step(stage, state, step) if step.run else self.copy_step(state, step)
            if layer is None:
                record = {"empty": True}
            else:
                self.b.blobs.put_file(layer.path, layer.digest)
                record = {"digest": layer.digest, "diff_id": layer.diff_id, "size": layer.size}
            self.b.cache.put(key, record)
            if step.run and layer is not None:
                state.applied = len(state.layers) + 1  # the root folder already has the change
        history = {"created": self.created, "created_by": step.created_by, "comment": "shiplane"}
        if record.get("empty"):
            history["empty_layer"] = True
        else:
            state.layers.append({"mediaType": LAYER_MEDIA_TYPE, "digest": record["digest"],
                                 "size": record["size"]})
            state.diff_ids.append(record["diff_id"])
        state.history.append(history)

    def rootfs(self, state: _StageState, name: str) -> Path:
        """The stage's root folder with every layer so far applied."""
        if state.rootfs is None:
            state.rootfs = Path(tempfile.mkdtemp(prefix=f"rootfs-{name}-", dir=self.roots))
            os.chmod(state.rootfs, 0o755)
            state.applied = 0
        for layer in state.layers[state.applied:]:
            with self.b.blobs.open(layer["digest"]) as handle:
                apply_layer(state.rootfs, handle)
        state.applied = len(state.layers)
        return state.rootfs

    def run_step(self, stage: Stage, state: _StageState, step: Step) -> LayerBlob | None:
        op = step.run
        assert op is not None
        inst = step.instruction
        root = self.rootfs(state, str(stage.index))
        prepare_mountpoints(root)
        if inst.exec_form is None and not secure_join(root, op.argv[0]).exists():
            raise RunFailed(f"Dockerfile:{inst.line}: RUN needs {op.argv[0]}, which this stage's "
                            "filesystem does not have (use a base image with a shell or the "
                            "exec form)", exit_code=127, output_tail="")
        before = snapshot(root)
        secure_join(root, op.workdir).mkdir(parents=True, exist_ok=True)
        network_host = op.network == "host" or (
            self.options.network == "host" and op.network == "default")
        try:
            result = run_sandboxed(root, op.argv, dict(op.env), workdir=op.workdir,
                                   user=op.user, network_host=network_host,
                                   timeout=self.options.run_timeout)
        except SandboxError as error:
            raise SandboxError(f"Dockerfile:{inst.line}: {error.message}", hint=error.hint) from None
        if result.exit_code != 0:
            tail = "\n".join(result.output.decode(errors="replace").rstrip().splitlines()
                             [-_OUTPUT_TAIL:])
            raise RunFailed(
                f"Dockerfile:{inst.line}: {inst.original}\n"
                f"the command exited with code {result.exit_code}; last output lines:\n{tail}",
                exit_code=result.exit_code, output_tail=tail,
            )
        entries = diff_entries(root, before, snapshot(root), self.epoch)
        entries = [e for e in entries if e.path not in ("proc", "dev")]
        if not entries:
            return None
        return write_layer(entries, self.work, compresslevel=self.options.compresslevel)

    def owner(self, state: _StageState, spec: str) -> tuple[int, int] | None:
        """``--chown`` → ids; a user without a group uses the uid as gid (Docker reference)."""
        if not spec:
            return None
        user, _, group = spec.partition(":")
        if user.isdigit() and (not group or group.isdigit()):
            return int(user), int(group) if group else int(user)
        uid, gid = resolve_user(self.rootfs(state, "chown"), spec, what="--chown")
        return uid, gid if group else uid

    def copy_step(self, state: _StageState, step: Step) -> LayerBlob | None:
        op = step.copy
        assert op is not None
        try:
            ids = self.owner(state, op.chown)
        except SandboxError as error:
            raise ContextError(f"Dockerfile:{step.instruction.line}: {error.message}") from None
        entries = (self.stage_entries(op, step) if op.from_stage is not None
                   else self.context_entries(op, step))
        if ids is not None:
            entries = [TarEntry(e.path, e.kind, e.mode, ids[0], ids[1], e.mtime, e.size,
                                e.linkname, e.source) for e in entries]
        if op.chown and op.dest_is_dir and ids is not None:
            # a destination folder COPY creates belongs to --chown too
            entries.append(TarEntry(op.dest.strip("/"), "dir", 0o755, ids[0], ids[1], self.epoch))
        entries = [e for e in entries if e.path]
        return write_layer(_dedupe(entries), self.work, compresslevel=self.options.compresslevel)

    def context_entries(self, op: CopyOp, step: Step) -> list[TarEntry]:
        out: list[TarEntry] = []
        root = self.context.root
        for entry in op.entries:
            src = entry.source
            if entry.extract:
                out.extend(self.extract_archive(root / src.path, entry.dest, step))
                continue
            mode = op.chmod if op.chmod is not None else src.mode
            mtime = min(src.mtime, self.epoch)
            if src.kind == "file":
                path = root / src.path
                size = os.lstat(path).st_size
                out.append(TarEntry(entry.dest, "file", mode, 0, 0, mtime, size, source=str(path)))
            elif src.kind == "dir":
                out.append(TarEntry(entry.dest, "dir", mode, 0, 0, mtime))
            else:
                out.append(TarEntry(entry.dest, "symlink", 0o777, 0, 0, mtime, linkname=src.target))
        return out

    def extract_archive(self, archive: Path, dest: str, step: Step) -> list[TarEntry]:
        staging = Path(tempfile.mkdtemp(prefix="add-", dir=self.work))
        label = f"Dockerfile:{step.instruction.line}: ADD {archive.name}"
        with open(archive, "rb") as handle:
            apply_layer(staging, handle, limits=self.options.archive_limits, label=label)
        out = []
        for rel in snapshot(staging):
            entry = entry_for(staging, rel, self.epoch)
            if entry is not None:
                out.append(TarEntry(posixpath.join(dest, rel), entry.kind, entry.mode, entry.uid,
                                    entry.gid, entry.mtime, entry.size, entry.linkname,
                                    entry.source))
        return out

    def stage_entries(self, op: CopyOp, step: Step) -> list[TarEntry]:
        assert op.from_stage is not None
        source_stage = self.plan.stages[op.from_stage]
        state = self.states[op.from_stage]
        root = self.rootfs(state, f"from{op.from_stage}")
        name = source_stage.name or (source_stage.base_image.reference
                                     if source_stage.base_image else str(source_stage.index))
        dest = op.dest.strip("/")
        out: list[TarEntry] = []
        matches: list[str] = []
        for source in op.sources:
            rel = posixpath.normpath("/" + source).lstrip("/")
            found = _stage_glob(root, rel)
            if not found:
                raise ContextError(f"Dockerfile:{step.instruction.line}: COPY --from={name}: "
                                   f"{source} does not exist in that stage")
            matches.extend(found)
        for rel in matches:
            path = secure_join(root, rel)
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                for child in sorted(snapshot(path)):
                    entry = entry_for(path, child, self.epoch)
                    if entry is not None:
                        out.append(self.reowned(entry, posixpath.join(dest, child), op))
                continue
            target = posixpath.join(dest, posixpath.basename(rel)) if op.dest_is_dir else dest
            entry = entry_for(path.parent, path.name, self.epoch)
            if entry is not None:
                out.append(self.reowned(entry, target, op))
        return out

    def reowned(self, entry: TarEntry, path: str, op: CopyOp) -> TarEntry:
        mode = op.chmod if op.chmod is not None and entry.kind != "symlink" else entry.mode
        return TarEntry(path, entry.kind, mode, 0, 0, entry.mtime, entry.size,
                        entry.linkname, entry.source)

    # -- the image -------------------------------------------------------------------------
    def finish(self, stage: Stage, state: _StageState) -> Image:
        config = stage.config
        labels = {"org.opencontainers.image.created": self.created, **self.options.labels}
        config_json: dict[str, Any] = {
            "created": self.created,
            "architecture": HOST_PLATFORM.architecture,
            "os": HOST_PLATFORM.os,
            "config": config.with_labels(labels).to_oci(),
            "rootfs": {"type": "layers", "diff_ids": state.diff_ids},
            "history": state.history,
        }
        if config.author:
            config_json["author"] = config.author
        return store_image(self.b.blobs, config_json, state.layers)


def _stage_glob(root: Path, pattern: str) -> list[str]:
    """Paths in a stage's root matching ``pattern``; symlinked folders resolve inside root."""
    matches = [""]
    for part in pattern.split("/"):
        found: list[str] = []
        for base in matches:
            if glob.has_magic(part):
                folder = secure_join(root, base)
                if folder.is_dir():
                    found += [posixpath.join(base, name) for name in sorted(os.listdir(folder))
                              if fnmatch.fnmatchcase(name, part)]
            else:
                candidate = posixpath.join(base, part)
                if os.path.lexists(secure_join(root, candidate, follow_last=False)):
                    found.append(candidate)
        matches = found
    return matches


def _dedupe(entries: list[TarEntry]) -> list[TarEntry]:
    by_path: dict[str, TarEntry] = {}
    for entry in entries:
        by_path[entry.path] = entry
    return list(by_path.values())
