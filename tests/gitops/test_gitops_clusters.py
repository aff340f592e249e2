import pytest

from shiplane.gitops import Destination, GitOpsError
from shiplane.gitops.application import ProjectDestination
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


def test_prod_on_a_second_cluster_status_on_the_control_cluster(kube_apiserver, platform_root,
                                                                  tmp_path):
    import dataclasses

    import yaml

    from shiplane.cluster.apiserver import ApiServerRunner
    from shiplane.gitops.workspace import PlatformWorkspace
    from shiplane.kube import ApiError, KubeClient

    with ApiServerRunner(name="prod-cluster") as prod_server:
        control = yaml.safe_load(kube_apiserver.kubeconfig.read_text())
        other = yaml.safe_load(prod_server.write_kubeconfig(tmp_path / "prod").read_text())
        for key in ("clusters", "contexts", "users"):
            names = {item["name"] for item in control[key]}
            control[key] += [item for item in other[key] if item["name"] not in names]
        assert len(control["contexts"]) == 2
        merged = tmp_path / "kubeconfig"
        merged.write_text(yaml.safe_dump(control))
        prod_context = other["current-context"]

        workspace = PlatformWorkspace.open(platform_root)
        app = workspace.app("payment-service-prod")
        app = dataclasses.replace(app, destination=Destination(
            app.destination.namespace, name=prod_context))
        with ClusterClients(merged) as clusters:
            assert clusters.default == control["current-context"] != prod_context
            reconciler = workspace.reconciler_for(app, clusters)
            reconciler.sync(app, initiated_by="alice")
            refused = reconciler.store.load(app.name)["operationState"]["message"]
            assert f"destination {prod_context} namespace" in refused  # AppProject says no
            project = workspace.projects[app.project]
            workspace.projects[app.project] = dataclasses.replace(project, destinations=(
                *project.destinations, ProjectDestination("*", name=prod_context)))
            state = reconciler.sync(app, initiated_by="alice")
            assert state.comparison.status.value == "Synced"
            status = clusters.control.get("argoproj.io/v1alpha1", "Application", app.name,
                                          "argocd")["status"]
            assert status["sync"]["status"] == "Synced"
        namespace = app.destination.namespace
        with KubeClient.from_kubeconfig(tmp_path / "prod") as prod:
            assert prod.get("apps/v1", "Deployment", "payment-service", namespace)
        with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as first:
            with pytest.raises(ApiError):
                first.get("apps/v1", "Deployment", "payment-service", namespace)
            first.patch("argoproj.io/v1alpha1", "Application", app.name,
                        {"metadata": {"finalizers": None}}, namespace="argocd")
            first.delete("argoproj.io/v1alpha1", "Application", app.name, "argocd")
