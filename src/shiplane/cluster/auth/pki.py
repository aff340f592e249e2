"""The cluster's PKI folder and kubeconfigs for its users.

``ClusterPKI.ensure(folder, cluster_name)`` makes (once) or loads (after): the CA, the API
server's serving certificate, the ServiceAccount signing key, and an ``admin`` client
certificate in ``system:masters`` — what ``shiplane cluster up`` needs for HTTPS. Keys are
written 0600. :func:`user_kubeconfig` renders a kubeconfig with embedded client certificate
data for ``shiplane cluster kubeconfig --user NAME --group G``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import yaml

from shiplane.cluster.auth.errors import TLSMaterialError
from shiplane.cluster.auth.serviceaccount import ServiceAccountTokens
from shiplane.cluster.auth.tls import CertificateAuthority, IssuedCertificate, write_private, write_public
from shiplane.cluster.auth.user import MASTERS

__all__ = ["ClusterPKI", "user_kubeconfig"]

CA_CERT, CA_KEY = "ca.crt", "ca.key"
SERVING_CERT, SERVING_KEY = "apiserver.crt", "apiserver.key"
SA_KEY = "sa.key"
ADMIN_CERT, ADMIN_KEY = "admin.crt", "admin.key"


@dataclass(frozen=True)
class ClusterPKI:
    folder: Path
    ca: CertificateAuthority
    service_accounts: ServiceAccountTokens

    @property
    def ca_file(self) -> Path:
        return self.folder / CA_CERT

    @property
    def serving_cert_file(self) -> Path:
        return self.folder / SERVING_CERT

    @property
    def serving_key_file(self) -> Path:
        return self.folder / SERVING_KEY

    @property
    def admin(self) -> IssuedCertificate:
        return IssuedCertificate((self.folder / ADMIN_CERT).read_bytes(), (self.folder / ADMIN_KEY).read_bytes())

    @classmethod
    def ensure(cls, folder: Path, cluster_name: str) -> ClusterPKI:
        folder = Path(folder)
        if (folder / CA_CERT).exists() and (folder / CA_KEY).exists():
            ca = CertificateAuthority.load((folder / CA_CERT).read_bytes(), (folder / CA_KEY).read_bytes())
        elif (folder / CA_CERT).exists() or (folder / CA_KEY).exists():
            raise TLSMaterialError(f"{folder} has only half of the cluster CA",
                                   hint="remove ca.crt/ca.key and run 'shiplane cluster up' again")
        else:
            ca = CertificateAuthority.create(cluster_name)
            write_private(folder / CA_KEY, ca.key_pem)
            write_public(folder / CA_CERT, ca.cert_pem)
        if not (folder / SERVING_CERT).exists() or not (folder / SERVING_KEY).exists():
            serving = ca.issue_serving(cluster_name)
            write_private(folder / SERVING_KEY, serving.key_pem)
            write_public(folder / SERVING_CERT, serving.cert_pem)
        if (folder / SA_KEY).exists():
            tokens = ServiceAccountTokens.from_pem((folder / SA_KEY).read_bytes())
        else:
            tokens = ServiceAccountTokens.generate()
            write_private(folder / SA_KEY, tokens.key_pem)
        if not (folder / ADMIN_CERT).exists() or not (folder / ADMIN_KEY).exists():
            admin = ca.issue_client("admin", [MASTERS])
            write_private(folder / ADMIN_KEY, admin.key_pem)
            write_public(folder / ADMIN_CERT, admin.cert_pem)
        return cls(folder, ca, tokens)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def user_kubeconfig(server: str, ca_pem: bytes, client: IssuedCertificate, *, cluster_name: str,
                    user: str, namespace: str = "default") -> str:
    """A kubeconfig (YAML) that authenticates as ``client``'s user over verified TLS."""
    context = f"{user}@{cluster_name}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {
            "server": server, "certificate-authority-data": _b64(ca_pem)}}],
        "users": [{"name": context, "user": {
            "client-certificate-data": _b64(client.cert_pem), "client-key-data": _b64(client.key_pem)}}],
        "contexts": [{"name": context, "context": {
            "cluster": cluster_name, "user": context, "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)
