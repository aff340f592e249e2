"""The embedded cluster's network: Service proxy, Ingress controller, port forwarding.

Pure cores: :mod:`addresses` (where a Service is served), :mod:`endpoint_selection` (which
endpoints get traffic, round-robin), :mod:`ingress_rules` (host/path routing),
:mod:`forward_target` (kubectl's port-forward target rules), :mod:`spdy` (SPDY/3.1 framing).
I/O: :mod:`endpoint_table` (informer-fed backends), :mod:`service_proxy`,
:mod:`ingress_controller`, :mod:`tcp_relay`, :mod:`port_forward` and
:mod:`port_forward_channels` (the API server's ``pods/portforward``), :mod:`forwarder`
(``shiplane cluster port-forward``).
"""

from shiplane.cluster.network.addresses import Listener, loopback_twin, service_listeners
from shiplane.cluster.network.endpoint_selection import Backend, RoundRobin, backends_for_port
from shiplane.cluster.network.endpoint_table import EndpointTable
from shiplane.cluster.network.errors import NetworkError, PortForwardError, SpdyProtocolError
from shiplane.cluster.network.ingress_controller import IngressController
from shiplane.cluster.network.ingress_rules import Route, route
from shiplane.cluster.network.service_proxy import ServiceProxy

__all__ = [
    "Backend",
    "EndpointTable",
    "IngressController",
    "Listener",
    "NetworkError",
    "PortForwardError",
    "Route",
    "RoundRobin",
    "ServiceProxy",
    "SpdyProtocolError",
    "backends_for_port",
    "loopback_twin",
    "route",
    "service_listeners",
]
