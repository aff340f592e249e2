"""AuthMiddleware in-process (bearer tokens) and over real mTLS with kubectl."""

import shutil
import ssl
import subprocess
import threading
import time
from pathlib import Path

from starlette.testclient import TestClient
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shiplane.cluster.auth import (
    AuthMiddleware,
    Authenticators,
    ClusterPKI,
    PeerCertH11Protocol,
    RBACAuthorizer,
    bootstrap_cluster_role_bindings,
    bootstrap_cluster_roles,
    parse_token_file,
    user_kubeconfig,
)

KUBECTL = shutil.which("kubectl") or "/work/venv/bin/kubectl"

ROLE_BINDINGS = [{"metadata": {"name": "devs", "namespace": "dev"},
                  "roleRef": {"kind": "ClusterRole", "name": "edit"},
                  "subjects": [{"kind": "Group", "name": "developers"}]}]


async def whoami(request: Request):
    user = request.scope["state"]["user"]
    return JSONResponse({"user": user.name, "groups": list(user.groups)})


def make_app(authenticators):
    inner = Starlette(routes=[Route("/version", whoami),
                              Route("/apis/apps/v1/namespaces/{ns}/deployments", whoami, methods=["GET", "POST"])])
    authorizer = RBACAuthorizer(cluster_roles=bootstrap_cluster_roles(), role_bindings=ROLE_BINDINGS,
                                cluster_role_bindings=bootstrap_cluster_role_bindings())
    return AuthMiddleware(inner, authenticators, lambda: authorizer)


def test_tokens_in_process():
    tokens = parse_token_file('dev-token,dana,1,"developers"\n')
    client = TestClient(make_app(Authenticators(token_file=tokens)))
    ok = client.post("/apis/apps/v1/namespaces/dev/deployments", headers={"Authorization": "Bearer dev-token"})
    assert ok.json() == {"user": "dana", "groups": ["developers", "system:authenticated"]}
    denied = client.post("/apis/apps/v1/namespaces/prod/deployments", headers={"Authorization": "Bearer dev-token"})
    assert denied.status_code == 403
    assert denied.json()["message"] == ('deployments.apps is forbidden: User "dana" cannot create resource '
                                        '"deployments" in API group "apps" in the namespace "prod"')
    bad = client.get("/version", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["message"] == "Unauthorized"
    anonymous = client.get("/version")
    assert anonymous.json()["user"] == "system:anonymous"


@pytest.mark.slow
def test_kubectl_over_mtls(tmp_path):
    pki = ClusterPKI.ensure(tmp_path / "pki", "gov")
    app = make_app(Authenticators(ca=pki.ca.certificate))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", http=PeerCertH11Protocol,
                            ssl_certfile=str(pki.serving_cert_file), ssl_keyfile=str(pki.serving_key_file),
                            ssl_ca_certs=str(pki.ca_file), ssl_cert_reqs=ssl.CERT_OPTIONAL)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(250):
            if server.started:
                break
            time.sleep(0.02)
        url = f"https://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        dana = pki.ca.issue_client("dana", ["developers"])
        path = tmp_path / "dana.kubeconfig"
        path.write_text(user_kubeconfig(url, pki.ca.cert_pem, dana, cluster_name="gov", user="dana"))

        def raw(target):
            return subprocess.run([KUBECTL, "--kubeconfig", str(path), "get", "--raw", target],
                                  capture_output=True, text=True, timeout=30, env={"HOME": str(tmp_path)})

        allowed = raw("/apis/apps/v1/namespaces/dev/deployments")
        assert allowed.returncode == 0, allowed.stderr
        assert '"user":"dana"' in allowed.stdout
        denied = raw("/apis/apps/v1/namespaces/prod/deployments")
        assert denied.returncode != 0
        assert ('deployments.apps is forbidden: User "dana" cannot list resource "deployments" in API group '
                '"apps" in the namespace "prod"') in denied.stderr
    finally:
        server.should_exit = True
        thread.join(5)
