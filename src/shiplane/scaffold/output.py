"""Write a generated repository all at once, or not at all.

Theory of operation: everything is generated into a hidden temporary folder
*next to* the target (same filesystem, so the final step is one atomic
``rename``); git is initialised and committed there; only then is the folder
renamed into place. Any failure before the rename removes the temporary
folder, so a failed ``shiplane init`` leaves nothing behind.

The target may be absent or an empty folder. A non-empty target is refused
unless ``force``; with ``force`` the existing folder is **moved aside** to
``<target>.bak-<UTC timestamp>`` (one rename, nothing deleted or overwritten)
and the new repository takes its place. If placing the new repository fails,
the old folder is moved back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from shiplane.scaffold.errors import TargetNotEmptyError, TargetNotWritableError
from shiplane.scaffold.git import init_repository
from shiplane.scaffold.template_tree import RepoFile

__all__ = ["WrittenRepository", "check_target", "update_files", "write_files", "write_repository"]


@dataclass(frozen=True)
class WrittenRepository:
    path: Path
    files: tuple[str, ...]
    commit: str
    backup: Path | None = None  # where a --force moved the previous folder


def check_target(target: Path, *, force: bool) -> None:
    """Refuse a target that exists and is not an empty folder (unless ``force``)."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise TargetNotEmptyError(
            f"{target} exists and is not a folder", hint="choose another name or --dir"
        )
    if target.is_dir() and any(target.iterdir()) and not force:
        raise TargetNotEmptyError(
            f"{target} already exists and is not empty",
            hint="choose another name or --dir, or pass --force to move the existing folder "
            f"aside to {target.name}.bak-<timestamp> and generate a fresh one",
        )


def write_files(root: Path, files: Mapping[str, RepoFile]) -> None:
    """Write ``files`` under ``root`` (used inside the temporary folder)."""
    for repo_file in files.values():
        path = root / repo_file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(repo_file.content, encoding="utf-8")
        if repo_file.executable:
            path.chmod(0o755)


def _make_staging(target: Path) -> Path:
    parent = target.parent
    if not parent.is_dir():
        raise TargetNotWritableError(
            f"cannot create {target}: {parent} does not exist or is not a folder",
            hint="create the parent folder first or pick another --dir",
        )
    try:
        return Path(tempfile.mkdtemp(prefix=f".{target.name}.shiplane-", dir=parent))
    except OSError as error:
        raise TargetNotWritableError(
            f"cannot write in {parent}: {error.strerror}",
            hint="pick a folder you can write to (--dir)",
        ) from error


def _place(staging: Path, target: Path, *, force: bool) -> Path | None:
    backup = None
    if target.is_dir() and any(target.iterdir()):
        if not force:  # appeared while we were generating
            raise TargetNotEmptyError(f"{target} already exists and is not empty")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")
        backup = target.with_name(f"{target.name}.bak-{stamp}")
        os.rename(target, backup)
    elif target.is_dir():
        target.rmdir()
    try:
        os.rename(staging, target)
    except OSError:
        if backup is not None:
            os.rename(backup, target)
        raise
    return backup


def write_repository(
    target: Path,
    files: Mapping[str, RepoFile],
    *,
    message: str,
    force: bool = False,
    before_commit: Callable[[Path], None] | None = None,
) -> WrittenRepository:
    """Generate ``files`` as a new git repository at ``target``, atomically.

    ``before_commit(staging_root)`` may check the generated tree (e.g. lint
    the chart) before anything becomes visible; raising aborts cleanly.
    """
    target = Path(os.path.abspath(target))
    check_target(target, force=force)
    staging = _make_staging(target)
    try:
        try:
            write_files(staging, files)
        except OSError as error:
            raise TargetNotWritableError(
                f"cannot write the new repository next to {target}: {error.strerror}"
            ) from error
        if before_commit is not None:
            before_commit(staging)
        commit = init_repository(staging, sorted(files), message)
        try:
            backup = _place(staging, target, force=force)
        except OSError as error:
            raise TargetNotWritableError(
                f"cannot move the new repository into {target}: {error.strerror}"
            ) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return WrittenRepository(target, tuple(sorted(files)), commit, backup)


def update_files(root: Path, files: Mapping[str, str]) -> Callable[[], None]:
    """Replace/create ``files`` (path -> text) inside an existing folder, all or nothing.

    Every new content is first written to a temporary file beside its target;
    only when all are written are they renamed over the targets. Returns an
    ``undo`` that restores the previous state (used when the commit fails).
    """
    created_dirs: list[Path] = []
    staged: list[tuple[Path, Path]] = []
    try:
        for rel, content in files.items():
            path = root / rel
            missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                created_dirs.append(folder)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(content)
            staged.append((Path(temp), path))
    except OSError as error:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        for folder in reversed(created_dirs):
            shutil.rmtree(folder, ignore_errors=True)
        raise TargetNotWritableError(f"cannot write in {root}: {error.strerror}") from error

    previous: list[tuple[Path, bytes | None]] = []

    def undo() -> None:
        for path, old in reversed(previous):
            if old is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(old)
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        for folder in reversed(created_dirs):
            shutil.rmtree(folder, ignore_errors=True)

    try:
        for temp, path in staged:
            previous.append((path, path.read_bytes() if path.exists() else None))
            os.replace(temp, path)
    except OSError as error:
        undo()
        raise TargetNotWritableError(f"cannot update {root}: {error.strerror}") from error
    return undo
