"""Kubeconfig files: loading, merging and choosing a context.

Semantics follow client-go's loader (k8s.io/client-go/tools/clientcmd/loader.go):
``$KUBECONFIG`` is a list of files; for each named cluster, user and context the
*first* file that defines it wins, and so does the first ``current-context``.
Relative paths (certificate-authority, client-certificate, client-key, tokenFile,
exec command) are resolved against the folder of the file that named them
(``ResolveLocalPaths``). The result, :class:`ConnectionSettings`, is everything a
client needs to talk to one API server; building it is pure.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shiplane.kube.errors import KubeconfigError

__all__ = [
    "ConnectionSettings",
    "ExecConfig",
    "Kubeconfig",
    "default_kubeconfig_paths",
    "load_kubeconfig",
]


@dataclass(frozen=True)
class ExecConfig:
    """``users[].user.exec`` (client.authentication.k8s.io ExecConfig)."""

    command: str
    api_version: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    install_hint: str = ""
    provide_cluster_info: bool = False
    interactive_mode: str = "IfAvailable"


@dataclass(frozen=True)
class ConnectionSettings:
    """Where an API server is and how to authenticate to it."""

    server: str
    context: str
    namespace: str = "default"
    ca_data: bytes | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    token: str | None = None
    token_file: Path | None = None
    username: str | None = None
    password: str | None = None
    exec: ExecConfig | None = None
    proxy_url: str | None = None
    cluster_extra: Mapping[str, Any] = field(default_factory=dict)


def default_kubeconfig_paths() -> list[Path]:
    """``$KUBECONFIG`` (os.pathsep-separated), else ``~/.kube/config``."""
    raw = os.environ.get("KUBECONFIG", "")
    if raw:
        return [Path(part).expanduser() for part in raw.split(os.pathsep) if part]
    return [Path.home() / ".kube" / "config"]


def _named(items: Any, what: str, source: Path) -> list[tuple[str, dict[str, Any]]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise KubeconfigError(f"{source}: '{what}' must be a list")
    out = []
    for item in items:
        if not isinstance(item, dict) or "name" not in item:
            raise KubeconfigError(f"{source}: every entry of '{what}' needs a 'name'")
        out.append((str(item["name"]), item))
    return out


@dataclass
class Kubeconfig:
    """The merged view of one or more kubeconfig files."""

    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    current_context: str | None = None
    # name → folder of the file that defined it, for relative paths
    _origin: dict[tuple[str, str], Path] = field(default_factory=dict)

    def add_document(self, document: Mapping[str, Any], source: Path) -> None:
        folder = source.resolve().parent
        for key, target, inner in (
            ("clusters", self.clusters, "cluster"),
            ("users", self.users, "user"),
            ("contexts", self.contexts, "context"),
        ):
            for name, item in _named(document.get(key), key, source):
                if name not in target:  # first file wins (client-go merge rules)
                    target[name] = dict(item.get(inner) or {})
                    self._origin[(key, name)] = folder
        if self.current_context is None and document.get("current-context"):
            self.current_context = str(document["current-context"])

    def context_names(self) -> list[str]:
        return list(self.contexts)

    def settings(self, context: str | None = None) -> ConnectionSettings:
        """Everything needed to reach the API server of ``context`` (default: current)."""
        name = context or self.current_context
        if not name:
            raise KubeconfigError(
                "no context given and the kubeconfig has no current-context",
                hint="pass a context, or run `kubectl config use-context NAME`",
            )
        if name not in self.contexts:
            known = ", ".join(sorted(self.contexts)) or "none"
            raise KubeconfigError(f"context {name!r} not found in kubeconfig (known: {known})")
        ctx = self.contexts[name]
        cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
        if cluster_name not in self.clusters:
            raise KubeconfigError(f"context {name!r} names cluster {cluster_name!r}, which is not defined")
        cluster = self.clusters[cluster_name]
        if not cluster.get("server"):
            raise KubeconfigError(f"cluster {cluster_name!r} has no server")
        user = self.users.get(user_name, {}) if user_name else {}
        if user_name and user_name not in self.users:
            raise KubeconfigError(f"context {name!r} names user {user_name!r}, which is not defined")
        cluster_dir = self._origin.get(("clusters", cluster_name), Path.cwd())
        user_dir = self._origin.get(("users", user_name), Path.cwd()) if user_name else Path.cwd()
        return ConnectionSettings(
            server=str(cluster["server"]).rstrip("/"),
            context=name,
            namespace=str(ctx.get("namespace") or "default"),
            ca_data=_data_or_file(cluster, "certificate-authority-data", "certificate-authority", cluster_dir),
            insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
            tls_server_name=cluster.get("tls-server-name"),
            client_cert_data=_data_or_file(user, "client-certificate-data", "client-certificate", user_dir),
            client_key_data=_data_or_file(user, "client-key-data", "client-key", user_dir),
            token=user.get("token"),
            token_file=_resolve(user.get("tokenFile"), user_dir),
            username=user.get("username"),
            password=user.get("password"),
            exec=_exec_config(user.get("exec"), user_dir),
            proxy_url=cluster.get("proxy-url"),
            cluster_extra={k: v for k, v in cluster.items() if k == "extensions"},
        )


def _resolve(value: Any, folder: Path) -> Path | None:
    if not value:
        return None
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else folder / path


def _data_or_file(section: Mapping[str, Any], data_key: str, file_key: str, folder: Path) -> bytes | None:
    if section.get(data_key):
        try:
            return base64.b64decode(str(section[data_key]), validate=True)
        except ValueError:
            raise KubeconfigError(f"{data_key} is not valid base64") from None
    path = _resolve(section.get(file_key), folder)
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise KubeconfigError(f"cannot read {file_key} {path}: {error.strerror}") from None


def _exec_config(raw: Any, folder: Path) -> ExecConfig | None:
    if not raw:
        return None
    if not isinstance(raw, dict) or not raw.get("command") or not raw.get("apiVersion"):
        raise KubeconfigError("users[].user.exec needs 'command' and 'apiVersion'")
    command = str(raw["command"])
    # client-go resolves a command containing a path separator relative to the kubeconfig.
    if os.sep in command and not os.path.isabs(command):
        command = str(folder / command)
    env = tuple((str(e["name"]), str(e.get("value", ""))) for e in raw.get("env") or [])
    return ExecConfig(
        command=command,
        api_version=str(raw["apiVersion"]),
        args=tuple(str(a) for a in raw.get("args") or []),
        env=env,
        install_hint=str(raw.get("installHint") or ""),
        provide_cluster_info=bool(raw.get("provideClusterInfo", False)),
        interactive_mode=str(raw.get("interactiveMode") or "IfAvailable"),
    )


def load_kubeconfig(paths: Sequence[Path] | Path | None = None) -> Kubeconfig:
    """Load and merge kubeconfig files (default: ``$KUBECONFIG`` or ``~/.kube/config``)."""
    if isinstance(paths, Path):
        paths = [paths]
    candidates = list(paths) if paths is not None else default_kubeconfig_paths()
    merged = Kubeconfig()
    found = False
    for path in candidates:
        if not path.exists():
            continue
        found = True
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise KubeconfigError(f"{path}: not valid YAML: {error}") from None
        except OSError as error:
            raise KubeconfigError(f"cannot read {path}: {error.strerror}") from None
        if not isinstance(document, dict):
            raise KubeconfigError(f"{path}: a kubeconfig must be a mapping")
        merged.add_document(document, path)
    if not found:
        shown = ", ".join(str(p) for p in candidates)
        raise KubeconfigError(f"no kubeconfig found (looked at {shown})",
                              hint="set KUBECONFIG or pass --kubeconfig")
    return merged
