"""Client certificates reach the app through real uvicorn + TLS (PeerCertH11Protocol), and
httpx with a shiplane client certificate is identified; no certificate → anonymous."""

import ssl
import threading
import time

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shiplane.cluster.auth import CertificateAuthority, RequestCredentials, authenticate, write_private, write_public
from shiplane.cluster.auth.peercert import PeerCertH11Protocol, peer_certificate
from shiplane.cluster.auth.tls import load_certificate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("mtls")
    ca = CertificateAuthority.create("mtls")
    serving = ca.issue_serving("mtls")
    bob = ca.issue_client("bob", ["deployers"])
    for name, data in (("ca.crt", ca.cert_pem), ("server.crt", serving.cert_pem), ("bob.crt", bob.cert_pem)):
        write_public(root / name, data)
    write_private(root / "server.key", serving.key_pem)
    write_private(root / "bob.key", bob.key_pem)

    async def whoami(request: Request):
        der = peer_certificate(request.scope)
        user = authenticate(RequestCredentials(client_cert_der=der, cert_chain_verified=True),
                            ca=load_certificate(ca.cert_pem))
        return JSONResponse({"user": user.name, "groups": list(user.groups)})

    app = Starlette(routes=[Route("/whoami", whoami)])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", http=PeerCertH11Protocol,
                            ssl_certfile=str(root / "server.crt"), ssl_keyfile=str(root / "server.key"),
                            ssl_ca_certs=str(root / "ca.crt"), ssl_cert_reqs=ssl.CERT_OPTIONAL)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"https://127.0.0.1:{port}", root
    server.should_exit = True
    thread.join(5)


def test_client_certificate_identifies_the_user(served):
    url, root = served
    context = ssl.create_default_context(cafile=str(root / "ca.crt"))
    context.load_cert_chain(str(root / "bob.crt"), str(root / "bob.key"))
    answer = httpx.get(url + "/whoami", verify=context)
    assert answer.json() == {"user": "bob", "groups": ["deployers", "system:authenticated"]}


def test_without_a_certificate_the_caller_is_anonymous(served):
    url, root = served
    answer = httpx.get(url + "/whoami", verify=ssl.create_default_context(cafile=str(root / "ca.crt")))
    assert answer.json() == {"user": "system:anonymous", "groups": ["system:unauthenticated"]}
