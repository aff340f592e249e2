"""Which volumes a pod has, what files they hold and where each container mounts them.

Pure functions over the pod spec and the ConfigMaps/Secrets it reads (fetched by the caller,
``None``: the API said 404), with the kubelet's rules:

* ``emptyDir``: an empty directory per pod, shared by the containers that mount it, gone with
  the pod (pkg/volume/emptydir: mode 0777).
* ``configMap`` / ``secret``: one file per key (ConfigMap ``data`` + ``binaryData``, Secret
  ``data`` decoded), or only the ``items`` listed (``key`` → ``path``, own ``mode``);
  ``defaultMode`` (API default 0644) for the rest. A missing source that is not ``optional``
  is the kubelet's ``MountVolume.SetUp failed for volume "v" : configmap "x" not found`` (the
  pod waits in ContainerCreating); an ``items`` key not in the source is
  ``configmap references non-existent config key: k`` (pkg/volume/configmap, secret). They are
  always mounted read-only (kubelet since 1.9.4).
* ``volumeMounts``: ``mountPath``, ``readOnly``, ``subPath`` (a path inside the volume).

Other volume types (hostPath, persistentVolumeClaim, projected, downwardAPI...) are refused
with :class:`VolumeSetupError` naming them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.decisions.container_process import source_data
from shiplane.cluster.decisions.errors import DecisionInputError

__all__ = ["Mount", "ProjectedFile", "VolumeSetupError", "container_mounts", "projected_files",
           "volume_kind", "volume_sources"]

Obj = Mapping[str, Any]
SUPPORTED = ("emptyDir", "configMap", "secret")


class VolumeSetupError(DecisionInputError):
    """A volume cannot be set up: missing source or key, or a type this runtime lacks."""


@dataclass(frozen=True)
class ProjectedFile:
    path: str  # relative to the volume's root
    data: bytes
    mode: int


@dataclass(frozen=True)
class Mount:
    volume: str
    mount_path: str  # absolute, normalised
    read_only: bool
    sub_path: str = ""  # relative, normalised; "" = the whole volume


def volume_kind(volume: Obj) -> str:
    """``emptyDir`` | ``configMap`` | ``secret``; :class:`VolumeSetupError` for the rest."""
    for kind in SUPPORTED:
        if kind in volume:
            return kind
    others = ", ".join(k for k in volume if k != "name") or "no source"
    raise VolumeSetupError(f'volume "{volume.get("name")}": {others} volumes are not supported '
                           "by the process runtime (emptyDir, configMap and secret are)")


def volume_sources(pod: Obj) -> set[tuple[str, str]]:
    """The ConfigMaps and Secrets the pod's volumes project: ``{(kind, name)}``."""
    refs: set[tuple[str, str]] = set()
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if (volume.get("configMap") or {}).get("name"):
            refs.add(("ConfigMap", volume["configMap"]["name"]))
        if (volume.get("secret") or {}).get("secretName"):
            refs.add(("Secret", volume["secret"]["secretName"]))
    return refs


def _relative(path: str, what: str) -> str:
    clean = posixpath.normpath(path)
    if not path or path.startswith("/") or clean == ".." or clean.startswith("../"):
        raise VolumeSetupError(f"{what} {path!r} must be a relative path inside the volume")
    return clean


def projected_files(volume: Obj, sources: Mapping[tuple[str, str], Obj | None]
                    ) -> list[ProjectedFile]:
    """The files of a configMap or secret volume (empty for an emptyDir or a missing optional
    source); :class:`VolumeSetupError` with the kubelet's message otherwise."""
    kind = volume_kind(volume)
    if kind == "emptyDir":
        return []
    spec = volume[kind] or {}
    name = spec.get("name") if kind == "configMap" else spec.get("secretName")
    api_kind = "ConfigMap" if kind == "configMap" else "Secret"
    obj = sources.get((api_kind, str(name)))
    prefix = f'MountVolume.SetUp failed for volume "{volume.get("name")}" : '
    if obj is None:
        if spec.get("optional"):
            return []
        raise VolumeSetupError(f'{prefix}{api_kind.lower()} "{name}" not found')
    data = source_data(api_kind, obj)
    default_mode = int(spec.get("defaultMode", 0o644))
    items = spec.get("items")
    if not items:
        return [ProjectedFile(_relative(key, "key"), value, default_mode)
                for key, value in sorted(data.items())]
    files = []
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if spec.get("optional"):
                continue
            what = ("configmap references non-existent config key" if kind == "configMap"
                    else "references non-existent secret key")
            raise VolumeSetupError(f"{prefix}{what}: {key}")
        files.append(ProjectedFile(_relative(item.get("path") or key, "items path"), data[key],
                                   int(item.get("mode", default_mode))))
    return files


def container_mounts(pod: Obj, container: Obj) -> list[Mount]:
    """The container's ``volumeMounts`` (configMap and secret ones always read-only)."""
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    mounts = []
    for item in container.get("volumeMounts") or []:
        volume = volumes.get(item.get("name"))
        if volume is None:
            raise VolumeSetupError(f'volumeMount "{item.get("name")}": no volume of that name')
        kind = volume_kind(volume)
        path = str(item.get("mountPath") or "")
        if not path.startswith("/"):
            raise VolumeSetupError(f"mountPath {path!r} must be absolute")
        sub = _relative(item["subPath"], "subPath") if item.get("subPath") else ""
        read_only = bool(item.get("readOnly")) or kind != "emptyDir"
        mounts.append(Mount(item["name"], posixpath.normpath(path), read_only, sub))
    return mounts
