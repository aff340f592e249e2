"""Exec credential plugins run for real: a script of ours, and EKS's `aws eks get-token`."""

import json
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shiplane.kube import (
    CredentialError,
    ExecConfig,
    ExecCredentialSource,
    KubeClient,
    load_kubeconfig,
)

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"


def _plugin(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "plugin.py"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return script


TOKEN_PLUGIN = """
import json, os, sys, pathlib
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
count = pathlib.Path(sys.argv[1]); n = int(count.read_text() or 0) + 1 if count.exists() else 1
count.write_text(str(n))
print(json.dumps({"apiVersion": info["apiVersion"], "kind": "ExecCredential",
                  "status": {"token": f"token-{n}-" + os.environ.get("EXTRA", ""),
                             "expirationTimestamp": "2099-01-01T00:00:00Z"}}))
"""


def test_plugin_receives_exec_info_and_its_token_is_cached(tmp_path):
    plugin = _plugin(tmp_path, TOKEN_PLUGIN)
    source = ExecCredentialSource(
        ExecConfig(command=str(plugin), api_version=V1, args=(str(tmp_path / "n"),),
                   env=(("EXTRA", "x"),), interactive_mode="Never"))
    assert source.get().token == "token-1-x"
    assert source.get().token == "token-1-x"
    assert source.runs == 1
    source.invalidate()
    assert source.get().token == "token-2-x"


def test_expired_credentials_are_fetched_again(tmp_path):
    plugin = _plugin(tmp_path, TOKEN_PLUGIN)
    now = [datetime(2098, 12, 31, tzinfo=timezone.utc)]
    source = ExecCredentialSource(ExecConfig(command=str(plugin), api_version=V1, args=(str(tmp_path / "n"),)),
                                  clock=lambda: now[0])
    source.get()
    now[0] += timedelta(days=2)
    assert source.get().token.startswith("token-2")


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ('{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", "status": {"token": "t"}}',
         "plugin returned version client.authentication.k8s.io/v1beta1"),
        ('{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential"}', "didn't return a status"),
        ('{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {}}',
         "didn't return a token or cert/key pair"),
        ("not json", "did not print a JSON ExecCredential"),
    ],
)
def test_bad_plugin_output_is_refused(tmp_path, output, message):
    plugin = _plugin(tmp_path, f"print({output!r})\n")
    with pytest.raises(CredentialError, match=message):
        ExecCredentialSource(ExecConfig(command=str(plugin), api_version=V1)).get()


def test_missing_plugin_names_the_install_hint():
    config = ExecConfig(command="no-such-plugin-xyz", api_version=V1, install_hint="install it with apt")
    with pytest.raises(CredentialError) as info:
        ExecCredentialSource(config).get()
    assert "executable no-such-plugin-xyz not found" in str(info.value)
    assert info.value.hint == "install it with apt"


def test_failing_plugin_shows_its_stderr(tmp_path):
    plugin = _plugin(tmp_path, "import sys; sys.stderr.write('no SSO session\\n'); sys.exit(3)\n")
    with pytest.raises(CredentialError, match="exited with 3: no SSO session"):
        ExecCredentialSource(ExecConfig(command=str(plugin), api_version=V1)).get()


def test_always_interactive_plugin_fails_without_a_terminal(tmp_path):
    plugin = _plugin(tmp_path, TOKEN_PLUGIN)
    with pytest.raises(CredentialError, match="interactive"):
        ExecCredentialSource(ExecConfig(command=str(plugin), api_version=V1, interactive_mode="Always")).get()


def test_client_sends_exec_token_and_refreshes_once_after_401(tmp_path, tls_server):
    plugin = _plugin(tmp_path, TOKEN_PLUGIN)
    tls_server.reject_tokens.add("token-1-")
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps(tls_server.kubeconfig(
        {"exec": {"apiVersion": V1, "command": str(plugin), "args": [str(tmp_path / "n")],
                  "interactiveMode": "Never"}})))
    with KubeClient.from_kubeconfig(kubeconfig) as client:
        assert client.version()["gitVersion"] == "v1.31.0"
    assert tls_server.seen_auth[-2:] == ["Bearer token-1-", "Bearer token-2-"]


def test_eks_kubeconfig_with_aws_eks_get_token(tmp_path, tls_server, monkeypatch):
    # The kubeconfig `aws eks update-kubeconfig` writes: exec apiVersion v1beta1, `aws eks get-token`.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    user = {"exec": {"apiVersion": V1BETA1, "command": "aws",
                     "args": ["--region", "ap-south-1", "eks", "get-token", "--cluster-name", "prod",
                              "--output", "json"],
                     "env": [{"name": "AWS_DEFAULT_OUTPUT", "value": "json"}]}}
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps(tls_server.kubeconfig(user)))
    settings = load_kubeconfig(kubeconfig).settings()
    assert settings.namespace == "payments"
    with KubeClient(settings) as client:
        client.version()
    token = tls_server.seen_auth[-1].removeprefix("Bearer ")
    assert token.startswith("k8s-aws-v1.")  # a presigned STS GetCallerIdentity URL, as EKS expects


def test_client_certificate_and_ca_from_kubeconfig(tmp_path, tls_server):
    import base64
    user = {"client-certificate-data": base64.b64encode(tls_server.client_cert_pem).decode(),
            "client-key-data": base64.b64encode(tls_server.client_key_pem).decode()}
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps(tls_server.kubeconfig(user)))
    with KubeClient.from_kubeconfig(kubeconfig) as client:
        assert client.version()["major"] == "1"


def test_unknown_ca_is_a_connection_error(tmp_path, tls_server):
    from shiplane.kube import ConnectionFailed
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps(tls_server.kubeconfig({"token": "t"}, ca_b64=False)))
    with KubeClient.from_kubeconfig(kubeconfig) as client, pytest.raises(ConnectionFailed, match="cannot reach"):
        client.version()
