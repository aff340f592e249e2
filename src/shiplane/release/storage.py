"""Helm's release storage as Kubernetes Secrets, read and repaired through shiplane.kube.

Helm's Secret driver (``pkg/storage/driver/secrets.go``, ``util.go``) stores revision
N of release R as Secret ``sh.helm.release.v1.R.vN`` of type ``helm.sh/release.v1``,
labelled ``name=R, owner=helm, status=S, version=N``; ``data.release`` holds
base64(gzip(JSON of the release)) — base64-encoded once more by the Secret API.
This module decodes that (pure functions ``decode_release``/``encode_release``) and
marks a stuck revision failed, writing both the JSON status and the ``status`` label
exactly as Helm's ``storage.Update`` does, so Helm sees a normal failed revision.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
from datetime import datetime
from typing import Any

from shiplane.kube import ApiError, KubeClient
from shiplane.release.errors import ReleaseStorageError
from shiplane.release.revisions import OwnerState, Revision

__all__ = [
    "OWNER_HOST_LABEL",
    "OWNER_PID_LABEL",
    "decode_release",
    "encode_release",
    "mark_failed",
    "owner_labels",
    "owner_state",
    "read_revisions",
    "revision_from_secret",
]

OWNER_HOST_LABEL = "shiplane-host"
OWNER_PID_LABEL = "shiplane-pid"
_GZIP_MAGIC = b"\x1f\x8b\x08"


def _label_value(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:63]
    return cleaned.strip("-_.") or "unknown"


def owner_labels() -> dict[str, str]:
    """Release labels naming this process as the writer of the revision it creates."""
    return {OWNER_HOST_LABEL: _label_value(socket.gethostname()), OWNER_PID_LABEL: str(os.getpid())}


def owner_state(revision: Revision) -> OwnerState:
    """Whether the process that wrote ``revision`` still runs (only knowable on this host)."""
    if revision.owner_host is None or revision.owner_pid is None:
        return OwnerState.UNKNOWN
    if revision.owner_host != _label_value(socket.gethostname()):
        return OwnerState.UNKNOWN
    try:
        os.kill(revision.owner_pid, 0)
    except ProcessLookupError:
        return OwnerState.DEAD
    except PermissionError:
        return OwnerState.ALIVE
    return OwnerState.ALIVE


def decode_release(secret_data: str) -> dict[str, Any]:
    """``data.release`` of a Helm Secret (as the API returns it) -> the release JSON."""
    try:
        payload = base64.b64decode(base64.b64decode(secret_data))
        if payload.startswith(_GZIP_MAGIC):
            payload = gzip.decompress(payload)
        release = json.loads(payload)
    except (ValueError, OSError) as error:
        raise ReleaseStorageError(f"a Helm release Secret cannot be decoded: {error}") from error
    if not isinstance(release, dict):
        raise ReleaseStorageError("a Helm release Secret does not hold a release object")
    return release


def encode_release(release: dict[str, Any]) -> str:
    """Inverse of :func:`decode_release` (Helm's ``encodeRelease``, then the Secret's base64)."""
    compressed = gzip.compress(json.dumps(release, separators=(",", ":")).encode(), mtime=0)
    return base64.b64encode(base64.b64encode(compressed)).decode()


def _parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def revision_from_secret(secret: dict[str, Any]) -> Revision:
    """A :class:`Revision` from one storage Secret."""
    labels = (secret.get("metadata") or {}).get("labels") or {}
    release = decode_release((secret.get("data") or {}).get("release") or "")
    info = release.get("info") or {}
    metadata = (release.get("chart") or {}).get("metadata") or {}
    pid = labels.get(OWNER_PID_LABEL)
    return Revision(
        number=int(release.get("version") or labels.get("version") or 0),
        status=str(info.get("status") or labels.get("status") or "unknown"),
        updated=_parse_time(info.get("last_deployed")),
        chart=f"{metadata.get('name', '')}-{metadata.get('version', '')}",
        app_version=str(metadata.get("appVersion") or ""),
        description=str(info.get("description") or ""),
        owner_host=labels.get(OWNER_HOST_LABEL),
        owner_pid=int(pid) if pid and pid.isdigit() else None,
    )


def _secrets(client: KubeClient, namespace: str, name: str) -> list[dict[str, Any]]:
    try:
        return client.list("v1", "Secret", namespace, label_selector=f"owner=helm,name={name}")
    except ApiError as error:
        if error.code == 404:
            return []
        raise


def read_revisions(client: KubeClient, namespace: str, name: str) -> list[Revision]:
    """Every stored revision of release ``name``, oldest first."""
    revisions = [revision_from_secret(s) for s in _secrets(client, namespace, name)]
    return sorted(revisions, key=lambda r: r.number)


def mark_failed(
    client: KubeClient, namespace: str, name: str, revision: int, description: str, now: datetime
) -> None:
    """Set revision ``revision`` of ``name`` to failed (JSON status and label), as Helm would."""
    secret_name = f"sh.helm.release.v1.{name}.v{revision}"
    secret = client.get("v1", "Secret", secret_name, namespace)
    release = decode_release(secret["data"]["release"])
    info = release.setdefault("info", {})
    info["status"] = "failed"
    info["description"] = description
    info["last_deployed"] = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    secret["data"]["release"] = encode_release(release)
    labels = secret["metadata"].setdefault("labels", {})
    labels["status"] = "failed"
    labels["modifiedAt"] = str(int(now.timestamp()))
    client.replace(secret)  # resourceVersion kept: a concurrent writer makes this a 409
