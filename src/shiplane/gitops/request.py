"""A sync requested through the Application's top-level ``operation`` field (pure).

Argo CD's API server (``argocd app sync``, the UI) does not sync itself: it writes
``operation: {sync: {...}, initiatedBy: {...}, info, retry}`` onto the Application
(argo-cd ``util/argo/argo.go`` ``SetAppOperation``) and the application controller runs
it (``controller/appcontroller.go`` ``processRequestedAppOperation``). Anyone who may
patch the Application — ``kubectl patch``, a Python client — can request one the same
way. Theory of operation, as upstream:

* ``operation`` set and no operation in progress in ``status.operationState``: a new
  operation starts from the request (``NewOperationState``) and is recorded in
  ``status.operationState.operation``;
* an operation in progress (phase Running or Terminating, ``isOperationInProgress``)
  is carried on, whatever ``operation`` says;
* when the operation completes (Succeeded, Failed, Error) the controller removes
  ``operation`` (``setOperationState``: "If operation is completed, clear the operation
  field to indicate no operation is in progress");
* automated sync is skipped while ``operation`` is set ("Skipping auto-sync: another
  operation is in progress") and a new request is refused while one is set or in
  progress (``SetAppOperation``: ``ErrAnotherOperationInProgress``, gRPC
  FailedPrecondition "another operation is already in progress"). Upstream has no
  staleness rule: a stuck operation is ended with ``argocd app terminate-op``
  (``status.operationState.phase: Terminating``).

What a request may say (argo-cd ``types.go`` ``SyncOperation``): ``revision`` (one
source) or ``revisions[]`` (one per source of a multi-source app; empty: the source's
``targetRevision``), ``prune``, ``dryRun``, ``syncStrategy`` (``apply``: no hooks),
``resources[]`` (a partial sync: only these, no hooks, no history entry — sync.go
``WithResourcesFilter``, ``persistRevisionHistory`` only without resources),
``syncOptions`` (replace the app's; when absent the app's apply, as ``argocd app sync``
writes them). ``manifests`` (local sync) and ``syncStrategy.force`` are not supported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shiplane.gitops.application import SyncPolicy
from shiplane.gitops.errors import ApplicationInvalid, SyncRefused

__all__ = [
    "IN_PROGRESS",
    "SyncRequest",
    "busy_refusal",
    "in_progress",
    "parse_request",
    "selected",
    "settings_of",
]

# argo-cd util/argo/argo.go ErrAnotherOperationInProgress (codes.FailedPrecondition)
IN_PROGRESS = "another operation is already in progress"


@dataclass(frozen=True)
class SyncRequest:
    """A requested sync operation (``operation`` of an Application)."""

    initiated_by: str  # the username, or "automated"
    revisions: Mapping[int, str]  # source index -> revision ("" / absent: targetRevision)
    prune: bool = False
    dry_run: bool = False
    apply_only: bool = False  # syncStrategy.apply: hooks are skipped
    resources: tuple[tuple[str, str, str, str], ...] = ()  # (group, kind, namespace, name)
    sync_options: Mapping[str, str] | None = None  # None: the app's
    document: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return bool(self.resources)

    @property
    def skip_hooks(self) -> bool:
        """sync.go ``WithOperationSettings(..., IsApplyStrategy() || len(Resources) > 0)``"""
        return self.apply_only or self.partial

    def policy(self, policy: SyncPolicy) -> SyncPolicy:
        """The app's sync policy with this operation's ``syncOptions`` (when given)."""
        if self.sync_options is None:
            return policy
        return dataclasses.replace(policy, options=dict(self.sync_options))


def _options(items: Any) -> dict[str, str] | None:
    if items is None:
        return None
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise ApplicationInvalid("operation.sync.syncOptions must be a list of Key=value")
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        if not sep:
            raise ApplicationInvalid(f"operation.sync.syncOptions: {item!r} is not Key=value")
        out[key] = value
    return out


def parse_request(document: Mapping[str, Any]) -> SyncRequest:
    """The request in an Application's ``operation``; :class:`ApplicationInvalid` when it
    holds no sync (sync.go: "Invalid operation request: no operation specified") or is
    malformed."""
    sync = document.get("sync") if isinstance(document, Mapping) else None
    if not isinstance(sync, Mapping):
        raise ApplicationInvalid("Invalid operation request: no operation specified",
                                 hint="set operation.sync (e.g. {\"sync\": {}})")
    if sync.get("manifests"):
        raise ApplicationInvalid("operation.sync.manifests (local sync) is not supported")
    initiated = document.get("initiatedBy") or {}
    by = "automated" if initiated.get("automated") else str(initiated.get("username") or "")
    revisions: dict[int, str] = {}
    listed = sync.get("revisions")
    if listed:
        if not isinstance(listed, Sequence) or isinstance(listed, str):
            raise ApplicationInvalid("operation.sync.revisions must be a list")
        revisions = {i: str(r) for i, r in enumerate(listed) if r}
    elif sync.get("revision"):
        revisions = {0: str(sync["revision"])}
    resources = []
    for item in sync.get("resources") or ():
        if not isinstance(item, Mapping) or not item.get("kind") or not item.get("name"):
            raise ApplicationInvalid(f"operation.sync.resources: {item!r} needs kind and name")
        resources.append((str(item.get("group") or ""), str(item["kind"]),
                          str(item.get("namespace") or ""), str(item["name"])))
    strategy = sync.get("syncStrategy") or {}
    return SyncRequest(
        initiated_by=by, revisions=revisions, prune=bool(sync.get("prune")),
        dry_run=bool(sync.get("dryRun")), apply_only="apply" in strategy,
        resources=tuple(resources), sync_options=_options(sync.get("syncOptions")),
        document=dict(document))


def selected(key: tuple[str, str, str, str],
             resources: Sequence[tuple[str, str, str, str]]) -> bool:
    """Whether a resource takes part in a (partial) sync: every resource when none are
    listed; else a listed one (types.go ``SyncOperationResource.HasIdentity``: same
    group, kind, name, and namespace unless the request leaves it empty)."""
    if not resources:
        return True
    group, kind, namespace, name = key
    return any(g == group and k == kind and n == name and ns in ("", namespace)
               for g, k, ns, n in resources)


def in_progress(status: Mapping[str, Any], requested: Mapping[str, Any] | None) -> bool:
    """Whether a new operation must be refused (:data:`IN_PROGRESS`): one is requested
    (``operation`` set, ``SetAppOperation``) or still in progress in ``status``
    (``isOperationInProgress``: phase not completed)."""
    phase = (status.get("operationState") or {}).get("phase")
    return bool(requested) or phase in ("Running", "Terminating")


def settings_of(document: Mapping[str, Any] | None) -> SyncRequest:
    """The settings of a recorded ``operationState.operation`` (a plain sync when it holds
    none, or none that parse)."""
    try:
        return parse_request(document or {"sync": {}})
    except ApplicationInvalid:
        return parse_request({"sync": {}})


def busy_refusal(name: str, status: Mapping[str, Any]) -> SyncRefused:
    """The refusal of a sync while another operation is in progress (gRPC
    FailedPrecondition upstream), naming who started it and when."""
    op = status.get("operationState") or {}
    by = (op.get("operation") or {}).get("initiatedBy") or {}
    who = "automated" if by.get("automated") else by.get("username") or "someone"
    detail = (f" (phase {op['phase']}, started {op.get('startedAt', '?')} by {who})"
              if op.get("phase") in ("Running", "Terminating") else " (operation requested)")
    return SyncRefused(f"cannot sync {name}: {IN_PROGRESS}{detail}",
                       hint="wait for it to end (status.operationState of the Application: a "
                            "controller resumes an operation left Running), or end it with "
                            "`shiplane gitops terminate-op`")
