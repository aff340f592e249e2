"""Push small synthetic OCI images for tests and benchmarks (real blobs, real manifests)."""

from __future__ import annotations

import hashlib
import json

from shiplane.registry.client import RegistryClient
from shiplane.registry.credentials import Credentials

__all__ = ["push_test_image"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_test_image(
    registry_host: str,
    repository: str,
    tag: str,
    *,
    layer_sizes: tuple[int, ...] = (4096,),
    credentials: Credentials | None = None,
) -> str:
    """Push an image whose layers are ``layer_sizes`` bytes of distinct content; returns the
    manifest digest. The same (repository, tag, sizes) always gives the same digest."""
    with RegistryClient(registry_host, credentials=credentials, resolve=False) as client:
        layers = []
        for index, size in enumerate(layer_sizes):
            seed = f"{repository}:{tag}:{index}".encode()
            block = hashlib.sha256(seed).digest()
            data = (block * (size // len(block) + 1))[:size]
            digest, _ = client.push_blob(repository, data)
            layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                           "digest": digest, "size": size})
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]},
                             "config": {"Labels": {"tag": tag}}}).encode()
        config_digest, _ = client.push_blob(repository, config)
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config)},
            "layers": layers,
        }).encode()
        client.push_manifest(repository, tag, manifest, OCI_MANIFEST)
        return _digest(manifest)
