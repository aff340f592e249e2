"""Helm releases through Helm's own SDK: install/upgrade, rollback, history, status.

A release is an ordinary Helm release (Secrets ``sh.helm.release.v1.<name>.v<rev>``
in its namespace), so ``helm history`` and any other Helm client see the same
revisions. Every call goes through ``_sdk.converted`` plus the release-specific
conversions here, so callers only see the :class:`ChartError` subtree.

``upgrade --install`` is decided as Helm's CLI does (``cmd/helm/upgrade.go``): no
history -> install (creating the namespace), otherwise upgrade.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shiplane.charts import _sdk
from shiplane.charts.errors import ReleaseNotFoundError

__all__ = [
    "ClusterAccess",
    "ReleaseCanceller",
    "install_or_upgrade",
    "release_history",
    "release_manifest",
    "rollback_release",
]

# Helm's kstatus-based waiter (pkg/kube/statuswait.go); "legacy" is Helm 3's poller.
WAIT_STRATEGY = "watcher"


@dataclass(frozen=True)
class ClusterAccess:
    """Where releases live: a kubeconfig (file + optional context) and a namespace."""

    kubeconfig: Path
    namespace: str
    context: str | None = None


class ReleaseCanceller:
    """Cancels a running install/upgrade from another thread (Helm's context)."""

    def __init__(self) -> None:
        self._context = _sdk.cancel_context()

    def cancel(self) -> None:
        self._context.cancel()

    def close(self) -> None:
        self._context.close()


def _config(access: ClusterAccess):  # noqa: ANN202 - helm_python's type stays in _sdk
    return _sdk.cluster_config(access.kubeconfig, access.namespace, access.context)


_release_errors = _sdk.release_errors


def release_history(access: ClusterAccess, name: str) -> list[dict[str, Any]]:
    """``helm history``: the release's revisions oldest first; ``[]`` if never installed."""
    with _config(access) as cfg:
        try:
            with _release_errors(f"history of release {name!r}"):
                return list(cfg.history(name))
        except ReleaseNotFoundError:
            return []


def release_manifest(access: ClusterAccess, name: str, revision: int | None = None) -> str:
    """``helm get manifest``: the rendered manifest stored with a revision."""
    with _config(access) as cfg, _release_errors(f"release {name!r}"):
        return str(cfg.status(name, revision=revision).get("manifest") or "")


def install_or_upgrade(
    access: ClusterAccess,
    chart: Path,
    name: str,
    values: Mapping[str, Any],
    *,
    installed: bool,
    chart_version: str | None = None,
    wait: bool = True,
    timeout: int = 300,
    description: str | None = None,
    labels: Mapping[str, str] | None = None,
    canceller: ReleaseCanceller | None = None,
) -> dict[str, Any]:
    """``helm upgrade --install NAME CHART`` with user-supplied ``values``.

    ``installed`` says whether the release has history (the caller has read it).
    Returns Helm's release summary (revision, status, manifest, notes...).
    """
    context = canceller._context if canceller else None
    options: dict[str, Any] = {
        "context": context,
        "namespace": access.namespace,
        "timeout": timeout,
        "wait": WAIT_STRATEGY if wait else None,
        "description": description,
        "labels": dict(labels) if labels else None,
        "chart_version": chart_version,
    }
    verb = "upgrade" if installed else "install"
    with _config(access) as cfg, _release_errors(f"helm {verb} {name}"):
        chart_handle = _sdk.load_chart(Path(chart))
        with chart_handle:
            if installed:
                return dict(cfg.upgrade(chart_handle, name, dict(values), **options))
            return dict(
                cfg.install(chart_handle, name, dict(values), create_namespace=True, **options)
            )


def rollback_release(
    access: ClusterAccess,
    name: str,
    revision: int | None = None,
    *,
    wait: bool = True,
    timeout: int = 300,
) -> None:
    """``helm rollback NAME [REVISION]``: a new revision with the old one's manifest."""
    with _config(access) as cfg, _release_errors(f"helm rollback {name}"):
        cfg.rollback(
            name, version=revision, timeout=timeout, wait=WAIT_STRATEGY if wait else None
        )
