"""A real HTTPS server on loopback (uvicorn + TLS from a throwaway CA) for client-side tests."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject: str, key, issuer_name: x509.Name | None, issuer_key, *, ca=False, server=False):
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name or name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@dataclass
class TlsServer:
    url: str
    ca_pem: bytes
    client_cert_pem: bytes
    client_key_pem: bytes
    seen_auth: list[str] = field(default_factory=list)
    reject_tokens: set[str] = field(default_factory=set)

    def kubeconfig(self, user: dict, *, ca_b64: bool = True) -> dict:
        cluster = {"server": self.url}
        if ca_b64:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        return {
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "c", "cluster": cluster}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "test", "context": {"cluster": "c", "user": "u", "namespace": "payments"}}],
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory) -> TlsServer:
    folder: Path = tmp_path_factory.mktemp("tls")
    ca_key = _key()
    ca_pem = _cert("test-ca", ca_key, None, ca_key, ca=True)
    ca_name = x509.load_pem_x509_certificate(ca_pem).subject
    server_key, client_key = _key(), _key()
    (folder / "ca.crt").write_bytes(ca_pem)
    (folder / "server.crt").write_bytes(_cert("127.0.0.1", server_key, ca_name, ca_key, server=True))
    (folder / "server.key").write_bytes(_pem_key(server_key))
    state = TlsServer("", ca_pem, _cert("alice", client_key, ca_name, ca_key), _pem_key(client_key))

    async def version(request: Request):
        auth = request.headers.get("authorization", "")
        state.seen_auth.append(auth)
        if auth.removeprefix("Bearer ") in state.reject_tokens:
            return JSONResponse({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                 "message": "Unauthorized", "reason": "Unauthorized", "code": 401}, 401)
        return JSONResponse({"major": "1", "minor": "31", "gitVersion": "v1.31.0"})

    app = Starlette(routes=[Route("/version", version)])
    port = _free_port()
    import ssl
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                            ssl_certfile=str(folder / "server.crt"), ssl_keyfile=str(folder / "server.key"),
                            ssl_ca_certs=str(folder / "ca.crt"), ssl_cert_reqs=ssl.CERT_OPTIONAL)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    state.url = f"https://127.0.0.1:{port}"
    yield state
    server.should_exit = True
    thread.join(5)
