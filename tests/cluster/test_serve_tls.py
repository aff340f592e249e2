"""The detached server process with --pki and --token-auth-file: HTTPS, static bearer tokens,
RBAC (kube-apiserver's --token-auth-file format)."""

import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shiplane.cluster.apiserver.runner import free_port

pytestmark = pytest.mark.slow
SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_static_tokens_over_https(tmp_path):
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('root-token,root,1,"system:masters"\nview-token,viewer,2\n')
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "shiplane.cluster.apiserver.serve", "--db", str(tmp_path / "db"),
         "--port", str(port), "--pki", str(tmp_path / "pki"), "--name", "tls",
         "--token-auth-file", str(tokens)],
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not (tmp_path / "pki" / "ca.crt").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        verify = ssl.create_default_context(cafile=str(tmp_path / "pki" / "ca.crt"))
        while True:
            try:
                httpx.get(f"{url}/healthz", verify=verify, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        root = httpx.get(f"{url}/api/v1/namespaces", verify=verify,
                         headers={"Authorization": "Bearer root-token"})
        assert root.status_code == 200
        viewer = httpx.get(f"{url}/api/v1/namespaces", verify=verify,
                           headers={"Authorization": "Bearer view-token"})
        assert viewer.status_code == 403
        assert viewer.json()["message"] == ('namespaces is forbidden: User "viewer" cannot list resource '
                                            '"namespaces" in API group "" at the cluster scope')
        wrong = httpx.get(f"{url}/api/v1/namespaces", verify=verify, headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 401
    finally:
        server.terminate()
        server.wait(10)
