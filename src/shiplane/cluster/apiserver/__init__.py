"""The embedded Kubernetes API server: HTTP routes, verbs, watch, patches, discovery.

:class:`ApiBackend` implements the verbs over an ``ObjectStore``; :func:`build_app`
wraps it in a Starlette route table; :class:`WatchHub` fans events out to watches;
:class:`ApiServerRunner` serves it in-process, and :func:`cluster_up` /
:func:`cluster_down` / :func:`cluster_status` as a detached process with a kubeconfig.
"""

from shiplane.cluster.apiserver.app import build_app
from shiplane.cluster.apiserver.backend import ApiBackend, DeleteOptions, ListResult
from shiplane.cluster.apiserver.patches import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    apply_patch,
    json_merge_patch,
    strategic_merge_patch,
)
from shiplane.cluster.apiserver.process import (
    ClusterInfo,
    cluster_dir,
    cluster_down,
    cluster_status,
    cluster_up,
    user_kubeconfig_for,
)
from shiplane.cluster.apiserver.runner import ApiServerRunner, free_port, kubeconfig_text
from shiplane.cluster.apiserver.selectors import (
    FieldSelector,
    LabelSelector,
    parse_field_selector,
    parse_label_selector,
)
from shiplane.cluster.apiserver.watch import WatchHub, WatchRequest

__all__ = [
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "ApiBackend",
    "ApiServerRunner",
    "ClusterInfo",
    "DeleteOptions",
    "FieldSelector",
    "LabelSelector",
    "ListResult",
    "WatchHub",
    "WatchRequest",
    "apply_patch",
    "build_app",
    "cluster_dir",
    "cluster_down",
    "cluster_status",
    "cluster_up",
    "user_kubeconfig_for",
    "free_port",
    "json_merge_patch",
    "kubeconfig_text",
    "parse_field_selector",
    "parse_label_selector",
    "strategic_merge_patch",
]
