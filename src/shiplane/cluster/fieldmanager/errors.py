"""Errors of the server-side apply core::

    ClusterError
    └── FieldManagerError          field ownership cannot be computed
        ├── InvalidFieldsV1        a managedFields entry is not valid FieldsV1
        ├── InvalidManager         fieldManager missing or malformed (422 upstream)
        └── InvalidObject          the object contradicts its schema (duplicate list keys…)

Conflicts are not errors here: :func:`~shiplane.cluster.fieldmanager.apply` returns them in
its result so the API server can answer 409 with upstream's message.
"""

from __future__ import annotations

from shiplane.errors import ClusterError

__all__ = ["FieldManagerError", "InvalidFieldsV1", "InvalidManager", "InvalidObject"]


class FieldManagerError(ClusterError):
    """Field ownership could not be computed."""


class InvalidFieldsV1(FieldManagerError):
    """``metadata.managedFields[].fieldsV1`` does not decode."""


class InvalidManager(FieldManagerError):
    """The field manager name is missing or malformed."""


class InvalidObject(FieldManagerError):
    """The object (or applied configuration) contradicts its schema."""
