"""Plain functions behind ``shiplane registry …`` (the CLI calls exactly these).

* :func:`open_registry_server` — build storage, auth and settings for a root folder;
* :func:`login_password` — a 12-hour password for ``docker login -u AWS``;
* :func:`list_repositories`, :func:`list_tags`, :func:`inspect_image` — read-only queries;
* ``copy_image`` lives in ``layout.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiplane.registry.auth import (
    AuthConfig,
    BasicAuth,
    TokenAuth,
    issue_login_password,
    load_auth_config,
)
from shiplane.registry.client import ProgressCallback, RegistryClient
from shiplane.registry.credentials import Credentials
from shiplane.registry.disk import DiskStorage
from shiplane.registry.errors import CredentialsError
from shiplane.registry.gc import GarbageCollector
from shiplane.registry.layout import LayoutImage, copy_image
from shiplane.registry.lifecycle import RepositoryRules
from shiplane.registry.manifest import parse_manifest
from shiplane.registry.policy import Effect, PrincipalKind, RepositoryPolicy, Statement
from shiplane.registry.reference import ImageReference
from shiplane.registry.server import ServerSettings
from shiplane.registry.tokens import SigningKey

__all__ = [
    "ImageInfo",
    "copy_between",
    "RegistryServerParts",
    "default_auth_config",
    "inspect_image",
    "list_repositories",
    "list_tags",
    "login_password",
    "open_registry_server",
    "signing_key_path",
]

ADMIN = "admin"


def signing_key_path(root: Path) -> Path:
    return root / "auth" / "signing-key.pem"


def default_auth_config() -> AuthConfig:
    """Without a config file: one ``admin`` principal may do everything; no anonymous pull."""
    return AuthConfig(policies=(RepositoryPolicy("*", (
        Statement(Effect.ALLOW, (ADMIN,), frozenset({"ecr:*"})),)),))


@dataclass
class RegistryServerParts:
    storage: DiskStorage
    auth: TokenAuth | BasicAuth | None
    settings: ServerSettings
    collector: GarbageCollector | None = None
    notes: list[str] = field(default_factory=list)


def open_registry_server(root: Path, *, auth_config: Path | None = None, no_auth: bool = False,
                         rules: RepositoryRules | None = None, gc_interval: float = 600.0,
                         gc_grace: float = 3600.0, chunk_min_length: int | None = None,
                         auth_scheme: str = "token") -> RegistryServerParts:
    """Everything ``serve`` needs for a registry kept in ``root``."""
    storage = DiskStorage(root)
    rules = rules or RepositoryRules()
    settings = ServerSettings(chunk_min_length=chunk_min_length, tag_immutable=rules.is_immutable)
    auth = None
    notes = []
    if not no_auth:
        config = load_auth_config(auth_config) if auth_config else default_auth_config()
        key = SigningKey.load_or_create(signing_key_path(root))
        if auth_scheme not in ("token", "basic"):
            raise CredentialsError(f"unknown auth scheme {auth_scheme!r}", hint="use token or basic")
        auth = TokenAuth(config, key) if auth_scheme == "token" else BasicAuth(config, key)
        if auth_config is None:
            notes.append(f"auth: {auth_scheme} auth with the default policy (principal 'admin' may do "
                         "everything); get a password with `shiplane registry login-password`")
    collector = GarbageCollector(storage, interval=gc_interval, grace_seconds=gc_grace) if gc_interval > 0 else None
    return RegistryServerParts(storage, auth, settings, collector, notes)


def login_password(root: Path, *, principal: str = ADMIN, kind: str = "user",
                   service: str = "shiplane-registry") -> str:
    """Like ``aws ecr get-login-password``: a 12-hour password for user ``AWS``."""
    key = SigningKey.load_or_create(signing_key_path(root))
    return issue_login_password(key, principal, service=service, kind=PrincipalKind(kind))


def _client(registry: str, username: str | None, password: str | None,
            plain_http: bool | None) -> RegistryClient:
    credentials = Credentials(username, password) if password is not None else None
    return RegistryClient(registry, credentials=credentials, plain_http=plain_http)


def list_repositories(registry: str, *, username: str | None = None, password: str | None = None,
                      plain_http: bool | None = None) -> list[str]:
    with _client(registry, username, password, plain_http) as client:
        return client.catalog()


def list_tags(repository_reference: str, *, username: str | None = None,
              password: str | None = None, plain_http: bool | None = None) -> list[str]:
    ref = ImageReference.parse(repository_reference)
    with _client(ref.api_host, username, password, plain_http) as client:
        return client.list_tags(ref.repository)


@dataclass(frozen=True)
class ImageInfo:
    reference: str
    digest: str
    media_type: str
    size: int
    manifest: dict[str, Any]
    layers: int
    total_size: int


def inspect_image(reference: str, *, username: str | None = None, password: str | None = None,
                  plain_http: bool | None = None) -> ImageInfo:
    ref = ImageReference.parse(reference)
    with _client(ref.api_host, username, password, plain_http) as client:
        got = client.get_manifest(ref.repository, ref.reference)
    manifest = parse_manifest(got.data, got.media_type)
    total = sum(d.size for d in manifest.blobs) + sum(d.size for d in manifest.manifests)
    return ImageInfo(str(ref), got.digest, got.media_type, len(got.data), json.loads(got.data),
                     len(manifest.layers) or len(manifest.manifests), total)


def _split_creds(creds: str | None) -> tuple[str | None, str | None]:
    if creds is None:
        return None, None
    user, sep, password = creds.partition(":")
    if not sep:
        raise CredentialsError("credentials must be USER:PASSWORD")
    return user, password


def copy_between(source: str, destination: str, *, source_creds: str | None = None,
                 destination_creds: str | None = None, plain_http: bool | None = None,
                 progress: ProgressCallback | None = None) -> LayoutImage:
    """``copy_image`` with optional ``USER:PASSWORD`` credentials for each side."""
    src, dst = ImageReference.parse(source), ImageReference.parse(destination)
    with _client(src.api_host, *_split_creds(source_creds), plain_http) as src_client, \
            _client(dst.api_host, *_split_creds(destination_creds), plain_http) as dst_client:
        return copy_image(src, dst, source_client=src_client, destination_client=dst_client,
                          progress=progress)
