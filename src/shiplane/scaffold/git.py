"""Git for generated repositories, with dulwich (pure Python).

Why dulwich rather than the ``git`` CLI: it is already shiplane's git library
(pipeline and gitops use it for repos and the smart-HTTP server), it needs no
``git`` binary on the machine, and it works without a configured identity —
``shiplane init`` must succeed on a fresh machine. Tests check the result with
the real ``git`` CLI. The branch is ``main``; commits are not signed (the first
commit of a generated repo is shiplane's, not the user's).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from dulwich import porcelain
from dulwich.errors import NotGitRepository
from dulwich.repo import Repo

from shiplane.errors import ScaffoldError

__all__ = ["DEFAULT_BRANCH", "commit_paths", "head_commit", "init_repository"]

DEFAULT_BRANCH = "main"
_FALLBACK_IDENTITY = b"shiplane <shiplane@localhost>"


def _identity(repo: Repo) -> bytes | None:
    """``None`` lets dulwich resolve GIT_AUTHOR_*/git config as git does."""
    try:
        config = repo.get_config_stack()
        config.get((b"user",), b"name")
        config.get((b"user",), b"email")
        return None
    except KeyError:
        if os.environ.get("GIT_AUTHOR_NAME") and os.environ.get("GIT_AUTHOR_EMAIL"):
            return None
        return _FALLBACK_IDENTITY


def commit_paths(root: Path, paths: Iterable[str], message: str) -> str:
    """Stage ``paths`` (relative to ``root``) and commit; returns the commit id."""
    try:
        repo = Repo(str(root))
    except NotGitRepository:
        raise ScaffoldError(f"{root} is not a git repository") from None
    with repo:
        porcelain.add(repo, [str(root / p) for p in paths])
        identity = _identity(repo)
        sha = porcelain.commit(
            repo, message=message, author=identity, committer=identity, sign=False,
            no_verify=True,
        )
    return sha.decode("ascii")


def init_repository(root: Path, paths: Iterable[str], message: str) -> str:
    """``git init`` on branch ``main`` and a first commit of ``paths``."""
    repo = porcelain.init(str(root))
    with repo:
        repo.refs.set_symbolic_ref(b"HEAD", f"refs/heads/{DEFAULT_BRANCH}".encode())
    return commit_paths(root, paths, message)


def head_commit(root: Path) -> str | None:
    """The commit id HEAD points to, or ``None`` without commits."""
    with Repo(str(root)) as repo:
        try:
            return repo.head().decode("ascii")
        except KeyError:
            return None
