"""Repositories the controller keeps checked out itself (``gitops run --platform-url``): the
job of a git-sync sidecar done in-process with dulwich, so the controller's pod needs no
image but shiplane's (and no shared volume between containers).

Each :meth:`RepoCheckout.sync` fetches every object the remote has, mirrors its branches and
tags into the local ``refs/heads/*`` and ``refs/tags/*`` (``desired.GitSources`` resolves an
Application's ``targetRevision`` there; a branch deleted upstream is deleted here), points
HEAD at the tracked branch (the remote's HEAD when none is given) and resets the working
tree to it hard: as with git-sync, the checkout is a read-only mirror and local edits do not
survive. Transport is dulwich's client (smart HTTP(S), git://, ssh, local paths).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dulwich import porcelain
from dulwich.client import get_transport_and_path
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.repo import Repo

from shiplane.gitops.errors import SourceUnavailable

__all__ = ["RepoCheckout", "sync_all"]

log = logging.getLogger(__name__)
_HEADS, _TAGS = b"refs/heads/", b"refs/tags/"
# Ref updates write reflogs, and dulwich asks the system for a user when given no committer:
# the controller runs as a uid without a passwd entry (65532), so name one.
IDENTITY = b"shiplane-gitops <shiplane-gitops@localhost>"
_IDENTITY_ENV = {"GIT_COMMITTER_NAME": "shiplane-gitops",
                 "GIT_COMMITTER_EMAIL": "shiplane-gitops@localhost",
                 "USER": "shiplane-gitops"}


@dataclass
class RepoCheckout:
    url: str
    path: Path
    branch: str | None = None  # None: the remote's default branch (its HEAD)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def sync(self) -> str:
        """Fetch and check out the tracked branch; returns its commit."""
        with self._lock:
            try:
                return self._sync()
            except (OSError, GitProtocolError, HangupException, NotGitRepository,
                    KeyError) as error:
                raise SourceUnavailable(
                    f"cannot fetch {self.url} into {self.path}: {error}",
                    hint="check the URL, that the git server is reachable from the controller "
                         "and the branch exists") from error

    def _sync(self) -> str:
        path = Path(self.path)
        if not (path / ".git").exists():
            path.mkdir(parents=True, exist_ok=True)
            Repo.init(str(path)).close()
        client, remote_path = get_transport_and_path(self.url)
        with Repo(str(path)) as repo:
            result = client.fetch(remote_path, repo)
            remote = {ref: sha for ref, sha in result.refs.items()
                      if sha and not ref.endswith(b"^{}") and ref.startswith((_HEADS, _TAGS))}
            branch = self._branch(result.symrefs, remote)
            message = b"fetch: " + self.url.encode()
            for ref in [r for r in repo.refs.allkeys() if r.startswith((_HEADS, _TAGS))]:
                if ref not in remote:  # deleted upstream
                    repo.refs.remove_if_equals(ref, None, committer=IDENTITY, message=message)
            for ref, sha in remote.items():
                if ref not in repo.refs or repo.refs[ref] != sha:
                    repo.refs.set_if_equals(ref, None, sha, committer=IDENTITY, message=message)
            repo.refs.set_symbolic_ref(b"HEAD", branch, committer=IDENTITY, message=message)
            commit = repo.refs[branch]
            porcelain.reset(repo, "hard", commit, env={**_IDENTITY_ENV, **os.environ})
            return commit.decode()

    def _branch(self, symrefs: dict[bytes, bytes], remote: dict[bytes, bytes]) -> bytes:
        ref = _HEADS + self.branch.encode() if self.branch else symrefs.get(b"HEAD")
        if ref is None:  # an old server without symref info: the usual default names
            ref = next((r for r in (_HEADS + b"main", _HEADS + b"master") if r in remote), None)
        if ref is None or ref not in remote:
            have = [r[len(_HEADS):].decode() for r in remote if r.startswith(_HEADS)]
            raise SourceUnavailable(
                f"{self.url} has no branch {self.branch or '(no HEAD)'}",
                hint=f"branches: {', '.join(sorted(have)) or 'none'}")
        return ref


def sync_all(checkouts: Sequence[RepoCheckout], *, initial: bool = False) -> None:
    """Sync every checkout. The first time an error stops the controller (nothing to
    serve yet); later a failed fetch keeps the last checkout and is logged."""
    for checkout in checkouts:
        try:
            checkout.sync()
        except SourceUnavailable as error:
            if initial:
                raise
            log.warning("%s (keeping the last checkout)", error)


