"""Controllers of the embedded cluster, reaching the API server only over HTTP with watches.

Informers (list + watch, 410 resync, local cache) feed work queues; each controller performs the
plans of the pure cores in :mod:`shiplane.cluster.decisions`: Deployment, ReplicaSet, scheduler,
garbage collector, Endpoints/EndpointSlices, ServiceAccounts, namespaces (emptying and
finalizing Terminating ones), disruption (PodDisruptionBudget status), node lifecycle
(unreachable nodes, taint eviction), HorizontalPodAutoscaler, batch/v1 Job (pods to
completion, back-off, deadline, suspend, ttlSecondsAfterFinished), with an event recorder. The
simulated nodes live in :mod:`shiplane.cluster.nodes`; :mod:`shiplane.cluster.control_plane`
runs them all.
"""

from shiplane.cluster.controllers.api import AsyncApi, ControllerApiError, ControllerConnectionError
from shiplane.cluster.controllers.clock import ClusterClock
from shiplane.cluster.controllers.informer import Informer
from shiplane.cluster.controllers.workqueue import WorkQueue

__all__ = [
    "AsyncApi",
    "ClusterClock",
    "ControllerApiError",
    "ControllerConnectionError",
    "Informer",
    "WorkQueue",
]
