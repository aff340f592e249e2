"""shiplane.registry — an OCI Distribution v1.1 registry and the one client for every registry.

Server side: :func:`build_app` (Starlette route table over a :class:`Storage`:
:class:`MemoryStorage` for tests, :class:`DiskStorage` in OCI image-layout
form for the product) and :class:`EmbeddedRegistry` to run it on a loopback
port in-process::

    auth = TokenAuth(AuthConfig(users=..., policies=...), SigningKey.generate())
    with EmbeddedRegistry(DiskStorage(root), auth=auth,
                          settings=ServerSettings(tag_immutable=rules.is_immutable)) as registry:
        password = issue_login_password(auth.key, "node-1", kind=PrincipalKind.NODE)
        # clients log in as user "AWS" with that 12-hour password (like ECR)

``BasicAuth`` is ECR's own scheme (basic credentials on every request).
Policies (:class:`RepositoryPolicy`, :func:`evaluate`) grant ECR actions to
principals; :func:`collect_garbage` / :class:`GarbageCollector` run online GC;
:func:`plan_lifecycle` + :func:`apply_lifecycle` expire images.

Client API (used by the builder, the pipeline and the simulated kubelets)::

    from shiplane.registry import RegistryClient, push_oci_layout, pull_to_oci_layout

    # High level: an OCI image layout directory <-> a registry reference.
    image = push_oci_layout("build/out", "127.0.0.1:5000/team/api:1.2.0")
    image.digest                      # "sha256:…" of the pushed manifest/index
    str(image.reference)              # "127.0.0.1:5000/team/api:1.2.0@sha256:…"
    pull_to_oci_layout("127.0.0.1:5000/team/api@sha256:…", "cache/api")
    copy_image("src.example/a:1", "dst.example/a:1")   # digests preserved

    # Low level: one client per registry host.
    with RegistryClient("127.0.0.1:5000") as client:   # http for loopback hosts
        client.push_blob("team/api", Path("layer.tar.gz"))      # HEAD first, then upload
        client.push_blob("team/api", data, mount_from="team/base")  # cross-repo mount
        client.push_manifest("team/api", "1.2.0", manifest_bytes, OCI_MANIFEST)
        client.get_manifest("team/api", "1.2.0")  # ManifestResponse(data, media_type, digest)
        client.pull_blob("team/api", digest, Path("out/blob"))   # verified, atomic
        client.list_tags("team/api"); client.referrers("team/api", digest, artifact_type=…)
        # referrers also work on registries without the API (fallback tag sha256-<hex>)
        client.blob_exists(...), client.manifest_exists(...), client.delete_manifest(...)

``RegistryClient(host, credentials=Credentials(user, password), plain_http=…,
chunk_size=…, progress=callback, retries=…, transport=httpx transport)``.
Credentials default to ECR (``get_authorization_token``, for
``<acct>.dkr.ecr.<region>.amazonaws.com``) then ``~/.docker/config.json``;
bearer-token challenges and basic auth are handled. ``progress`` receives
:class:`ProgressEvent` (action push/pull/exists/mount, digest, done, total).
Uploads are monolithic (POST + PUT) up to ``monolithic_limit`` unless
``chunk_size`` is set or the server sends ``OCI-Chunk-Min-Length``; 5xx/429 are
retried with backoff. Errors: :class:`RegistryApiError` (``.code`` is the
spec's code), :class:`RegistryUnreachable`, :class:`DigestMismatch`, all under
``shiplane.errors.RegistryError``.
"""

from shiplane.registry.auth import (
    AuthConfig,
    BasicAuth,
    TokenAuth,
    User,
    issue_login_password,
    load_auth_config,
)
from shiplane.registry.client import ManifestResponse, ProgressEvent, RegistryClient
from shiplane.registry.credentials import (
    Credentials,
    docker_config_credentials,
    ecr_credentials,
    parse_ecr_host,
    resolve_credentials,
)
from shiplane.registry.disk import DiskStorage
from shiplane.registry.embedded import EmbeddedRegistry
from shiplane.registry.errors import (
    CredentialsError,
    DigestMismatch,
    LayoutError,
    ManifestParseError,
    ReferenceInvalid,
    RegistryApiError,
    RegistryError,
    RegistryUnreachable,
)
from shiplane.registry.gc import GarbageCollector, GcReport, collect_garbage
from shiplane.registry.layout import (
    LayoutImage,
    copy_image,
    pull_to_oci_layout,
    push_oci_layout,
)
from shiplane.registry.lifecycle import (
    ExpireUntagged,
    KeepLastN,
    LifecyclePlan,
    RepositoryRules,
    apply_lifecycle,
    image_records,
    plan_lifecycle,
)
from shiplane.registry.manifest import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    parse_manifest,
)
from shiplane.registry.policy import (
    Effect,
    Principal,
    PrincipalKind,
    RepositoryPolicy,
    Statement,
    evaluate,
)
from shiplane.registry.reference import Digest, ImageReference, digest_of, parse_digest
from shiplane.registry.server import ServerSettings, build_app
from shiplane.registry.storage import MemoryStorage, Storage
from shiplane.registry.tokens import SigningKey
from shiplane.registry.transport import RegistryTransport

__all__ = [
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "AuthConfig",
    "BasicAuth",
    "Credentials",
    "CredentialsError",
    "Descriptor",
    "Digest",
    "DigestMismatch",
    "DiskStorage",
    "Effect",
    "EmbeddedRegistry",
    "ExpireUntagged",
    "GarbageCollector",
    "GcReport",
    "ImageReference",
    "KeepLastN",
    "LayoutError",
    "LayoutImage",
    "LifecyclePlan",
    "Manifest",
    "ManifestParseError",
    "ManifestResponse",
    "MemoryStorage",
    "Principal",
    "PrincipalKind",
    "ProgressEvent",
    "ReferenceInvalid",
    "RegistryApiError",
    "RegistryClient",
    "RegistryError",
    "RegistryTransport",
    "RegistryUnreachable",
    "RepositoryPolicy",
    "RepositoryRules",
    "ServerSettings",
    "SigningKey",
    "Statement",
    "Storage",
    "TokenAuth",
    "User",
    "apply_lifecycle",
    "build_app",
    "collect_garbage",
    "copy_image",
    "digest_of",
    "docker_config_credentials",
    "ecr_credentials",
    "evaluate",
    "image_records",
    "issue_login_password",
    "load_auth_config",
    "parse_digest",
    "parse_ecr_host",
    "parse_manifest",
    "plan_lifecycle",
    "pull_to_oci_layout",
    "push_oci_layout",
    "resolve_credentials",
]
