"""Exec credential plugins (``users[].user.exec``), e.g. EKS's ``aws eks get-token``.

Follows client-go's ``plugin/pkg/client/auth/exec/exec.go`` and the
client.authentication.k8s.io ExecCredential contract: the plugin is run with
``KUBERNETES_EXEC_INFO`` describing the request, prints an ``ExecCredential``
whose ``apiVersion`` must equal the configured one, and returns either a bearer
``token`` or a client certificate/key pair, optionally with an
``expirationTimestamp``. Credentials are cached until they expire or until the
server answers 401, which forces a fresh run (client-go's ``refreshCredsLocked``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shiplane.kube.errors import CredentialError
from shiplane.kube.kubeconfig import ExecConfig

__all__ = ["ExecCredential", "ExecCredentialSource", "exec_info_env", "parse_exec_output"]

SUPPORTED_API_VERSIONS = (
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
)


@dataclass(frozen=True)
class ExecCredential:
    token: str | None = None
    client_certificate_data: str | None = None
    client_key_data: str | None = None
    expiration: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expiration is not None and now >= self.expiration


def exec_info_env(config: ExecConfig, *, interactive: bool, cluster: Mapping[str, Any] | None) -> str:
    """The ``KUBERNETES_EXEC_INFO`` value for one run of the plugin."""
    spec: dict[str, Any] = {"interactive": interactive}
    if config.provide_cluster_info and cluster is not None:
        spec["cluster"] = dict(cluster)
    return json.dumps({"apiVersion": config.api_version, "kind": "ExecCredential", "spec": spec})


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CredentialError(f"exec plugin returned an invalid expirationTimestamp {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_exec_output(output: str, config: ExecConfig) -> ExecCredential:
    """Validate a plugin's stdout as client-go does; raises :class:`CredentialError`."""
    try:
        document = json.loads(output)
    except json.JSONDecodeError:
        raise CredentialError(f"exec plugin {config.command!r} did not print a JSON ExecCredential") from None
    if not isinstance(document, dict) or document.get("kind") != "ExecCredential":
        raise CredentialError(f"exec plugin {config.command!r} printed something other than an ExecCredential")
    if document.get("apiVersion") != config.api_version:
        raise CredentialError(
            f"exec plugin is configured to use API version {config.api_version}, "
            f"plugin returned version {document.get('apiVersion')}"
        )
    status = document.get("status")
    if not isinstance(status, dict):
        raise CredentialError("exec plugin didn't return a status field")
    token = status.get("token") or None
    cert, key = status.get("clientCertificateData") or None, status.get("clientKeyData") or None
    if not token and not (cert and key):
        if cert or key:
            raise CredentialError("exec plugin returned only one of clientCertificateData and clientKeyData")
        raise CredentialError("exec plugin didn't return a token or cert/key pair")
    expiration = status.get("expirationTimestamp")
    return ExecCredential(
        token=token,
        client_certificate_data=cert,
        client_key_data=key,
        expiration=_parse_time(expiration) if expiration else None,
    )


class ExecCredentialSource:
    """Runs the plugin when needed and caches its credential (thread-safe)."""

    def __init__(
        self,
        config: ExecConfig,
        *,
        cluster_info: Mapping[str, Any] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        timeout: float = 60.0,
    ) -> None:
        if config.api_version not in SUPPORTED_API_VERSIONS:
            raise CredentialError(
                f"exec plugin: invalid apiVersion {config.api_version!r}",
                hint=f"use one of {', '.join(SUPPORTED_API_VERSIONS)}",
            )
        self.config = config
        self._cluster_info = cluster_info
        self._clock = clock
        self._timeout = timeout
        self._cached: ExecCredential | None = None
        self._lock = threading.Lock()
        self.runs = 0

    def get(self) -> ExecCredential:
        with self._lock:
            if self._cached is None or self._cached.expired(self._clock()):
                self._cached = self._run()
            return self._cached

    def invalidate(self) -> None:
        """Forget the cached credential (after a 401), so the next ``get`` runs the plugin."""
        with self._lock:
            self._cached = None

    def _run(self) -> ExecCredential:
        config = self.config
        interactive = sys.stdin is not None and sys.stdin.isatty()
        if config.interactive_mode == "Always" and not interactive:
            raise CredentialError(
                "exec plugin cannot support interactive mode: standard input is not a terminal"
            )
        if config.interactive_mode == "Never":
            interactive = False
        if shutil.which(config.command) is None and not os.path.isfile(config.command):
            hint = config.install_hint.strip() or None
            raise CredentialError(f"exec: executable {config.command} not found", hint=hint)
        env = dict(os.environ)
        env.update(dict(config.env))
        env["KUBERNETES_EXEC_INFO"] = exec_info_env(
            config, interactive=interactive, cluster=self._cluster_info
        )
        try:
            proc = subprocess.run(
                [config.command, *config.args],
                env=env,
                stdin=None if interactive else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self._timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CredentialError(f"exec plugin {config.command!r} timed out after {self._timeout:g}s") from None
        except OSError as error:
            raise CredentialError(f"exec plugin {config.command!r} could not start: {error}") from None
        self.runs += 1
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise CredentialError(
                f"exec plugin {config.command!r} exited with {proc.returncode}: {' '.join(tail)}"
            )
        return parse_exec_output(proc.stdout, config)
