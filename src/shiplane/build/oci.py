"""OCI image documents and the image layout on disk (image-spec v1.1).

Documents are serialised with a fixed key order and no whitespace so identical inputs give
identical bytes and digests. :func:`write_layout` writes ``oci-layout``, ``index.json`` (one
manifest per tag, tag in ``org.opencontainers.image.ref.name``) and ``blobs/sha256/…``;
:func:`read_layout` reads one image of a layout back, verifying every blob's digest.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shiplane.build.config import HOST_PLATFORM
from shiplane.build.errors import BaseImageError
from shiplane.build.store import BlobStore, sha256_digest

__all__ = [
    "CONFIG_MEDIA_TYPE",
    "INDEX_MEDIA_TYPE",
    "LAYER_MEDIA_TYPE",
    "MANIFEST_MEDIA_TYPE",
    "Image",
    "canonical_json",
    "rfc3339",
    "read_layout",
    "store_image",
    "write_layout",
]

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REF_NAME = "org.opencontainers.image.ref.name"


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Image:
    """A stored image: manifest digest and the parsed manifest and config."""

    digest: str
    manifest: Mapping[str, Any]
    config: Mapping[str, Any]
    size: int  # length of the manifest bytes

    @property
    def layers(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self.manifest.get("layers", ()))



def store_image(blobs: BlobStore, config: Mapping[str, Any],
                layers: Sequence[Mapping[str, Any]],
                annotations: Mapping[str, str] | None = None) -> Image:
    """Put config and manifest into ``blobs`` (layers must be there); returns the image."""
    config_bytes = canonical_json(config)
    config_digest = blobs.put(config_bytes)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest,
                   "size": len(config_bytes)},
        "layers": [dict(layer) for layer in layers],
    }
    if annotations:
        manifest["annotations"] = dict(sorted(annotations.items()))
    manifest_bytes = canonical_json(manifest)
    return Image(blobs.put(manifest_bytes), manifest, config, len(manifest_bytes))


def write_layout(layout: Path, blobs: BlobStore, image: Image, tags: Sequence[str]) -> None:
    """Write (or extend) an OCI image layout with ``image`` under each of ``tags``."""
    layout = Path(layout)
    blob_dir = layout / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    needed = [image.manifest["config"]["digest"], image.digest,
              *(layer["digest"] for layer in image.layers)]
    for digest in needed:
        blobs.export(digest, blob_dir / digest.split(":", 1)[1])
    index_path = layout / "index.json"
    index: dict[str, Any] = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}
    if index_path.exists():
        index = json.loads(index_path.read_text())
    names = set(tags)
    kept = [m for m in index.get("manifests", [])
            if m.get("annotations", {}).get(REF_NAME) not in names
            and not (not names and m.get("digest") == image.digest)]
    descriptor = {"mediaType": MANIFEST_MEDIA_TYPE, "digest": image.digest, "size": image.size}
    for tag in tags or [None]:
        entry = dict(descriptor)
        if tag:
            entry["annotations"] = {REF_NAME: tag}
        kept.append(entry)
    index["manifests"] = kept
    fd, tmp = tempfile.mkstemp(dir=layout, prefix=".index-")
    with os.fdopen(fd, "w") as handle:
        json.dump(index, handle, indent=2)
    os.replace(tmp, index_path)


def read_layout(layout: Path, blobs: BlobStore, tag: str | None = None) -> Image:
    """Import the image tagged ``tag`` (or the only one) from a layout into ``blobs``."""
    layout = Path(layout)
    try:
        index = json.loads((layout / "index.json").read_text())
    except (OSError, ValueError) as error:
        raise BaseImageError(f"{layout} is not an OCI image layout: {error}") from None
    manifests = index.get("manifests", [])
    if tag is not None:
        manifests = [m for m in manifests if m.get("annotations", {}).get(REF_NAME) == tag]
    if len(manifests) != 1:
        raise BaseImageError(f"{layout}: expected one image tagged {tag!r}, found {len(manifests)}")

    def load(digest: str) -> bytes:
        path = layout / "blobs" / digest.replace(":", "/", 1)
        data = path.read_bytes()
        if sha256_digest(data) != digest:
            raise BaseImageError(f"{layout}: blob {digest} does not match its digest")
        return data

    descriptor = manifests[0]
    manifest_bytes = load(descriptor["digest"])
    manifest = json.loads(manifest_bytes)
    if "manifests" in manifest:  # an image index: take this machine's platform
        chosen = [m for m in manifest["manifests"]
                  if m.get("platform", {}).get("os") == HOST_PLATFORM.os
                  and m.get("platform", {}).get("architecture") == HOST_PLATFORM.architecture]
        if not chosen:
            raise BaseImageError(f"{layout}: the image index has no {HOST_PLATFORM} image")
        manifest_bytes = load(chosen[0]["digest"])
        manifest = json.loads(manifest_bytes)
    config = json.loads(load(manifest["config"]["digest"]))
    for layer in manifest.get("layers", []):
        if layer.get("mediaType") not in (LAYER_MEDIA_TYPE, _DOCKER_LAYER):
            raise BaseImageError(f"{layout}: layer media type {layer.get('mediaType')} "
                                 "is not supported (gzip tar layers only)")
        if not blobs.has(layer["digest"]):
            data = load(layer["digest"])
            blobs.put(data)
    blobs.put(load(manifest["config"]["digest"]))
    digest = blobs.put(manifest_bytes)
    return Image(digest, manifest, config, len(manifest_bytes))
