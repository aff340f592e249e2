"""shiplane's own client (``shiplane.kube``) against the embedded API server."""

from __future__ import annotations

import pytest

from shiplane.cluster.apiserver import ApiServerRunner
from shiplane.kube import ApiError, KubeClient

pytestmark = pytest.mark.slow


def test_kube_client_round_trip(kube_apiserver: ApiServerRunner) -> None:
    with KubeClient.from_kubeconfig(kube_apiserver.kubeconfig) as client:
        assert client.version()["major"] == "1"
        created = client.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "interop"},
                "data": {"x": "1"},
            }
        )
        assert created["metadata"]["namespace"] == "default"
        patched = client.patch("v1", "ConfigMap", "interop", {"data": {"y": "2"}})
        assert patched["data"] == {"x": "1", "y": "2"}
        names = [n["metadata"]["name"] for n in client.list("v1", "Namespace", page_size=2)]
        assert {"default", "kube-system", "kube-public"} <= set(names)
        events = list(
            client.watch(
                "v1",
                "ConfigMap",
                timeout_seconds=1,
                resource_version=created["metadata"]["resourceVersion"],
            )
        )
        assert [e["type"] for e in events] == ["MODIFIED"]
        client.delete("v1", "ConfigMap", "interop")
        with pytest.raises(ApiError, match='configmaps "interop" not found'):
            client.get("v1", "ConfigMap", "interop")
