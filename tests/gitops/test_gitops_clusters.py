import pytest

from shiplane.gitops import Destination, GitOpsError
from shiplane.gitops.clusters import ClusterClients, resolve_destination

CLUSTERS = {"dev": "https://127.0.0.1:6443", "prod-eks": "https://ABC.gr7.eks.amazonaws.com",
            "prod-eks-admin": "https://ABC.gr7.eks.amazonaws.com/"}


def test_resolution_rules():
    d = Destination
    assert resolve_destination(d("n", name="prod-eks"), CLUSTERS, "dev") == "prod-eks"
    assert resolve_destination(d("n", name="in-cluster"), CLUSTERS, "dev") == "dev"
    assert resolve_destination(d("n", server="https://kubernetes.default.svc"), CLUSTERS,
                               "dev") == "dev"
    assert resolve_destination(d("n", server="https://ABC.gr7.eks.amazonaws.com"), CLUSTERS,
                               "dev") == "prod-eks"
    assert resolve_destination(d("n", server="https://ABC.gr7.eks.amazonaws.com"), CLUSTERS,
                               "prod-eks-admin") == "prod-eks-admin"
    with pytest.raises(GitOpsError, match="'staging' is not registered"):
        resolve_destination(d("n", name="staging"), CLUSTERS, "dev")
    with pytest.raises(GitOpsError, match="no registered cluster has the API server https://x"):
        resolve_destination(d("n", server="https://x"), CLUSTERS, "dev")


def test_clients_from_a_kubeconfig(kube_apiserver):
    with ClusterClients(kube_apiserver.kubeconfig) as clusters:
        name = clusters.default
        client = clusters.for_destination(Destination("x", name=name))
        assert client is clusters.for_destination(
            Destination("x", server="https://kubernetes.default.svc"))
        assert client.version()["gitVersion"]
        server = clusters.servers[name]
        assert clusters.for_destination(Destination("x", server=server)) is client
