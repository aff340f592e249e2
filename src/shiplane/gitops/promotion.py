"""Promotion dev → staging → prod as a commit to the platform repo, and its audit trail.

``copy_keys`` is pure: only the keys the promotion policy allows (``image.tag``,
``image.digest``...) go from ``<from>/<svc>/values.yaml`` to ``<to>/<svc>/values.yaml``,
with ruamel.yaml round-trip edits so comments, order and quoting stay. A promotion
is committed directly on the current branch, or — as a reviewable change — on a
branch ``promote/<svc>/<to>/<tag>`` written straight into git objects (dulwich),
leaving the working tree alone; ``approve`` lands it on the main branch, ``reject``
deletes it. Commit messages carry trailers (``Service:``, ``Tag:``, ``Digest:``,
``Source-Revision:``, ``Promoted-by:``, ``Approved-by:``) that ``audit`` reads back.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dulwich.object_store import commit_tree_changes, tree_lookup_path
from dulwich.objects import Blob, Commit
from dulwich.repo import Repo
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from shiplane.gitops.errors import GateRefused, PromotionError
from shiplane.gitops.gates import Gate
from shiplane.scaffold.git import commit_paths

__all__ = [
    "AuditEntry",
    "Promotion",
    "PendingPromotion",
    "approve",
    "audit",
    "commit_promotion",
    "copy_keys",
    "file_at_revision",
    "list_pending",
    "plan_promotion",
    "reject",
]

BRANCH_PREFIX = "promote/"


def _yaml() -> YAML:
    rt = YAML()
    rt.preserve_quotes = True
    return rt


def _lookup(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


def copy_keys(source_text: str, target_text: str,
              keys: Sequence[str]) -> tuple[str, dict[str, tuple[Any, Any]]]:
    """``target_text`` with ``keys`` copied from ``source_text``; and {key: (old, new)}."""
    rt = _yaml()
    source = rt.load(source_text) or {}
    target = rt.load(target_text) or {}
    changes: dict[str, tuple[Any, Any]] = {}
    for dotted in keys:
        value = _lookup(source, dotted)
        if value is None:
            continue
        node = target
        parts = dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), Mapping):
                node[part] = {}
            node = node[part]
        old = node.get(parts[-1])
        if str(old) != str(value) or old is None:
            new = DoubleQuotedScalarString(str(value)) if isinstance(value, str) else value
            node[parts[-1]] = new
            changes[dotted] = (None if old is None else str(old), str(value))
    out = io.StringIO()
    rt.dump(target, out)
    return out.getvalue(), changes


@dataclass(frozen=True)
class Promotion:
    service: str
    source: str
    target: str
    tag: str
    digest: str | None
    source_revision: str
    path: str  # target values file, relative to the repo
    new_text: str
    changes: Mapping[str, tuple[Any, Any]]

    def message(self, author: str) -> str:
        trailers = [f"Service: {self.service}", f"From: {self.source}", f"To: {self.target}",
                    f"Tag: {self.tag}", f"Digest: {self.digest or 'none'}",
                    f"Source-Revision: {self.source_revision}", f"Promoted-by: {author}"]
        changed = ", ".join(f"{k} {o} -> {n}" for k, (o, n) in self.changes.items())
        return (f"promote {self.service} {self.tag}: {self.source} -> {self.target}\n\n"
                f"Changed: {changed}\n\n" + "\n".join(trailers) + "\n")

    @property
    def branch(self) -> str:
        return f"{BRANCH_PREFIX}{self.service}/{self.target}/{self.tag}"


def _head(repo: Repo) -> bytes:
    try:
        return repo.head()
    except KeyError:
        raise PromotionError(f"{repo.path} has no commits") from None


def file_at_revision(repo: Repo, commit: bytes, path: str) -> str | None:
    try:
        _, sha = tree_lookup_path(repo.__getitem__, repo[commit].tree, path.encode())
    except KeyError:
        return None
    return repo[sha].data.decode("utf-8")


def plan_promotion(root: Path, service: str, source: str, target: str,
                   keys: Sequence[str] = ("image.tag", "image.digest")) -> Promotion:
    """What promoting ``service`` from ``source`` to ``target`` would change (nothing written)."""
    if source == target:
        raise PromotionError(f"cannot promote {service} from {source} to itself")
    with Repo(str(root)) as repo:
        head = _head(repo)
        source_path, target_path = f"{source}/{service}/values.yaml", f"{target}/{service}/values.yaml"
        source_text = file_at_revision(repo, head, source_path)
        target_text = file_at_revision(repo, head, target_path)
    for text, path in ((source_text, source_path), (target_text, target_path)):
        if text is None:
            raise PromotionError(f"{path} is not in the platform repo {root.name}",
                                 hint=f"is {service} deployed to both environments?")
    assert source_text is not None and target_text is not None
    rt = _yaml()
    tag = _lookup(rt.load(source_text), "image.tag")
    if not tag:
        raise PromotionError(f"{source_path} has no image.tag to promote")
    digest = _lookup(rt.load(source_text), "image.digest")
    new_text, changes = copy_keys(source_text, target_text, keys)
    if not changes:
        raise PromotionError(f"{target} already runs {service} {tag}: nothing to promote")
    return Promotion(service, source, target, str(tag), str(digest) if digest else None,
                     head.decode(), target_path, new_text, changes)


def _refuse_if_failed(promotion: Promotion, gates: Sequence[Gate], *, ignore: set[str]) -> None:
    failed = [g for g in gates if not g.passed and g.name not in ignore]
    if failed:
        raise GateRefused(
            f"promotion of {promotion.service} {promotion.tag} to {promotion.target} refused: "
            + "; ".join(str(g) for g in failed), gates=gates,
            hint="fix the failing gates (shiplane promote shows them all) and try again")


def _identity(author: str) -> bytes:
    return f"{author} <{author}@shiplane.local>".encode()


def commit_promotion(root: Path, promotion: Promotion, gates: Sequence[Gate], *, author: str,
                     on_branch: bool) -> str:
    """Commit after checking ``gates`` (approval may be pending on a branch); the commit id."""
    _refuse_if_failed(promotion, gates, ignore={"approval"} if on_branch else set())
    message = promotion.message(author)
    if not on_branch:
        (root / promotion.path).write_text(promotion.new_text, encoding="utf-8")
        return commit_paths(root, [promotion.path], message)
    with Repo(str(root)) as repo:
        ref = f"refs/heads/{promotion.branch}".encode()
        if ref in repo.refs:
            raise PromotionError(f"a promotion branch {promotion.branch} already exists",
                                 hint="approve or reject it first (shiplane promote list)")
        head = _head(repo)
        blob = Blob.from_string(promotion.new_text.encode("utf-8"))
        repo.object_store.add_object(blob)
        tree = commit_tree_changes(repo.object_store, repo[repo[head].tree],
                                   [(promotion.path.encode(), 0o100644, blob.id)])
        commit = Commit()
        commit.tree, commit.parents = tree if isinstance(tree, bytes) else tree.id, [head]
        commit.author = commit.committer = _identity(author)
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding, commit.message = b"UTF-8", message.encode()
        repo.object_store.add_object(commit)
        repo.refs[ref] = commit.id
        return commit.id.decode()


def _trailers(message: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^([A-Z][A-Za-z-]+): (.+)$", message, re.MULTILINE)}


@dataclass(frozen=True)
class PendingPromotion:
    branch: str
    commit: str
    service: str
    source: str
    target: str
    tag: str
    author: str
    path: str


def list_pending(root: Path) -> list[PendingPromotion]:
    out = []
    with Repo(str(root)) as repo:
        for ref in sorted(repo.refs.keys(base=b"refs/heads/" + BRANCH_PREFIX.encode())):
            commit = repo[repo.refs[b"refs/heads/" + BRANCH_PREFIX.encode() + ref]]
            t = _trailers(commit.message.decode())
            out.append(PendingPromotion(
                BRANCH_PREFIX + ref.decode(), commit.id.decode(), t.get("Service", ""),
                t.get("From", ""), t.get("To", ""), t.get("Tag", ""), t.get("Promoted-by", ""),
                f"{t.get('To', '')}/{t.get('Service', '')}/values.yaml"))
    return out


def _pending(root: Path, branch: str) -> PendingPromotion:
    for pending in list_pending(root):
        if pending.branch == branch:
            return pending
    known = ", ".join(p.branch for p in list_pending(root)) or "none"
    raise PromotionError(f"no pending promotion {branch}", hint=f"pending: {known}")


def approve(root: Path, branch: str, *, approver: str,
            gates: Sequence[Gate] = ()) -> str:
    """Land a pending promotion on the current branch; the approver must not be its author."""
    pending = _pending(root, branch)
    if approver == pending.author:
        raise GateRefused(f"{approver} promoted {pending.service} {pending.tag} and cannot "
                          "approve it too", hint="someone else must approve",
                          gates=[Gate("approval", False, "author cannot approve")])
    failed = [g for g in gates if not g.passed]
    if failed:
        raise GateRefused("approval refused: " + "; ".join(str(g) for g in failed), gates=gates)
    with Repo(str(root)) as repo:
        commit = repo[pending.commit.encode()]
        text = file_at_revision(repo, commit.id, pending.path)
        message = commit.message.decode().rstrip("\n") + f"\nApproved-by: {approver}\n"
    assert text is not None
    (root / pending.path).write_text(text, encoding="utf-8")
    landed = commit_paths(root, [pending.path], message)
    with Repo(str(root)) as repo:
        del repo.refs[f"refs/heads/{branch}".encode()]
    return landed


def reject(root: Path, branch: str, *, reviewer: str) -> PendingPromotion:
    pending = _pending(root, branch)
    with Repo(str(root)) as repo:
        del repo.refs[f"refs/heads/{branch}".encode()]
    return pending


@dataclass(frozen=True)
class AuditEntry:
    commit: str
    when: int  # commit time, seconds since the epoch
    service: str
    environment: str
    tag: str
    by: str
    source: str = ""  # promoted from (empty: set directly, e.g. by CI)
    approved_by: str = ""
    deployed_at: str = ""  # from the target app's sync history, when known


_SET_IMAGE = re.compile(r"^(?P<service>[a-z0-9-]+): (?P<env>[a-z0-9-]+) -> (?P<tag>\S+)$")


def audit(root: Path, service: str | None = None,
          history: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> list[AuditEntry]:
    """Who changed which image where and when, newest first, from the platform repo's log.

    ``history`` maps an Application name (``<svc>-<env>``) to its sync history, to add
    when each change was deployed.
    """
    entries = []
    with Repo(str(root)) as repo:
        try:
            walker = repo.get_walker()
        except KeyError:
            return []
        for item in walker:
            commit = item.commit
            message = commit.message.decode("utf-8", "replace")
            t = _trailers(message)
            author = commit.author.decode("utf-8", "replace").split(" <")[0]
            if "Promoted-by" in t:
                entry = AuditEntry(commit.id.decode(), commit.commit_time, t.get("Service", ""),
                                   t.get("To", ""), t.get("Tag", ""), t["Promoted-by"],
                                   t.get("From", ""), t.get("Approved-by", ""))
            elif match := _SET_IMAGE.match(message.splitlines()[0] if message else ""):
                entry = AuditEntry(commit.id.decode(), commit.commit_time, match["service"],
                                   match["env"], match["tag"], author)
            else:
                continue
            if service and entry.service != service:
                continue
            app_history = (history or {}).get(f"{entry.service}-{entry.environment}") or []
            deployed = next((h.get("deployedAt", "") for h in app_history
                             if entry.commit in (h.get("revisions") or [h.get("revision")])), "")
            entries.append(AuditEntry(**{**entry.__dict__, "deployed_at": deployed}))
    return entries
