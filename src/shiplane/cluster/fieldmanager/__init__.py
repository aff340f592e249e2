"""Server-side apply as pure functions over JSON objects.

``apply(live, applied, manager, force, schema)`` merges an applied configuration and tracks
ownership in ``metadata.managedFields`` (FieldsV1), returning the object or upstream-shaped
conflicts; ``record_update(old, new, manager, schema)`` records ownership for ordinary
writes. Types come from :mod:`shiplane.cluster.openapi` (list-type, list-map-keys,
map-type, patch merge keys).
"""

from shiplane.cluster.fieldmanager.apply import (
    BEFORE_FIRST_APPLY,
    ApplyResult,
    Conflict,
    apply,
    record_update,
)
from shiplane.cluster.fieldmanager.errors import (
    FieldManagerError,
    InvalidFieldsV1,
    InvalidManager,
    InvalidObject,
)
from shiplane.cluster.fieldmanager.fieldpath import (
    FieldSet,
    Path,
    PathElement,
    decode_fields_v1,
    encode_fields_v1,
    path_string,
)
from shiplane.cluster.fieldmanager.managed import (
    ManagerKey,
    decode_managed_fields,
    manager_from_user_agent,
    validate_field_manager,
)
from shiplane.cluster.fieldmanager.typed import (
    Comparison,
    compare,
    field_set,
    typed_patch_error,
    undeclared_fields,
)

__all__ = [
    "BEFORE_FIRST_APPLY",
    "ApplyResult",
    "Comparison",
    "Conflict",
    "FieldManagerError",
    "FieldSet",
    "InvalidFieldsV1",
    "InvalidManager",
    "InvalidObject",
    "ManagerKey",
    "Path",
    "PathElement",
    "apply",
    "compare",
    "decode_fields_v1",
    "decode_managed_fields",
    "encode_fields_v1",
    "field_set",
    "manager_from_user_agent",
    "path_string",
    "record_update",
    "typed_patch_error",
    "undeclared_fields",
    "validate_field_manager",
]
