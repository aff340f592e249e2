"""shiplane's own CRDs for Argo CD's ``Application`` and ``AppProject`` (argoproj.io/v1alpha1).

The schemas live as YAML data next to this module (``data/*.yaml``); the embedded cluster
installs them at start so Application manifests written for real Argo CD validate and are
served, and the GitOps controller can store Application status there.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from shiplane.cluster.crd.definition import CRDInfo, parse_crd

__all__ = ["ARGOCD_CRD_FILES", "argocd_crds", "argocd_crd_infos"]

ARGOCD_CRD_FILES = ("application-crd.yaml", "appproject-crd.yaml")


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Any], ...]:
    data = resources.files("shiplane.cluster.crd") / "data"
    return tuple(yaml.safe_load((data / name).read_text()) for name in ARGOCD_CRD_FILES)


def argocd_crds() -> list[dict[str, Any]]:
    """The CRD objects (fresh copies, ready to create through the API)."""
    import copy

    return [copy.deepcopy(crd) for crd in _load()]


def argocd_crd_infos() -> list[CRDInfo]:
    return [parse_crd(crd) for crd in _load()]
