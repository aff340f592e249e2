"""The PKI folder, user kubeconfigs (read back by shiplane.kube's kubeconfig loader), and the
authenticate → authorize guard."""

import stat

import pytest
import yaml

from shiplane.cluster.auth import (
    Authenticators,
    ClusterPKI,
    Forbidden,
    RBACAuthorizer,
    RequestCredentials,
    TLSMaterialError,
    Unauthenticated,
    bootstrap_cluster_role_bindings,
    bootstrap_cluster_roles,
    guard,
    parse_token_file,
    user_kubeconfig,
)
from shiplane.kube import load_kubeconfig


def test_pki_is_made_once_and_reloaded(tmp_path):
    first = ClusterPKI.ensure(tmp_path / "pki", "dev")
    names = sorted(p.name for p in (tmp_path / "pki").iterdir())
    assert names == ["admin.crt", "admin.key", "apiserver.crt", "apiserver.key", "ca.crt", "ca.key", "sa.key"]
    for key in ("admin.key", "apiserver.key", "ca.key", "sa.key"):
        assert stat.S_IMODE((tmp_path / "pki" / key).stat().st_mode) == 0o600
    again = ClusterPKI.ensure(tmp_path / "pki", "dev")
    assert again.ca.certificate == first.ca.certificate
    token = first.service_accounts.issue("ns", "sa", "u")
    assert again.service_accounts.verify(token)["sub"] == "system:serviceaccount:ns:sa"
    admin = again.admin.certificate
    assert [a.value for a in admin.subject] == ["system:masters", "admin"]


def test_half_a_ca_is_refused(tmp_path):
    ClusterPKI.ensure(tmp_path, "dev")
    (tmp_path / "ca.key").unlink()
    with pytest.raises(TLSMaterialError, match="only half of the cluster CA"):
        ClusterPKI.ensure(tmp_path, "dev")


def test_user_kubeconfig_loads_with_client_certificate(tmp_path):
    pki = ClusterPKI.ensure(tmp_path / "pki", "dev")
    alice = pki.ca.issue_client("alice", ["developers"])
    text = user_kubeconfig("https://127.0.0.1:6443", pki.ca.cert_pem, alice, cluster_name="dev", user="alice",
                           namespace="payments")
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    doc = yaml.safe_load(text)
    assert doc["current-context"] == "alice@dev"
    assert doc["contexts"][0]["context"]["namespace"] == "payments"
    loaded = load_kubeconfig([path])
    assert loaded is not None


@pytest.fixture(scope="module")
def authorizer():
    return RBACAuthorizer(cluster_roles=bootstrap_cluster_roles(), cluster_role_bindings=bootstrap_cluster_role_bindings())


def test_guard(authorizer):
    tokens = parse_token_file("root-token,root,1,system:masters\nviewer-token,viewer,2\n")
    auth = Authenticators(token_file=tokens)
    user, attrs = guard("DELETE", "/api/v1/namespaces/prod", "", RequestCredentials(authorization="Bearer root-token"),
                        auth, authorizer)
    assert user.name == "root" and attrs.verb == "delete"
    user, _ = guard("GET", "/version", "", RequestCredentials(), auth, authorizer)
    assert user.name == "system:anonymous"
    with pytest.raises(Forbidden, match='User "viewer" cannot list resource "pods" in API group "" in the namespace "prod"'):
        guard("GET", "/api/v1/namespaces/prod/pods", "", RequestCredentials(authorization="Bearer viewer-token"),
              auth, authorizer)
    with pytest.raises(Unauthenticated):
        guard("GET", "/version", "", RequestCredentials(authorization="Bearer wrong"), auth, authorizer)
