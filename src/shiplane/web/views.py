"""What the pages show, as plain data computed from plain data (pure).

The backend (``backend``) fetches; these functions decide. Each returns JSON-ready
dicts: the same dict is the ``/api/...`` answer and the template's context.

* :func:`model1_entry` — one Model 1 (Helm) release in one environment: version
  (tag, digest) from the live Deployment's image, Argo CD vocabulary for sync and
  health, and who or what made the last revision (the pipeline run that deployed
  it, or Helm's description, e.g. "Rollback to 1");
* :func:`model2_entry` — one Model 2 Application: its status document's sync and
  health, the tag and digest its platform values pin, the last history entry;
* :func:`overview_matrix` — services × environments from those entries;
* :func:`audit_rows` / :func:`filter_audit` — every kind of change as one row type.

Model 1 sync in Argo CD's words (a Helm release has no git to compare with): the
latest revision ``deployed`` is Synced, ``failed``/``pending-*`` is OutOfSync (the
cluster does not run what was last asked for), no release is Unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from shiplane.gitops.health import resource_health

__all__ = [
    "audit_rows",
    "filter_audit",
    "helm_sync_status",
    "model1_entry",
    "model2_entry",
    "overview_matrix",
    "split_image",
    "sync_history_rows",
]


def split_image(reference: str | None) -> tuple[str, str, str]:
    """``repo[:tag][@digest]`` -> (repository, tag, digest); empty strings when absent."""
    if not reference:
        return "", "", ""
    name, _, digest = reference.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:], digest
    return name, "", digest


def helm_sync_status(status: str | None) -> str:
    if status is None:
        return "Unknown"
    return "Synced" if status == "deployed" else "OutOfSync"


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _run_label(run: Mapping[str, Any]) -> str:
    commit = f", commit {str(run['commit'])[:7]}" if run.get("commit") else ""
    return f"pipeline run #{run['id']} ({run['trigger']}{commit})"


def model1_entry(revisions: Sequence[Any], deployment: Mapping[str, Any] | None,
                 runs: Sequence[Mapping[str, Any]], env: str) -> dict[str, Any] | None:
    """The Model 1 cell of one service in ``env``; None when it was never released there.

    ``revisions`` are :class:`shiplane.release.Revision` (oldest first); ``runs`` are
    pipeline run dicts (``RunRecord.to_dict``), any order.
    """
    if not revisions:
        return None
    latest = max(revisions, key=lambda r: r.number)
    image = ""
    if deployment is not None:
        containers = ((deployment.get("spec") or {}).get("template") or {}).get(
            "spec", {}).get("containers") or []
        image = str(containers[0].get("image") or "") if containers else ""
    _, tag, digest = split_image(image)
    health = (resource_health({"apiVersion": "apps/v1", "kind": "Deployment", **deployment})
              if deployment is not None else None)
    run = next((r for r in runs if r.get("env") == env
                and r.get("release_revision") == latest.number), None)
    by = _run_label(run) if run else (latest.description or "helm")
    return {
        "model": 1,
        "source": "helm",
        "image": image,
        "tag": tag,
        "digest": digest,
        "sync": helm_sync_status(latest.status),
        "health": health.status.value if health else "Missing",
        "health_message": health.message if health else "no Deployment",
        "revision": latest.number,
        "release_status": latest.status,
        "deployed_at": _iso(latest.updated),
        "deployed_by": by,
        "run": run["id"] if run else None,
    }


def model2_entry(app_name: str, status: Mapping[str, Any],
                 values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The Model 2 cell: an Application's ``status`` and its platform values (``image.*``)."""
    image = (values or {}).get("image") or {}
    history = list(status.get("history") or [])
    last = history[-1] if history else {}
    by = last.get("initiatedBy") or {}
    who = "automated sync" if by.get("automated") else (
        f"sync by {by['username']}" if by.get("username") else "")
    revision = str((status.get("sync") or {}).get("revision") or "")
    return {
        "model": 2,
        "source": "argocd",
        "application": app_name,
        "image": str(image.get("repository") or ""),
        "tag": str(image.get("tag") or ""),
        "digest": str(image.get("digest") or ""),
        "sync": str((status.get("sync") or {}).get("status") or "Unknown"),
        "health": str((status.get("health") or {}).get("status") or "Unknown"),
        "health_message": str((status.get("health") or {}).get("message") or ""),
        "revision": revision[:7],
        "deployed_at": str(last.get("deployedAt") or ""),
        "deployed_by": f"{who} at {str(last.get('revision') or '')[:7]}".strip()
        if last else "never synced",
        "operation": str((status.get("operationState") or {}).get("phase") or ""),
        "history_id": last.get("id"),
        "history": [_history_row(h) for h in reversed(history)],
    }


def _history_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One ``status.history[]`` entry of an Application, newest shown first."""
    by = entry.get("initiatedBy") or {}
    revisions = [str(r) for r in entry.get("revisions") or [entry.get("revision") or ""]]
    return {"id": entry.get("id"), "revision": str(entry.get("revision") or revisions[0])[:7],
            "revisions": [r[:7] for r in revisions],
            "deployed_at": str(entry.get("deployedAt") or ""),
            "initiated_by": "automated sync" if by.get("automated")
            else str(by.get("username") or "")}


def overview_matrix(environments: Sequence[str],
                    entries: Iterable[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """``(service, env, entry)`` triples -> rows of cells, services sorted, envs in order."""
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for service, env, entry in entries:
        rows.setdefault(service, {e: [] for e in environments}).setdefault(env, []).append(entry)
    return {
        "environments": list(environments),
        "services": [{"name": name, "cells": {env: sorted(cells.get(env, []),
                                                           key=lambda e: e["model"])
                                               for env in environments}}
                     for name, cells in sorted(rows.items())],
    }


def _epoch_iso(seconds: int | float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def sync_history_rows(applications: Iterable[tuple[str, str, str, Sequence[Mapping[str, Any]]]],
                      actions: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Syncs a person started (``shiplane gitops sync/rollback`` or the dashboard), from each
    Application's ``status.history[]`` given as ``(application, service, env, history)``.

    Argo CD's history does not mark a rollback; an entry is one when it returns to the
    revisions of an earlier entry, away from the previous one's. Entries the dashboard's own
    ``actions`` already record (same user, service, env and revision) are left out, one for one.
    Automated syncs are not rows here: the platform commits they deploy are.
    """
    recorded: dict[tuple[str, str, str, str], int] = {}
    for action in actions:
        if action.get("model") == 2 and action.get("action") in ("sync", "rollback"):
            key = (action["by"], action.get("service", ""), action.get("env", ""),
                   action.get("ref", ""))
            recorded[key] = recorded.get(key, 0) + 1
    rows = []
    for app_name, service, env, history in applications:
        seen: set[tuple[str, ...]] = set()
        previous: tuple[str, ...] | None = None
        for entry in history:
            revisions = tuple(str(r) for r in entry.get("revisions") or
                              [entry.get("revision") or ""])
            by = entry.get("initiatedBy") or {}
            user = "" if by.get("automated") else str(by.get("username") or "")
            if user:
                back = previous is not None and revisions != previous and revisions in seen
                ref = revisions[0][:7]
                key = (user, service, env, ref)
                if recorded.get(key):
                    recorded[key] -= 1
                else:
                    rows.append({"when": str(entry.get("deployedAt") or ""), "service": service,
                                 "env": env, "action": "rollback" if back else "sync",
                                 "tag": "", "by": user, "model": 2,
                                 "detail": f"{app_name} history {entry.get('id')}: "
                                           + " ".join(r[:7] for r in revisions),
                                 "ref": ref})
            seen.add(revisions)
            previous = revisions
    return rows


def audit_rows(*, promotions: Iterable[Any] = (), runs: Iterable[Mapping[str, Any]] = (),
               actions: Iterable[Mapping[str, Any]] = (),
               syncs: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """One row per change, newest first: platform repo commits (``gitops.AuditEntry``),
    pipeline deploys and bumps (run dicts), dashboard actions (the action log), syncs and
    rollbacks started elsewhere (``sync_history_rows``)."""
    rows: list[dict[str, Any]] = [dict(row) for row in syncs]
    for entry in promotions:
        action = "promote" if entry.source else "set-image"
        detail = f"from {entry.source}" if entry.source else "platform values"
        if entry.approved_by:
            detail += f", approved by {entry.approved_by}"
        if entry.deployed_at:
            detail += f", deployed {entry.deployed_at}"
        rows.append({"when": _epoch_iso(entry.when), "service": entry.service,
                     "env": entry.environment, "action": action, "tag": entry.tag,
                     "by": entry.by, "model": 2, "detail": detail,
                     "ref": entry.commit[:7]})
    for run in runs:
        if run.get("status") != "succeeded" or not run.get("image_tags"):
            continue
        deployed = run.get("release_revision") is not None
        rows.append({"when": run.get("ended_at") or run.get("created_at") or "",
                     "service": run["service"], "env": run["env"],
                     "action": "deploy" if deployed else "build",
                     "tag": (run.get("image_tags") or [""])[0],
                     "by": f"{run['trigger']} ({run.get('runner') or 'pipeline'})",
                     "model": run["model"],
                     "detail": _run_label(run) + (f", release revision {run['release_revision']}"
                                                  if deployed else ""),
                     "ref": f"run {run['id']}"})
    for action in actions:
        rows.append({"when": action["when"], "service": action.get("service", ""),
                     "env": action.get("env", ""), "action": action["action"],
                     "tag": action.get("tag", ""), "by": action["by"],
                     "model": action.get("model", 0), "detail": action.get("detail", ""),
                     "ref": action.get("ref", "")})
    rows.sort(key=lambda r: r["when"], reverse=True)
    return rows


def filter_audit(rows: Sequence[Mapping[str, Any]], *, service: str | None = None,
                 env: str | None = None, by: str | None = None,
                 action: str | None = None) -> list[dict[str, Any]]:
    """Rows matching every given filter (``by`` matches a substring, case-insensitively)."""
    out = []
    for row in rows:
        if service and row["service"] != service:
            continue
        if env and row["env"] != env:
            continue
        if action and row["action"] != action:
            continue
        if by and by.lower() not in str(row["by"]).lower():
            continue
        out.append(dict(row))
    return out
