"""Serve the API in-process: a uvicorn server on a free loopback port in a thread.

Used by tests, benchmarks and other embedded parts::

    with ApiServerRunner() as server:          # memory store
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")

Pass a :class:`SqliteObjectStore` for durable state (``shiplane cluster up`` uses
the same classes in a detached process, see :mod:`.process`).
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from shiplane.cluster.apiserver.app import build_app
from shiplane.cluster.apiserver.backend import ApiBackend
from shiplane.cluster.apiserver.watch import WatchHub
from shiplane.cluster.clock import ClusterClock
from shiplane.cluster.auth import (
    Authenticators,
    ClusterPKI,
    PeerCertH11Protocol,
    user_kubeconfig,
    write_private,
)
from shiplane.cluster.store.memory import MemoryObjectStore
from shiplane.cluster.store.model import ObjectKey
from shiplane.cluster.store.protocol import ObjectStore
from shiplane.errors import ClusterError
from shiplane.serving import ServerStartError, ThreadedServer

__all__ = ["ApiServerRunner", "free_port", "kubeconfig_text"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def kubeconfig_text(server_url: str, name: str = "shiplane", namespace: str = "default") -> str:
    """A kubeconfig for a plain-HTTP loopback server (TLS and credentials come in part 2)."""
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        f"- name: {name}\n"
        "  cluster:\n"
        f"    server: {server_url}\n"
        "users:\n"
        f"- name: {name}\n"
        "  user: {}\n"
        "contexts:\n"
        f"- name: {name}\n"
        "  context:\n"
        f"    cluster: {name}\n"
        f"    user: {name}\n"
        f"    namespace: {namespace}\n"
        f"current-context: {name}\n"
        "preferences: {}\n"
    )


class ApiServerRunner:
    """Start/stop an API server in a background thread of this process."""

    def __init__(
        self,
        store: ObjectStore | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "shiplane",
        pki_dir: Path | None = None,
        clock: ClusterClock | None = None,
    ) -> None:
        """``pki_dir`` turns on HTTPS with client-certificate and ServiceAccount-token
        authentication and RBAC (the PKI is made there once, see :class:`ClusterPKI`).
        ``clock``: the cluster clock the timestamps come from (share it with the control
        plane when ``--time-scale`` is not 1); wall time by default."""
        self.store = store if store is not None else MemoryObjectStore()
        self.host = host
        self.port = port or free_port(host)
        self.name = name
        self.clock = clock or ClusterClock()
        self.backend = ApiBackend(self.store, clock=self.clock.now)
        self.hub = WatchHub(self.store)
        self.pki = ClusterPKI.ensure(pki_dir, name) if pki_dir is not None else None
        authenticators = None
        if self.pki is not None:
            authenticators = Authenticators(
                ca=self.pki.ca.certificate,
                service_accounts=self.pki.service_accounts,
                service_account_exists=self._service_account_exists,
            )
        self.app = build_app(self.backend, hub=self.hub, authenticators=authenticators)
        self.kubeconfig: Path | None = None
        self._runner: ThreadedServer | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.pki is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def _service_account_exists(self, namespace: str, name: str, uid: str) -> bool:
        stored = self.store.get(ObjectKey("serviceaccounts", namespace, name))
        return stored is not None and (not uid or stored.obj["metadata"].get("uid") == uid)

    def tls_options(self) -> dict[str, Any]:
        """uvicorn options for HTTPS with optional, CA-verified client certificates."""
        if self.pki is None:
            return {}
        return {
            "ssl_certfile": str(self.pki.serving_cert_file),
            "ssl_keyfile": str(self.pki.serving_key_file),
            "ssl_ca_certs": str(self.pki.ca_file),
            "ssl_cert_reqs": ssl.CERT_OPTIONAL,
            "http": PeerCertH11Protocol,
        }

    def start(self, timeout: float = 15.0) -> ApiServerRunner:
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
            ws="wsproto",  # pods/portforward: lenient about kubectl's "SPDY/3.1+..." subprotocol
            access_log=False,
            **self.tls_options(),
        )
        runner = ThreadedServer(config, name=f"apiserver-{self.port}",
                                before_stop=self._close_watches)
        try:
            runner.start(timeout)
        except ServerStartError as exc:
            raise ClusterError(f"the API server did not start on {self.url}",
                               hint="is the port already in use?") from exc
        self._runner = runner
        return self

    def _close_watches(self) -> None:
        loop = getattr(self.hub, "_loop", None)
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self.hub.close)

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
        self._runner = None

    def write_kubeconfig(
        self, path: Path, namespace: str = "default", *, user: str = "admin",
        groups: tuple[str, ...] = (),
    ) -> Path:
        """A kubeconfig for this server; with TLS it carries a client certificate for
        ``user`` (the default ``admin`` is in ``system:masters``), written 0600."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.pki is None:
            path.write_text(kubeconfig_text(self.url, self.name, namespace))
        else:
            client = (self.pki.admin if user == "admin" and not groups
                      else self.pki.ca.issue_client(user, list(groups)))
            text = user_kubeconfig(self.url, self.pki.ca.cert_pem, client,
                                   cluster_name=self.name, user=user, namespace=namespace)
            write_private(path, text.encode())
        self.kubeconfig = path
        return path

    def __enter__(self) -> ApiServerRunner:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
