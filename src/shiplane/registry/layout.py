"""OCI image layouts on disk ↔ registries: ``push_oci_layout``, ``pull_to_oci_layout``, ``copy_image``.

A layout (image-spec ``image-layout.md``) is ``oci-layout``, ``index.json`` and
``blobs/<alg>/<hex>``; a tag is the ``org.opencontainers.image.ref.name``
annotation of an ``index.json`` entry. Pushing walks the graph children first
(layers, config, then manifest; an index's manifests before the index), so the
registry never sees a manifest whose blobs it lacks. Pulling writes blobs
atomically and verified, then adds the root to ``index.json``.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shiplane.registry.client import ProgressCallback, RegistryClient
from shiplane.registry.disk import atomic_write
from shiplane.registry.errors import LayoutError, ManifestParseError
from shiplane.registry.manifest import Descriptor, parse_manifest
from shiplane.registry.reference import ImageReference, parse_digest

__all__ = ["LayoutImage", "client_for", "copy_image", "pull_to_oci_layout", "push_oci_layout",
           "read_layout_index"]

REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True, slots=True)
class LayoutImage:
    """What was pushed or pulled: the reference and the root manifest's descriptor."""

    reference: ImageReference
    digest: str
    media_type: str
    size: int


def client_for(reference: ImageReference, **options: Any) -> RegistryClient:
    """A client for the registry of ``reference`` (credentials resolved the default way)."""
    return RegistryClient(reference.api_host, **options)


def _blob_path(layout: Path, digest: str) -> Path:
    parsed = parse_digest(digest)
    return layout / "blobs" / parsed.algorithm / parsed.hex


def read_layout_index(layout: Path) -> dict[str, Any]:
    if not (layout / "oci-layout").is_file():
        raise LayoutError(f"{layout} is not an OCI image layout (no oci-layout file)")
    try:
        index = json.loads((layout / "index.json").read_text())
    except FileNotFoundError:
        raise LayoutError(f"{layout}/index.json is missing") from None
    except ValueError as error:
        raise LayoutError(f"{layout}/index.json is not JSON: {error}") from None
    if not isinstance(index.get("manifests"), list):
        raise LayoutError(f"{layout}/index.json has no manifests array")
    return index


def _pick_root(layout: Path, tag: str | None) -> Descriptor:
    entries = read_layout_index(layout)["manifests"]
    if tag is not None:
        named = [e for e in entries if (e.get("annotations") or {}).get(REF_NAME) in (tag,)]
        if len(named) == 1:
            return Descriptor.from_json(named[0], "index.json entry")
    if len(entries) == 1:
        return Descriptor.from_json(entries[0], "index.json entry")
    names = [(e.get("annotations") or {}).get(REF_NAME) for e in entries]
    raise LayoutError(f"{layout} holds {len(entries)} images {names}; none is tagged {tag!r}",
                      hint="tag the image in the layout (ref.name annotation) or keep one image")


def push_oci_layout(layout_dir: Path | str, reference: str | ImageReference, *,
                    client: RegistryClient | None = None, layout_tag: str | None = None,
                    mount_from: list[str] | None = None,
                    progress: ProgressCallback | None = None) -> LayoutImage:
    """Push the image of an OCI layout to ``reference`` (tag or digest); returns its digest.

    The layout entry chosen is the one whose ref.name is ``layout_tag`` (default:
    the reference's tag), else the only one.
    """
    layout = Path(layout_dir)
    ref = reference if isinstance(reference, ImageReference) else ImageReference.parse(reference)
    owned = client is None
    client = client or client_for(ref)
    if progress is not None:
        client.progress = progress
    try:
        root = _pick_root(layout, layout_tag or ref.tag)
        _push_node(client, layout, ref.repository, root, mount_from or [])
        data = _blob_path(layout, root.digest).read_bytes()
        target = ref.tag if ref.tag else root.digest
        if ref.digest and ref.digest != root.digest:
            raise LayoutError(f"layout image is {root.digest}, not the requested {ref.digest}")
        digest = client.push_manifest(ref.repository, target, data, root.media_type)
        return LayoutImage(ref.with_digest(digest), digest, root.media_type, len(data))
    finally:
        if owned:
            client.close()


def _push_node(client: RegistryClient, layout: Path, repository: str, node: Descriptor,
               mount_from: list[str]) -> None:
    """Push everything ``node`` (a manifest or index) references, not node itself."""
    path = _blob_path(layout, node.digest)
    try:
        manifest = parse_manifest(path.read_bytes(), node.media_type)
    except FileNotFoundError:
        raise LayoutError(f"{layout} lacks blob {node.digest}") from None
    except ManifestParseError as error:
        raise LayoutError(f"manifest {node.digest} in {layout}: {error.message}") from None
    for child in manifest.manifests:
        _push_node(client, layout, repository, child, mount_from)
        child_data = _blob_path(layout, child.digest).read_bytes()
        client.push_manifest(repository, child.digest, child_data, child.media_type)
    for blob in manifest.blobs:
        blob_path = _blob_path(layout, blob.digest)
        if not blob_path.exists():
            raise LayoutError(f"{layout} lacks blob {blob.digest} ({blob.media_type})")
        client.push_blob(repository, blob_path, blob.digest, mount_from=mount_from)


def pull_to_oci_layout(reference: str | ImageReference, layout_dir: Path | str, *,
                       client: RegistryClient | None = None,
                       progress: ProgressCallback | None = None) -> LayoutImage:
    """Pull ``reference`` (and for an index, every platform) into an OCI layout."""
    layout = Path(layout_dir)
    ref = reference if isinstance(reference, ImageReference) else ImageReference.parse(reference)
    owned = client is None
    client = client or client_for(ref)
    if progress is not None:
        client.progress = progress
    try:
        layout.mkdir(parents=True, exist_ok=True)
        if not (layout / "oci-layout").exists():
            atomic_write(layout / "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        root = client.get_manifest(ref.repository, ref.reference)
        _pull_node(client, layout, ref.repository, root.data, root.media_type, root.digest)
        entry: dict[str, Any] = {"mediaType": root.media_type, "digest": root.digest,
                                 "size": len(root.data)}
        if ref.tag:
            entry["annotations"] = {REF_NAME: ref.tag}
        _add_to_index(layout, entry)
        return LayoutImage(ref.with_digest(root.digest), root.digest, root.media_type, len(root.data))
    finally:
        if owned:
            client.close()


def _pull_node(client: RegistryClient, layout: Path, repository: str, data: bytes,
               media_type: str, digest: str) -> None:
    try:
        manifest = parse_manifest(data, media_type)
    except ManifestParseError as error:
        raise LayoutError(f"manifest {digest} from the registry: {error.message}") from None
    for blob in manifest.blobs:
        path = _blob_path(layout, blob.digest)
        if not path.exists():
            client.pull_blob(repository, blob.digest, path)
    for child in manifest.manifests:
        child_response = client.get_manifest(repository, child.digest)
        _pull_node(client, layout, repository, child_response.data, child.media_type, child.digest)
    atomic_write(_blob_path(layout, digest), data)


def _add_to_index(layout: Path, entry: dict[str, Any]) -> None:
    index_path = layout / "index.json"
    index = (json.loads(index_path.read_text()) if index_path.exists()
             else {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": []})
    name = (entry.get("annotations") or {}).get(REF_NAME)
    kept = [e for e in index.get("manifests", [])
            if not (name and (e.get("annotations") or {}).get(REF_NAME) == name)
            and not (not name and e.get("digest") == entry["digest"])]
    index["manifests"] = kept + [entry]
    atomic_write(index_path, json.dumps(index, indent=2).encode())


def copy_image(source: str | ImageReference, destination: str | ImageReference, *,
               source_client: RegistryClient | None = None,
               destination_client: RegistryClient | None = None,
               progress: ProgressCallback | None = None) -> LayoutImage:
    """Copy an image (or index) between registries, digests preserved."""
    src = source if isinstance(source, ImageReference) else ImageReference.parse(source)
    dst = destination if isinstance(destination, ImageReference) else ImageReference.parse(destination)
    with tempfile.TemporaryDirectory(prefix="shiplane-copy-") as tmp:
        pulled = pull_to_oci_layout(src, tmp, client=source_client, progress=progress)
        mount = [src.repository] if src.registry == dst.registry else None
        del pulled
        return push_oci_layout(tmp, dst, client=destination_client, layout_tag=src.tag,
                               mount_from=mount, progress=progress)
