"""The Service proxy and the Ingress controller over real sockets: endpoints are small HTTP
servers on loopback addresses, published through selector-less Services and hand-written
EndpointSlices (the runtime-backed end-to-end tests are in test_zero_downtime.py)."""

from __future__ import annotations

import http.server
import random
import threading
import time
from collections import Counter

import httpx
import pytest

from shiplane.cluster.network.addresses import loopback_twin
from shiplane.testing.cluster import EmbeddedCluster


class _Named(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = f"{self.server.name} {self.path} {self.headers.get('Host')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _backend(address: str, name: str) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer((address, 0), _Named)
    server.name = name
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def backends():
    servers = {n: _backend(f"127.0.{200 + i}.{random.randint(2, 250)}", n)
               for i, n in enumerate(("a", "b", "c"))}
    yield servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def cluster():
    with EmbeddedCluster(nodes=1, service_proxy=True, ingress_port=0) as c:
        yield c


def _endpoint(server, ready=True, serving=True, terminating=False):
    return {"addresses": [server.server_address[0]],
            "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
            "targetRef": {"kind": "Pod", "name": server.name, "namespace": "default"}}


def _publish(client, name, port, servers_by_port, endpoints):
    """A selector-less Service ``name`` on ``port`` and one EndpointSlice per target port."""
    try:
        svc = client.get("v1", "Service", name, "default")
    except Exception:
        svc = client.create({"apiVersion": "v1", "kind": "Service",
                             "metadata": {"name": name, "namespace": "default"},
                             "spec": {"ports": [{"name": "http", "port": port}]}})
    for target_port, group in servers_by_port.items():
        slice_name = f"{name}-{target_port}"
        body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": slice_name, "namespace": "default",
                             "labels": {"kubernetes.io/service-name": name}},
                "addressType": "IPv4",
                "endpoints": [endpoints.get(s.name) or _endpoint(s) for s in group],
                "ports": [{"name": "http", "port": target_port, "protocol": "TCP"}]}
        try:
            current = client.get("discovery.k8s.io/v1", "EndpointSlice", slice_name, "default")
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            client.replace(body)
        except Exception:
            client.create(body)
    return svc


# one client (building one per request costs more than the request); no keep-alive, so each
# request is a new connection the proxy balances anew
_CLIENT = httpx.Client(timeout=5, limits=httpx.Limits(max_keepalive_connections=0))


def _get(url: str, **kw) -> str:
    return _CLIENT.get(url, **kw).text


def _eventually(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (httpx.HTTPError, AssertionError):
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _same_port_servers(backends):
    """The test servers listen on different ports; group them by port for the slices."""
    by_port: dict[int, list] = {}
    for server in backends.values():
        by_port.setdefault(server.server_address[1], []).append(server)
    return by_port


def test_service_balances_over_ready_endpoints_and_drops_terminating_ones(cluster, backends):
    client = cluster.client()
    port = random.randint(20000, 29000)
    svc = _publish(client, "web", port, _same_port_servers(backends), {})
    url = f"http://{loopback_twin(svc['spec']['clusterIP'])}:{port}/hello"

    def all_three():
        seen = Counter(_get(url).split()[0] for _ in range(30))
        return seen if set(seen) == {"a", "b", "c"} else None

    seen = _eventually(all_three)
    assert max(seen.values()) - min(seen.values()) <= 1  # round robin

    # b is being deleted: ready false, terminating true → no new connection reaches it
    _publish(client, "web", port, _same_port_servers(backends),
             {"b": _endpoint(backends["b"], ready=False, serving=True, terminating=True),
              "c": _endpoint(backends["c"], ready=False, serving=False)})
    _eventually(lambda: {_get(url).split()[0] for _ in range(10)} == {"a"})
    assert {_get(url).split()[0] for _ in range(20)} == {"a"}

    # nothing ready: the serving-and-terminating endpoint still answers (ProxyTerminatingEndpoints)
    _publish(client, "web", port, _same_port_servers(backends),
             {"a": _endpoint(backends["a"], ready=False, serving=False, terminating=True),
              "b": _endpoint(backends["b"], ready=False, serving=True, terminating=True),
              "c": _endpoint(backends["c"], ready=False, serving=False)})
    _eventually(lambda: {_get(url).split()[0] for _ in range(10)} == {"b"})


def test_a_refusing_endpoint_is_skipped_and_no_endpoint_closes_the_connection(cluster, backends):
    client = cluster.client()
    port = random.randint(20000, 29000)
    dead = http.server.ThreadingHTTPServer(("127.0.210.9", 0), _Named)
    dead.name = "dead"
    dead.server_close()  # a ready endpoint whose process no longer listens
    by_port = {backends["a"].server_address[1]: [backends["a"]],
               dead.server_address[1]: [dead]}
    svc = _publish(client, "flaky", port, by_port, {})
    url = f"http://{loopback_twin(svc['spec']['clusterIP'])}:{port}/"
    _eventually(lambda: _get(url).startswith("a "))
    assert [_get(url).split()[0] for _ in range(12)] == ["a"] * 12

    empty = _publish(client, "empty", random.randint(20000, 29000), {}, {})
    empty_address = loopback_twin(empty["spec"]["clusterIP"])
    empty_url = f"http://{empty_address}:{empty['spec']['ports'][0]['port']}/"
    time.sleep(0.5)
    with pytest.raises(httpx.HTTPError):
        _CLIENT.get(empty_url, timeout=2)


def test_ingress_routes_hosts_and_paths_and_writes_status(cluster, backends):
    client = cluster.client()
    for name, server in (("shop-a", "a"), ("shop-b", "b")):
        target = backends[server]
        _publish(client, name, 80, {target.server_address[1]: [target]}, {})
    client.create({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {
            "defaultBackend": {"service": {"name": "shop-a", "port": {"number": 80}}},
            "rules": [{"host": "pay.shop.test", "http": {"paths": [
                {"path": "/api", "pathType": "Prefix",
                 "backend": {"service": {"name": "shop-b", "port": {"name": "http"}}}},
                {"path": "/", "pathType": "Exact",
                 "backend": {"service": {"name": "shop-a", "port": {"number": 80}}}}]}}]}})
    base = f"http://127.0.0.1:{cluster.ingress_port}"

    def routed(path, host):
        return _get(base + path, headers={"Host": host})

    _eventually(lambda: routed("/api/v1?x=1", "pay.shop.test").startswith("b /api/v1?x=1 "))
    assert routed("/api/v1?x=1", "pay.shop.test") == "b /api/v1?x=1 pay.shop.test"
    assert routed("/", "pay.shop.test").startswith("a / ")
    assert routed("/apix", "pay.shop.test").startswith("a ")  # default backend
    assert routed("/api", "other.test").startswith("a ")  # default backend

    def status():
        ing = client.get("networking.k8s.io/v1", "Ingress", "shop", "default")
        return (ing.get("status") or {}).get("loadBalancer", {}).get("ingress")

    assert _eventually(status) == [
        {"ip": "127.0.0.1", "ports": [{"port": cluster.ingress_port, "protocol": "TCP"}]}]

    client.create({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "nginx-only", "namespace": "default"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "n.test", "http": {"paths": [
            {"path": "/", "pathType": "Prefix",
             "backend": {"service": {"name": "shop-b", "port": {"number": 80}}}}]}}]}})
    time.sleep(0.3)
    assert routed("/", "n.test").startswith("a ")  # another class: not ours, default backend
    client.delete("networking.k8s.io/v1", "Ingress", "shop", "default")
    _eventually(lambda: _CLIENT.get(base + "/").status_code == 404)


def test_endpoint_handover_under_load_loses_no_request(cluster, backends):
    """b joins, a turns terminating (as the endpoints controller writes it) and only then
    stops listening: a fixed-rate client through the proxy sees no failure."""
    from shiplane.testing.traffic import LoadGenerator

    client = cluster.client()
    port = random.randint(20000, 29000)
    extra = _backend("127.0.220.3", "a2")
    try:
        group = {extra.server_address[1]: [extra]}
        svc = _publish(client, "handover", port, group, {})
        address = loopback_twin(svc["spec"]["clusterIP"])
        _eventually(lambda: _get(f"http://{address}:{port}/").startswith("a2 "))
        with LoadGenerator(address, port, "/", rate=100) as load:
            time.sleep(0.5)
            both = {**group, backends["b"].server_address[1]: [backends["b"]]}
            _publish(client, "handover", port, both, {})
            time.sleep(0.5)
            marked = time.monotonic()
            _publish(client, "handover", port, both,
                     {"a2": _endpoint(extra, ready=False, serving=True, terminating=True)})

            def only_b_since_marked():  # the slice change reached the proxy (the preStop window)
                recent = [x for x in load.samples if x.started > marked][-20:]
                return len(recent) == 20 and all(x.body.startswith(b"b ") for x in recent)

            _eventually(only_b_since_marked)
            extra.shutdown()
            extra.server_close()
            time.sleep(0.7)
        assert len(load.samples) >= 150
        assert load.failed() == []
        names = [s.body.split()[0].decode() for s in load.samples]
        assert set(names) == {"a2", "b"} and names[-1] == "b"
    finally:
        extra.server_close()


def test_percentile_nearest_rank():
    from shiplane.testing.traffic import percentile

    assert percentile([], 99) == 0.0
    assert percentile([5.0], 50) == 5.0
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0


def test_node_port_is_served_on_127_0_0_1(cluster, backends):
    client = cluster.client()
    node_port = random.randint(30000, 32767)
    client.create({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "np", "namespace": "default"},
                   "spec": {"type": "NodePort", "ports": [
                       {"name": "http", "port": 80, "nodePort": node_port}]}})
    target = backends["c"]
    _publish(client, "np", 80, {target.server_address[1]: [target]}, {})
    assert _eventually(lambda: _get(f"http://127.0.0.1:{node_port}/np")).startswith("c /np ")
    client.delete("v1", "Service", "np", "default")

    def closed():
        try:
            _get(f"http://127.0.0.1:{node_port}/")
        except httpx.ConnectError:
            return True
        return False

    assert _eventually(closed)


def test_half_close_and_large_transfers_pass_through_the_proxy(cluster):
    """The client ends its side first; the endpoint answers after reading to EOF (a half-close
    passed on), with more bytes than any socket buffer holds (back-pressure)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.230.5", 0))
    listener.listen()

    def answer(conn):
        with conn:
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            conn.sendall(data[::-1] * 64)

    def serve():  # every connection answered: probes while the proxy learns the endpoint too
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    client = cluster.client()
    port = random.randint(20000, 29000)

    class Server:
        server_address = listener.getsockname()
        name = "rev"

    svc = _publish(client, "reverse", port, {Server.server_address[1]: [Server]}, {})
    address = loopback_twin(svc["spec"]["clusterIP"])

    def exchange(payload: bytes) -> bytes:
        with socket.create_connection((address, port), timeout=30) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := sock.recv(1 << 20):
                received += chunk
            return received

    def relayed():  # until the proxy listens and knows the endpoint
        try:
            return exchange(b"ping") == b"gnip" * 64
        except OSError:
            return False

    assert _eventually(relayed, timeout=30), "the proxy never relayed to the endpoint"
    payload = bytes(range(256)) * 4096  # 1 MiB out, 64 MiB back
    received = exchange(payload)
    listener.close()
    assert received == payload[::-1] * 64
