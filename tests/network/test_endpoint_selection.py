"""Endpoint selection and balancing: what kube-proxy would send traffic to."""

from __future__ import annotations

from shiplane.cluster.network.addresses import Listener, loopback_twin, service_listeners
from shiplane.cluster.network.endpoint_selection import (
    CONNECT_ATTEMPTS,
    Backend,
    RoundRobin,
    backends_for_port,
    slices_of,
)


def endpoint(ip, ready=None, serving=None, terminating=None, pod=""):
    conditions = {k: v for k, v in (("ready", ready), ("serving", serving),
                                    ("terminating", terminating)) if v is not None}
    out = {"addresses": [ip], "conditions": conditions}
    if pod:
        out["targetRef"] = {"kind": "Pod", "name": pod}
    return out


def slice_(endpoints, ports=(("http", 8080),), service="web", ns="default", family="IPv4"):
    return {"metadata": {"name": f"{service}-x", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": family, "endpoints": endpoints,
            "ports": [{"name": n, "port": p, "protocol": "TCP"} for n, p in ports]}


def test_only_ready_endpoints_get_traffic():
    s = slice_([endpoint("127.1.0.1", ready=True), endpoint("127.1.0.2", ready=False),
                endpoint("127.1.0.3", ready=False, serving=True, terminating=True)])
    assert [b.address for b in backends_for_port("http", [s])] == ["127.1.0.1"]


def test_unset_conditions_mean_ready():
    s = slice_([endpoint("127.1.0.1")])
    assert backends_for_port("http", [s]) == [Backend("127.1.0.1", 8080)]


def test_serving_terminating_endpoints_only_when_nothing_is_ready():
    s = slice_([endpoint("127.1.0.2", ready=False, serving=False, terminating=True),
                endpoint("127.1.0.3", ready=False, serving=True, terminating=True)])
    assert [b.address for b in backends_for_port("http", [s])] == ["127.1.0.3"]
    none_serving = slice_([endpoint("127.1.0.2", ready=False, serving=False, terminating=True),
                           endpoint("127.1.0.4", ready=False)])
    assert backends_for_port("http", [none_serving]) == []


def test_ports_are_matched_by_name_per_slice():
    a = slice_([endpoint("127.1.0.1")], ports=(("http", 8080), ("metrics", 9090)))
    b = slice_([endpoint("127.1.0.2")], ports=(("http", 8081),))
    assert [(x.address, x.port) for x in backends_for_port("http", [a, b])] == [
        ("127.1.0.1", 8080), ("127.1.0.2", 8081)]
    assert [(x.address, x.port) for x in backends_for_port("metrics", [a, b])] == [
        ("127.1.0.1", 9090)]
    assert backends_for_port("", [a, b]) == []


def test_duplicates_across_slices_collapse_preferring_ready():
    a = slice_([endpoint("127.1.0.1", ready=False)])
    b = slice_([endpoint("127.1.0.1", ready=True)])
    assert backends_for_port("http", [a, b]) == [Backend("127.1.0.1", 8080)]


def test_ipv6_slices_and_slices_of_other_services_are_ignored():
    v6 = slice_([endpoint("::1")], family="IPv6")
    assert backends_for_port("http", [v6]) == []
    mine, other, elsewhere = slice_([]), slice_([], service="api"), slice_([], ns="shop")
    assert slices_of("default/web", [mine, other, elsewhere]) == [mine]


def test_round_robin_rotates_and_bounds_fail_over():
    backends = [Backend(f"127.1.0.{i}", 80) for i in range(1, 7)]
    rr = RoundRobin()
    firsts = [rr.order(backends)[0].address for _ in range(7)]
    assert firsts == [f"127.1.0.{i}" for i in (1, 2, 3, 4, 5, 6, 1)]
    order = RoundRobin().order(backends)
    assert len(order) == CONNECT_ATTEMPTS and order[0].address == "127.1.0.1"
    assert RoundRobin().order([]) == []


def test_round_robin_survives_a_shrinking_list():
    rr = RoundRobin()
    four = [Backend(f"127.1.0.{i}", 80) for i in range(1, 5)]
    for _ in range(3):
        rr.order(four)
    two = four[:2]
    seen = {rr.order(two)[0].address for _ in range(4)}
    assert seen == {"127.1.0.1", "127.1.0.2"}


def test_loopback_twin_of_cluster_ips():
    assert loopback_twin("10.96.0.10") == "127.96.0.10"
    assert loopback_twin("10.111.255.254") == "127.111.255.254"
    assert loopback_twin("127.0.0.5") == "127.0.0.5"
    assert loopback_twin("None") is None
    assert loopback_twin("") is None
    assert loopback_twin("fd00::1") is None


def test_service_listeners():
    svc = {"metadata": {"name": "web", "namespace": "shop"},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.12", "ports": [
               {"name": "http", "port": 80, "nodePort": 30080},
               {"name": "dns", "port": 53, "protocol": "UDP"}]}}
    assert service_listeners(svc) == [
        Listener("127.0.0.1", 30080, "shop/web", "http"),
        Listener("127.96.0.12", 80, "shop/web", "http"),
    ]
    headless = {"metadata": {"name": "h"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}
    assert service_listeners(headless) == []
    external = {"metadata": {"name": "e"}, "spec": {"type": "ExternalName",
                                                   "externalName": "x.example"}}
    assert service_listeners(external) == []


def test_cluster_up_options_for_the_network():
    import pytest

    from shiplane.cluster.control_plane_process import control_plane_options
    from shiplane.errors import UsageError

    options = control_plane_options(1, None, 1.0)
    assert options.service_proxy is True and options.ingress_port is None
    options = control_plane_options(1, None, 1.0, service_proxy=False, ingress_port=8081)
    assert options.service_proxy is False and options.ingress_port == 8081
    with pytest.raises(UsageError, match="--ingress-port"):
        control_plane_options(1, None, 1.0, ingress_port=70000)
