"""Image pulls of simulated nodes: real registry traffic, simulated transfer time.

:class:`ImagePuller` fetches an image's manifest and every layer through
``shiplane.registry.client.RegistryClient`` (digests verified by the client), with the node
role's credentials (ECR-style: the registry's policy decides what the role may pull) or the
pod's imagePullSecrets. Blobs land in one :class:`ContentStore` shared by all nodes of the
process (a layer is downloaded once per process), while every node keeps its own image index:
a node that has not pulled an image does not have it, whatever its neighbours did, and its
simulated pull time counts every layer it did not have (``pull_duration``).

In private-cluster mode a node reaches registries only through its configured endpoint (the
guide's VPC interface endpoint): an image on any other host fails as unreachable.
Failures become :class:`ImagePullFailed` with the message the kubelet puts in its event.

A content store made with a ``directory`` also keeps the blobs' bytes there
(``<directory>/sha256/<hex>``): the process runtime unpacks layers from it. Without one (the
default, simulated nodes only) blobs are verified and dropped.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shiplane.errors import ClusterError
from shiplane.registry.client import RegistryClient
from shiplane.registry.credentials import Credentials
from shiplane.registry.errors import RegistryApiError, RegistryError, RegistryUnreachable
from shiplane.registry.manifest import parse_manifest
from shiplane.registry.reference import ImageReference

__all__ = ["ContentStore", "ImagePuller", "ImagePullFailed", "PulledImage", "RoleCredentials"]

RoleCredentials = Callable[[str, str], Credentials | None]  # (role, registry host) -> creds


class ImagePullFailed(ClusterError):
    """A pull failed; ``str(error)`` is the kubelet's event text after 'Failed to pull image'."""


@dataclass(frozen=True)
class PulledImage:
    reference: str
    digest: str
    size: int
    layer_sizes: tuple[int, ...]
    config_digest: str = ""
    layer_digests: tuple[str, ...] = ()
    layer_media_types: tuple[str, ...] = ()


@dataclass
class ContentStore:
    """Blobs shared by every node of the process; per-node image indexes."""

    blobs: dict[str, int] = field(default_factory=dict)  # digest -> size
    nodes: dict[str, dict[str, PulledImage]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    directory: Path | None = None  # keep blob bytes here (process runtime)

    def blob_path(self, digest: str) -> Path:
        if self.directory is None:
            raise ClusterError("this content store keeps no blob bytes (no directory)")
        algorithm, _, hexdigest = digest.partition(":")
        return self.directory / algorithm / hexdigest

    def has_blob(self, digest: str) -> bool:
        if digest not in self.blobs:
            return False
        return self.directory is None or self.blob_path(digest).exists()

    def image_on(self, node: str, reference: str) -> PulledImage | None:
        return self.nodes.get(node, {}).get(reference)

    def record(self, node: str, image: PulledImage) -> None:
        with self.lock:
            self.nodes.setdefault(node, {})[image.reference] = image


def _secret_credentials(secrets: list[dict], host: str) -> Credentials | None:
    """A kubernetes.io/dockerconfigjson Secret's auth for ``host``."""
    for secret in secrets:
        raw = (secret.get("data") or {}).get(".dockerconfigjson")
        if not raw:
            continue
        try:
            auths = json.loads(base64.b64decode(raw)).get("auths") or {}
        except ValueError:
            continue
        entry = auths.get(host) or auths.get(f"http://{host}") or auths.get(f"https://{host}")
        if not entry:
            continue
        if entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            return Credentials(user, password)
        return Credentials(entry.get("username"), entry.get("password"))
    return None


class ImagePuller:
    def __init__(
        self,
        store: ContentStore | None = None,
        *,
        role_credentials: RoleCredentials | None = None,
        client_options: Mapping[str, object] | None = None,
    ) -> None:
        self.store = store or ContentStore()
        self.role_credentials = role_credentials
        self.client_options = {"resolve": False, "retries": 1, "timeout": 10.0,
                               **(client_options or {})}
        self._clients: dict[tuple, RegistryClient] = {}
        self._lock = threading.Lock()

    def _client(self, host: str, creds: Credentials | None) -> RegistryClient:
        key = (host, creds)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = RegistryClient(host, credentials=creds, **self.client_options)
                self._clients[key] = client
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def pull(
        self,
        node: str,
        image: str,
        *,
        role: str = "",
        pull_secrets: list[dict] = (),  # type: ignore[assignment]
        endpoint: str | None = None,
    ) -> PulledImage:
        """Fetch ``image`` for ``node`` (blocking: run it in a thread)."""
        try:
            ref = ImageReference.parse(image)
        except RegistryError as exc:
            raise ImagePullFailed(f"invalid reference: {exc}") from None
        host = ref.registry
        if endpoint is not None and host != endpoint:
            raise ImagePullFailed(
                f'failed to resolve reference "{image}": dial tcp {host}: no route to host '
                f"(private cluster: images are pulled only through {endpoint})"
            )
        creds = _secret_credentials(list(pull_secrets), host)
        if creds is None and self.role_credentials is not None and role:
            creds = self.role_credentials(role, host)
        client = self._client(host, creds)
        what = ref.digest or ref.tag or "latest"
        try:
            response = client.get_manifest(ref.repository, what)
            manifest = parse_manifest(response.data, response.media_type)
            if manifest.is_index:
                chosen = next((m for m in manifest.manifests
                               if (m.platform or {}).get("architecture") in (None, "amd64")),
                              manifest.manifests[0])
                response = client.get_manifest(ref.repository, chosen.digest)
                manifest = parse_manifest(response.data, response.media_type)
            blobs = ([manifest.config] if manifest.config else []) + list(manifest.layers)
            for blob in blobs:
                if self.store.has_blob(blob.digest):
                    continue  # shared content store: already downloaded and verified
                if self.store.directory is not None:
                    dest = self.store.blob_path(blob.digest)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    client.pull_blob(ref.repository, blob.digest, dest)
                else:
                    client.pull_blob(ref.repository, blob.digest)
                with self.store.lock:
                    self.store.blobs[blob.digest] = blob.size
        except RegistryApiError as exc:
            raise ImagePullFailed(_describe(image, exc)) from None
        except RegistryUnreachable as exc:
            raise ImagePullFailed(f'failed to resolve reference "{image}": {exc}') from None
        except RegistryError as exc:
            raise ImagePullFailed(f'failed to pull and unpack image "{image}": {exc}') from None
        sizes = tuple(layer.size for layer in manifest.layers)
        pulled = PulledImage(image, response.digest, sum(sizes), sizes,
                             manifest.config.digest if manifest.config else "",
                             tuple(layer.digest for layer in manifest.layers),
                             tuple(layer.media_type for layer in manifest.layers))
        return pulled


def _describe(image: str, exc: RegistryApiError) -> str:
    """containerd's wording: 401/403 as authorization failures, 404 as not found."""
    status = exc.status
    if status == 404:
        return f'rpc error: code = NotFound desc = failed to resolve reference "{image}": {image}: not found'
    if status == 401:
        return (f'failed to resolve reference "{image}": failed to authorize: '
                f"failed to fetch anonymous token: 401 Unauthorized ({exc.reason})")
    if status == 403:
        return f'failed to resolve reference "{image}": 403 Forbidden: {exc.reason}'
    return f'failed to resolve reference "{image}": {status} {exc}'
