"""CustomResourceDefinitions (apiextensions.k8s.io/v1) as pure functions: CRD validation and
establishment, structural-schema validation, defaulting and pruning of custom resources,
printer-column Tables, discovery entries, and shiplane's CRDs for Argo CD's Application and
AppProject."""

from shiplane.cluster.crd.argocd import argocd_crd_infos, argocd_crds
from shiplane.cluster.crd.conversion import convert_version
from shiplane.cluster.crd.defaulting import apply_defaults, prune
from shiplane.cluster.crd.definition import (
    CRDInfo,
    PrinterColumn,
    ScaleSubresource,
    VersionInfo,
    default_crd,
    establish_status,
    names_conflicts,
    parse_crd,
    validate_crd,
)
from shiplane.cluster.crd.discovery import aggregated_resources, api_resources, storage_version_hash
from shiplane.cluster.crd.errors import CRDError, CRDInvalid, CustomResourceInvalid, FieldError
from shiplane.cluster.crd.printing import (
    JSONPathError,
    evaluate_jsonpath,
    human_duration,
    row_cells,
    table,
    table_columns,
)
from shiplane.cluster.crd.serving import admit_custom_resource, register_crd, unregister_crd
from shiplane.cluster.crd.structural import structural_errors
from shiplane.cluster.crd.validation import validate_custom_resource

__all__ = [
    "CRDError",
    "CRDInfo",
    "CRDInvalid",
    "CustomResourceInvalid",
    "FieldError",
    "JSONPathError",
    "PrinterColumn",
    "ScaleSubresource",
    "VersionInfo",
    "admit_custom_resource",
    "aggregated_resources",
    "api_resources",
    "apply_defaults",
    "argocd_crd_infos",
    "argocd_crds",
    "convert_version",
    "default_crd",
    "establish_status",
    "evaluate_jsonpath",
    "human_duration",
    "names_conflicts",
    "parse_crd",
    "prune",
    "register_crd",
    "row_cells",
    "storage_version_hash",
    "structural_errors",
    "table",
    "table_columns",
    "unregister_crd",
    "validate_crd",
    "validate_custom_resource",
]
