"""Errors of the embedded cluster's network: Service proxy, Ingress, port forwarding.

    ClusterError                      (shiplane.errors)
    └── NetworkError                  a listener cannot bind, a target cannot be resolved
        ├── PortForwardError          port-forward target/port invalid or unreachable
        └── SpdyProtocolError         a peer sent a malformed SPDY/3.1 frame (spdy.py)
"""

from __future__ import annotations

from shiplane.errors import ClusterError

__all__ = ["NetworkError", "PortForwardError", "SpdyProtocolError"]


class NetworkError(ClusterError):
    """A network part of the embedded cluster cannot do its job."""


class PortForwardError(NetworkError):
    """A port-forward target or port is invalid, or the pod cannot be reached."""


class SpdyProtocolError(NetworkError):
    """A SPDY/3.1 frame is malformed or not allowed here."""
