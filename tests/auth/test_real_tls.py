"""The TLS material works with real clients: kubectl (Go crypto/tls + x509 verification)
talks HTTPS to a server using shiplane's serving certificate and presents a shiplane client
certificate, which the server maps to a user with :func:`authenticate`."""

import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shiplane.cluster.auth import CertificateAuthority, RequestCredentials, Unauthenticated, authenticate, write_private, write_public

KUBECTL = shutil.which("kubectl") or str(Path("/work/venv/bin/kubectl"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority.create("tls-test")
    serving = ca.issue_serving("tls-test")
    alice = ca.issue_client("alice", ["developers"])
    write_public(root / "ca.crt", ca.cert_pem)
    write_public(root / "apiserver.crt", serving.cert_pem)
    write_private(root / "apiserver.key", serving.key_pem)
    write_public(root / "alice.crt", alice.cert_pem)
    write_private(root / "alice.key", alice.key_pem)
    stranger = CertificateAuthority.create("stranger").issue_client("mallory", ["system:masters"])
    write_public(root / "mallory.crt", stranger.cert_pem)
    write_private(root / "mallory.key", stranger.key_pem)
    return root, ca


@pytest.fixture(scope="module")
def server(pki):
    root, ca = pki

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            der = self.connection.getpeercert(binary_form=True)
            try:
                user = authenticate(RequestCredentials(client_cert_der=der, cert_chain_verified=der is not None,
                                                       authorization=self.headers.get("Authorization")),
                                    ca=ca.certificate)
                body, code = {"user": user.name, "groups": list(user.groups)}, 200
            except Unauthenticated as exc:
                body, code = exc.status(), 401
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(root / "apiserver.crt", root / "apiserver.key")
    context.load_verify_locations(root / "ca.crt")
    context.verify_mode = ssl.CERT_OPTIONAL
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def kubectl(server, root, *args, cert="alice", server_name=None):
    cmd = [KUBECTL, "--server", server, "--certificate-authority", str(root / "ca.crt"),
           "--request-timeout", "10s", "get", "--raw", "/whoami"]
    if cert:
        cmd[1:1] = ["--client-certificate", str(root / f"{cert}.crt"), "--client-key", str(root / f"{cert}.key")]
    if server_name:
        cmd[1:1] = ["--tls-server-name", server_name]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30,
                          env={"HOME": str(root), "KUBECONFIG": str(root / "none")})


def test_kubectl_verifies_the_serving_certificate_and_is_identified(server, pki):
    root, _ = pki
    done = kubectl(server, root)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"user": "alice", "groups": ["developers", "system:authenticated"]}
    by_name = kubectl(server, root, server_name="tls-test")  # the cluster name is a SAN
    assert by_name.returncode == 0, by_name.stderr


def test_a_certificate_from_another_ca_is_refused(server, pki):
    root, _ = pki
    done = kubectl(server, root, cert="mallory")
    assert done.returncode != 0


def test_a_bad_bearer_token_gets_upstreams_401(server, pki):
    root, _ = pki
    done = kubectl(server, root, "--token", "nope", cert=None)
    assert done.returncode != 0 and "Unauthorized" in done.stderr
