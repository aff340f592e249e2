"""Manifests and indexes: media types, descriptors, parsing — pure code.

The server stores manifest bytes exactly as pushed; this module only reads
them to learn what they reference (blobs that must exist, child manifests of
an index, the ``subject`` of a referrer). Accepted kinds: OCI image manifest,
OCI image index, Docker schema 2 manifest and manifest list (image-spec
``manifest.md``/``image-index.md``; distribution ``manifest/schema2``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shiplane.registry.errors import ManifestParseError, ReferenceInvalid
from shiplane.registry.reference import parse_digest

__all__ = [
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "INDEX_MEDIA_TYPES",
    "MANIFEST_MEDIA_TYPES",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Descriptor",
    "Manifest",
    "parse_manifest",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_MEDIA_TYPES = IMAGE_MEDIA_TYPES | INDEX_MEDIA_TYPES


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] | None = None
    artifact_type: str | None = None
    platform: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = self.annotations
        if self.platform:
            out["platform"] = self.platform
        return out

    @classmethod
    def from_json(cls, value: Any, where: str) -> "Descriptor":
        if not isinstance(value, dict):
            raise ManifestParseError(f"{where} is not a descriptor object")
        media_type = value.get("mediaType")
        digest = value.get("digest")
        size = value.get("size")
        if not isinstance(media_type, str) or not media_type:
            raise ManifestParseError(f"{where}.mediaType is missing")
        if not isinstance(digest, str):
            raise ManifestParseError(f"{where}.digest is missing")
        try:
            parse_digest(digest)
        except ReferenceInvalid as error:
            raise ManifestParseError(f"{where}.digest: {error.message}") from None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestParseError(f"{where}.size must be a non-negative integer")
        annotations = value.get("annotations")
        if annotations is not None and not (
            isinstance(annotations, dict) and all(isinstance(v, str) for v in annotations.values())
        ):
            raise ManifestParseError(f"{where}.annotations must map strings to strings")
        artifact_type = value.get("artifactType")
        if artifact_type is not None and not isinstance(artifact_type, str):
            raise ManifestParseError(f"{where}.artifactType must be a string")
        platform = value.get("platform")
        if platform is not None and not isinstance(platform, dict):
            raise ManifestParseError(f"{where}.platform must be an object")
        return cls(media_type, digest, size, annotations or None, artifact_type, platform)


@dataclass(frozen=True, slots=True)
class Manifest:
    """What the registry needs to know about a manifest or index."""

    media_type: str
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """Blobs (config and layers) that must exist before this manifest is accepted."""
        return ((self.config,) if self.config else ()) + self.layers

    @property
    def effective_artifact_type(self) -> str | None:
        """artifactType, else the config media type (image-spec "Referrers" rule)."""
        if self.artifact_type:
            return self.artifact_type
        return self.config.media_type if self.config else None


def parse_manifest(data: bytes, content_type: str | None = None) -> Manifest:
    """Parse manifest bytes; ``content_type`` is the media type the client declared.

    Raises :class:`ManifestParseError` naming the first problem found.
    """
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestParseError(f"manifest is not valid JSON: {error}") from None
    if not isinstance(doc, dict):
        raise ManifestParseError("manifest must be a JSON object")
    if doc.get("schemaVersion") != 2:
        raise ManifestParseError("schemaVersion must be 2 (schema 1 manifests are not supported)")
    declared = doc.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise ManifestParseError("mediaType must be a string")
    content_type = (content_type or "").split(";")[0].strip() or None
    if declared and content_type and declared != content_type:
        raise ManifestParseError(
            f"Content-Type {content_type!r} does not match the manifest's mediaType {declared!r}"
        )
    media_type = declared or content_type
    if media_type is None:
        # image-spec: mediaType SHOULD be set; guess from shape like distribution does.
        media_type = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    if media_type not in MANIFEST_MEDIA_TYPES:
        raise ManifestParseError(f"unsupported manifest media type {media_type!r}")
    subject = Descriptor.from_json(doc["subject"], "subject") if doc.get("subject") is not None else None
    artifact_type = doc.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestParseError("artifactType must be a string")
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise ManifestParseError("annotations must be an object")
    if media_type in INDEX_MEDIA_TYPES:
        children = doc.get("manifests")
        if not isinstance(children, list):
            raise ManifestParseError("an index needs a manifests array")
        manifests = tuple(
            Descriptor.from_json(child, f"manifests[{i}]") for i, child in enumerate(children)
        )
        return Manifest(media_type, manifests=manifests, subject=subject,
                        artifact_type=artifact_type, annotations=annotations)
    if "config" not in doc:
        raise ManifestParseError("an image manifest needs a config descriptor")
    config = Descriptor.from_json(doc["config"], "config")
    layers_doc = doc.get("layers")
    if not isinstance(layers_doc, list):
        raise ManifestParseError("an image manifest needs a layers array")
    layers = tuple(Descriptor.from_json(layer, f"layers[{i}]") for i, layer in enumerate(layers_doc))
    return Manifest(media_type, config=config, layers=layers, subject=subject,
                    artifact_type=artifact_type, annotations=annotations)
