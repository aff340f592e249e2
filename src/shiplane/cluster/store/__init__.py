"""Versioned object store for the embedded API server.

A :class:`ObjectStore` protocol with :class:`MemoryObjectStore` (tests) and
:class:`SqliteObjectStore` (the product, WAL mode): a global monotonic
resourceVersion, atomic multi-object commits with optimistic locking, and a watch
log with a retained window. :mod:`.metadata` holds the pure rules for uid,
generation, timestamps, generateName and deletion; :mod:`.errors` the
upstream-shaped API errors.
"""

from shiplane.cluster.store.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    Gone,
    Invalid,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    TooLargeResourceVersion,
    TooManyRequests,
    UnsupportedMediaType,
)
from shiplane.cluster.store.memory import DEFAULT_WATCH_WINDOW, MemoryObjectStore
from shiplane.cluster.store.metadata import (
    NAME_ALPHABET,
    DeletionPlan,
    format_time,
    generate_name,
    plan_deletion,
    prepare_create,
    prepare_update,
    spec_changed,
)
from shiplane.cluster.store.model import ObjectKey, StoredObject, WatchEvent, Write, encode
from shiplane.cluster.store.protocol import EventListener, ObjectStore
from shiplane.cluster.store.sqlite import SqliteObjectStore

__all__ = [
    "DEFAULT_WATCH_WINDOW",
    "NAME_ALPHABET",
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "Conflict",
    "DeletionPlan",
    "EventListener",
    "FieldError",
    "Forbidden",
    "Gone",
    "Invalid",
    "MemoryObjectStore",
    "MethodNotAllowed",
    "NotFound",
    "ObjectKey",
    "ObjectStore",
    "RequestEntityTooLarge",
    "SqliteObjectStore",
    "StoredObject",
    "TooLargeResourceVersion",
    "TooManyRequests",
    "UnsupportedMediaType",
    "WatchEvent",
    "Write",
    "encode",
    "format_time",
    "generate_name",
    "plan_deletion",
    "prepare_create",
    "prepare_update",
    "spec_changed",
]
