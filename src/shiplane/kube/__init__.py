"""Client side for any Kubernetes cluster: kubeconfig (exec plugins included), REST verbs,
server-side apply, watch. The embedded cluster is reached through exactly this code."""

from shiplane.kube.client import PATCH_CONTENT_TYPES, KubeClient, ResourceInfo
from shiplane.kube.errors import ApiError, ConnectionFailed, CredentialError, KubeconfigError, KubeError
from shiplane.kube.exec_credential import ExecCredential, ExecCredentialSource, parse_exec_output
from shiplane.kube.kubeconfig import (
    ConnectionSettings,
    ExecConfig,
    Kubeconfig,
    default_kubeconfig_paths,
    load_kubeconfig,
)
from shiplane.kube.namespaces import ensure_namespace

__all__ = [
    "PATCH_CONTENT_TYPES",
    "ApiError",
    "ConnectionFailed",
    "ConnectionSettings",
    "CredentialError",
    "ExecConfig",
    "ExecCredential",
    "ExecCredentialSource",
    "KubeClient",
    "KubeError",
    "Kubeconfig",
    "KubeconfigError",
    "ResourceInfo",
    "default_kubeconfig_paths",
    "ensure_namespace",
    "load_kubeconfig",
    "parse_exec_output",
]
