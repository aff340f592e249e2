"""Endpoints / EndpointSlices (k8s pkg/controller/endpoint/endpoints_controller_test.go,
staging/src/k8s.io/endpointslice/utils_test.go TestPodToEndpoint, pkg/api/v1/pod/util_test.go TestFindPort)."""

import pytest
from k8s_objects import node, pod

from shiplane.cluster.decisions.endpoints import (
    MAX_ENDPOINTS_PER_SLICE,
    endpoint_slices,
    endpoints,
    find_port,
)


def service(ports=None, publish=False, selector=None):
    return {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"app": "web"} if selector is None else selector,
            "ports": ports or [{"name": "http", "port": 80, "targetPort": "http"}],
            "publishNotReadyAddresses": publish,
        },
    }


def web_pod(name, ip, ready=True, deleting=False, port=8080, phase="Running", node_name="n1"):
    p = pod(
        name,
        labels={"app": "web"},
        ip=ip,
        ready=ready,
        deleting=deleting,
        phase=phase,
        node=node_name,
    )
    p["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": port}]
    return p


def conditions(slices):
    return {e["targetRef"]["name"]: e["conditions"] for s in slices for e in s["endpoints"]}


def test_find_port():
    p = web_pod("a", "10.0.0.1")
    assert find_port(p, {"port": 80, "targetPort": "http"}) == 8080
    assert find_port(p, {"port": 80, "targetPort": 9090}) == 9090
    assert find_port(p, {"port": 80}) == 80  # targetPort defaults to port
    assert find_port(p, {"port": 80, "targetPort": "http", "protocol": "UDP"}) is None
    assert find_port(p, {"port": 80, "targetPort": "metrics"}) is None


def test_slice_conditions_ready_serving_terminating():
    pods = [
        web_pod("ready", "10.0.0.1"),
        web_pod("unready", "10.0.0.2", ready=False),
        web_pod("leaving", "10.0.0.3", deleting=True),
        web_pod("leaving-unready", "10.0.0.4", ready=False, deleting=True),
    ]
    assert conditions(endpoint_slices(service(), pods)) == {
        "ready": {"ready": True, "serving": True, "terminating": False},
        "unready": {"ready": False, "serving": False, "terminating": False},
        "leaving": {"ready": False, "serving": True, "terminating": True},
        "leaving-unready": {"ready": False, "serving": False, "terminating": True},
    }


def test_publish_not_ready_addresses_makes_every_endpoint_ready():
    pods = [
        web_pod("unready", "10.0.0.2", ready=False),
        web_pod("leaving", "10.0.0.3", deleting=True),
    ]
    assert conditions(endpoint_slices(service(publish=True), pods)) == {
        "unready": {
            "ready": True,
            "serving": False,
            "terminating": False,
        },  # serving is the pod's Ready
        "leaving": {"ready": True, "serving": True, "terminating": True},
    }
    ep = endpoints(service(publish=True), pods)
    assert [a["ip"] for a in ep["subsets"][0]["addresses"]] == ["10.0.0.2", "10.0.0.3"]


def test_pods_without_ip_finished_or_unselected_are_left_out():
    other = web_pod("other", "10.0.0.9")
    other["metadata"]["labels"] = {"app": "db"}
    elsewhere = web_pod("elsewhere", "10.0.0.8")
    elsewhere["metadata"]["namespace"] = "prod"
    pods = [web_pod("noip", ""), web_pod("done", "10.0.0.5", phase="Succeeded"), other, elsewhere]
    assert endpoint_slices(service(), pods) == []
    assert endpoints(service(), pods)["subsets"] == []
    assert endpoint_slices(service(selector={}), [web_pod("a", "10.0.0.1")]) == []


def test_slice_shape_nodes_zone_and_grouping_by_resolved_port():
    pods = [web_pod("a", "10.0.0.1", port=8080), web_pod("b", "10.0.0.2", port=9090)]
    slices = endpoint_slices(
        service(), pods, {"n1": node("n1", labels={"topology.kubernetes.io/zone": "z1"})}
    )
    assert len(slices) == 2
    first = slices[0]
    assert first["metadata"]["generateName"] == "web-" and first["addressType"] == "IPv4"
    assert first["metadata"]["labels"] == {
        "kubernetes.io/service-name": "web",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    }
    assert first["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert first["endpoints"][0] == {
        "addresses": ["10.0.0.1"],
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": "a-uid"},
        "nodeName": "n1",
        "zone": "z1",
    }


def test_slices_hold_at_most_100_endpoints():
    pods = [web_pod(f"p{i:03}", f"10.0.{i // 250}.{i % 250}") for i in range(250)]
    slices = endpoint_slices(service(), pods)
    assert [len(s["endpoints"]) for s in slices] == [
        MAX_ENDPOINTS_PER_SLICE,
        MAX_ENDPOINTS_PER_SLICE,
        50,
    ]


def test_endpoints_subsets_ready_and_not_ready_and_terminating_excluded():
    pods = [
        web_pod("a", "10.0.0.2"),
        web_pod("b", "10.0.0.1", ready=False),
        web_pod("c", "10.0.0.3", deleting=True),
    ]
    svc = service(
        ports=[
            {"name": "http", "port": 80, "targetPort": "http"},
            {"name": "admin", "port": 81, "targetPort": 9000},
        ]
    )
    ep = endpoints(svc, pods)
    assert ep["metadata"] == {"name": "web", "namespace": "default"}
    (subset,) = ep["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["10.0.0.2"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.0.0.1"]
    assert subset["ports"] == [
        {"name": "admin", "port": 9000, "protocol": "TCP"},
        {"name": "http", "port": 8080, "protocol": "TCP"},
    ]
    assert (
        subset["addresses"][0]["targetRef"]["name"] == "a"
        and subset["addresses"][0]["nodeName"] == "n1"
    )


@pytest.mark.parametrize(
    "hostname,subdomain,expected", [("h0", "web", "h0"), ("h0", "other", None), ("", "web", None)]
)
def test_hostname_only_for_matching_subdomain(hostname, subdomain, expected):
    p = web_pod("a", "10.0.0.1")
    p["spec"].update(hostname=hostname, subdomain=subdomain)
    endpoint = endpoint_slices(service(), [p])[0]["endpoints"][0]
    assert endpoint.get("hostname") == expected
