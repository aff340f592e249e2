"""Where the client's credentials come from: explicit, ECR, ``~/.docker/config.json``.

``resolve_credentials(host)`` tries, in order: an ECR registry host
(``<account>.dkr.ecr.<region>.amazonaws.com``) through boto3
``get_authorization_token`` (the token is ``base64("AWS:<password>")``, valid
12 hours; cached until five minutes before expiry), then the Docker config file
(``auths[host].auth`` = base64 ``user:password``, or ``username``/``password``,
or ``identitytoken`` for OAuth2 refresh). Credential helpers (``credsStore``)
are not run.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shiplane.registry.errors import CredentialsError

__all__ = [
    "Credentials",
    "EcrHost",
    "docker_config_credentials",
    "ecr_credentials",
    "parse_ecr_host",
    "resolve_credentials",
]

_ECR_HOST_RE = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr(?:-fips)?\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_ECR_REFRESH_MARGIN = 300.0


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str | None = None
    password: str | None = None
    identity_token: str | None = None  # OAuth2 refresh token (docker config "identitytoken")
    expires_at: float | None = None

    def __repr__(self) -> str:  # never print secrets
        return f"Credentials(username={self.username!r}, password={'***' if self.password else None})"


@dataclass(frozen=True, slots=True)
class EcrHost:
    account: str
    region: str


def parse_ecr_host(host: str) -> EcrHost | None:
    match = _ECR_HOST_RE.match(host.split("/")[0].lower())
    return EcrHost(match["account"], match["region"]) if match else None


def _docker_config_path() -> Path:
    folder = os.environ.get("DOCKER_CONFIG")
    return Path(folder) / "config.json" if folder else Path.home() / ".docker" / "config.json"


def _host_keys(host: str) -> list[str]:
    keys = [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"]
    if host in ("docker.io", "registry-1.docker.io", "index.docker.io"):
        keys.insert(0, "https://index.docker.io/v1/")
    return keys


def docker_config_credentials(host: str, path: Path | None = None) -> Credentials | None:
    """Credentials for ``host`` from a Docker config file, or None."""
    path = path or _docker_config_path()
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise CredentialsError(f"cannot read {path}: {error}") from None
    auths = doc.get("auths") or {}
    for key in _host_keys(host):
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        if entry.get("identitytoken"):
            return Credentials(username=entry.get("username"), identity_token=entry["identitytoken"])
        if entry.get("auth"):
            try:
                user, sep, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                sep = ""
            if not sep:
                raise CredentialsError(f"auths[{key!r}].auth in {path} is not base64 user:password")
            return Credentials(user, password)
        if entry.get("username") and entry.get("password"):
            return Credentials(entry["username"], entry["password"])
    return None


_ecr_cache: dict[str, Credentials] = {}
_ecr_lock = threading.Lock()


def ecr_credentials(host: str, *, session: Any = None, now: float | None = None) -> Credentials:
    """Basic credentials for an ECR host from ``ecr:GetAuthorizationToken``."""
    ecr = parse_ecr_host(host)
    if ecr is None:
        raise CredentialsError(f"{host} is not an ECR registry host")
    now = time.time() if now is None else now
    with _ecr_lock:
        cached = _ecr_cache.get(host)
        if cached and cached.expires_at and cached.expires_at - _ECR_REFRESH_MARGIN > now:
            return cached
    try:
        import boto3
        import botocore.exceptions

        client = (session or boto3).client("ecr", region_name=ecr.region)
        answer = client.get_authorization_token(registryIds=[ecr.account])
    except ImportError:  # pragma: no cover - boto3 is a dependency
        raise CredentialsError("boto3 is required for ECR registries") from None
    except botocore.exceptions.NoCredentialsError:
        raise CredentialsError(f"no AWS credentials to log in to {host}",
                               hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from None
    except botocore.exceptions.BotoCoreError as error:
        raise CredentialsError(f"ECR GetAuthorizationToken failed for {host}: {error}") from None
    except botocore.exceptions.ClientError as error:
        raise CredentialsError(f"ECR GetAuthorizationToken failed for {host}: {error}") from None
    data = answer["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    expires = data.get("expiresAt")
    expires_at = expires.timestamp() if hasattr(expires, "timestamp") else now + 12 * 3600
    creds = Credentials(user, password, expires_at=expires_at)
    with _ecr_lock:
        _ecr_cache[host] = creds
    return creds


def resolve_credentials(host: str, *, docker_config: Path | None = None) -> Credentials | None:
    """The default chain: ECR for ECR hosts, else the Docker config file, else None."""
    if parse_ecr_host(host) is not None:
        return ecr_credentials(host)
    return docker_config_credentials(host, docker_config)
