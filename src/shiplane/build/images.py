"""Local images, pulling base images and pushing results — the builder's registry seam.

:class:`ImageStore` keeps images in the builder's blob store with a reference → manifest
digest record. Like ``docker build`` without ``--pull``, a FROM reference already in the store
is used without asking a registry.

Transport is ``shiplane.registry`` (``pull_to_oci_layout`` / ``push_oci_layout``: digests
verified, token/basic/ECR auth, plain HTTP for loopback hosts). Pulling and pushing each go
through one function (:func:`pull_image`, :func:`push_layout`): the only registry seam.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING
from pathlib import Path

from shiplane.build.config import BaseImage
from shiplane.build.errors import BaseImageError, PushError
from shiplane.build.oci import Image, read_layout
from shiplane.build.store import BlobStore, RecordStore
from shiplane.errors import ShiplaneError

if TYPE_CHECKING:
    from shiplane.registry import RegistryClient

__all__ = [
    "ImageStore",
    "is_insecure",
    "normalize_reference",
    "pull_image",
    "push_layout",
    "push_tags",
]

_LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$")


def normalize_reference(reference: str) -> str:
    """Add ``:latest`` when neither a tag nor a digest is given."""
    if "@" in reference:
        return reference
    last = reference.rsplit("/", 1)[-1]
    return reference if ":" in last else reference + ":latest"


def _registry_host(reference: str) -> str:
    first = reference.split("/", 1)[0]
    if "/" in reference and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def is_insecure(reference: str) -> bool:
    """Plain-HTTP registries: loopback hosts and ``SHIPLANE_INSECURE_REGISTRIES``."""
    host = _registry_host(reference)
    extra = {h.strip() for h in os.environ.get("SHIPLANE_INSECURE_REGISTRIES", "").split(",")}
    return bool(_LOOPBACK.match(host)) or host in extra


class ImageStore:
    def __init__(self, blobs: BlobStore, refs: RecordStore) -> None:
        self.blobs = blobs
        self.refs = refs

    def load(self, digest: str) -> Image:
        manifest_bytes = self.blobs.get(digest)
        manifest = json.loads(manifest_bytes)
        config = json.loads(self.blobs.get(manifest["config"]["digest"]))
        return Image(digest, manifest, config, len(manifest_bytes))

    def lookup(self, reference: str) -> Image | None:
        record = self.refs.get("ref:" + normalize_reference(reference))
        if record is None or not self.blobs.has(record["digest"]):
            return None
        image = self.load(record["digest"])
        if not all(self.blobs.has(layer["digest"]) for layer in image.layers):
            return None
        return image

    def tag(self, reference: str, image: Image) -> None:
        self.refs.put("ref:" + normalize_reference(reference), {"digest": image.digest})

    def base_image(self, reference: str, *, pull: bool = False) -> BaseImage:
        image = None if pull else self.lookup(reference)
        if image is None:
            image = pull_image(self, reference)
        return BaseImage(reference, image.digest, image.config, image.layers)


def _client(reference: str) -> RegistryClient:
    """One client for the reference's registry (plain HTTP for loopback/insecure hosts)."""
    # imported on use: the registry package pulls in its server (uvicorn, starlette), which a
    # cached rebuild never needs
    from shiplane.registry import ImageReference, RegistryClient

    ref = ImageReference.parse(normalize_reference(reference))
    return RegistryClient(ref.api_host, plain_http=True if is_insecure(reference) else None)


def pull_image(store: ImageStore, reference: str) -> Image:
    """Pull ``reference`` from its registry into ``store`` (blob digests verified)."""
    normalized = normalize_reference(reference)
    with tempfile.TemporaryDirectory(prefix="shiplane-pull-") as tmp:
        layout = Path(tmp) / "layout"
        from shiplane.registry import pull_to_oci_layout

        try:
            with _client(reference) as client:
                pull_to_oci_layout(normalized, layout, client=client)
        except ShiplaneError as error:  # RegistryError tree, reference syntax errors
            raise BaseImageError(
                f"base image {reference!r} cannot be pulled: {error.message}",
                hint="create offline base images with `shiplane base-image --push --registry "
                "<host:port>`, or check the reference and that the registry is running",
            ) from None
        image = read_layout(layout, store.blobs, None)
    store.tag(reference, image)
    return image


def push_layout(layout: Path, tag: str, destination: str) -> None:
    """Push the image tagged ``tag`` in an OCI layout to ``destination`` (repo:tag)."""
    push_tags(layout, destination.rsplit(":", 1)[0], [tag], layout_tags=[tag],
              remote_tags=[destination.rsplit(":", 1)[1]])


def push_tags(layout: Path, repository: str, tags: Sequence[str], *,
              layout_tags: Sequence[str] | None = None,
              remote_tags: Sequence[str] | None = None) -> None:
    """Push ``repository:<tag>`` for each tag over one connection (blobs go up once; later
    tags only PUT the manifest)."""
    from shiplane.registry import push_oci_layout

    remote = list(remote_tags or tags)
    local = list(layout_tags or tags)
    try:
        with _client(repository + ":x") as client:
            for layout_tag, tag in zip(local, remote, strict=True):
                push_oci_layout(layout, f"{repository}:{tag}", client=client,
                                layout_tag=layout_tag)
    except ShiplaneError as error:
        raise PushError(f"pushing {repository} failed: {error.message}", hint=error.hint) from None


def layout_digest(layout: Path, tags: Sequence[str]) -> str:
    """Digest of the manifest a layout tags (used after pushes to print ``ref@digest``)."""
    index = json.loads((Path(layout) / "index.json").read_text())
    for manifest in index.get("manifests", []):
        if manifest.get("annotations", {}).get("org.opencontainers.image.ref.name") in tags:
            return manifest["digest"]
    raise PushError(f"{layout} has none of the tags {list(tags)}")


