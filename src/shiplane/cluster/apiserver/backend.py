"""The API server's verbs over the object store, independent of HTTP.

:class:`ApiBackend` implements get / list / create / update / patch / delete /
deletecollection and the ``status`` and ``scale`` subresources for every row of
the resource registry, the way k8s.io/apiserver's generic registry store does:
decode checks, namespace checks, system metadata, defaulting, validation,
allocation, optimistic locking, no-op detection, graceful deletion, finalizers
and dry-run. It raises upstream-shaped ``ApiError``s and never half-writes: every
change goes through one atomic ``ObjectStore.commit``.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from shiplane.cluster import fieldmanager
from shiplane.cluster.apiserver.allocators import (
    DEFAULT_SERVICE_CIDR,
    allocate_service_addresses,
    carry_service_addresses,
)
from shiplane.cluster.apiserver.crds import (
    CRD_RESOURCE,
    crd_resource_types,
    default_crd_in_place,
    served_object,
    storage_object,
    storage_update,
    validate_crd_object,
)
from shiplane.cluster.apiserver.deletion import DeleteOptions
from shiplane.cluster.apiserver.paging import ListResult, decode_continue, encode_continue
from shiplane.cluster.apiserver.patches import apply_patch
from shiplane.cluster.apiserver.scale import scale_of, set_path
from shiplane.cluster.apiserver.selectors import FieldSelector, LabelSelector
from shiplane.cluster.auth import bootstrap_cluster_role_bindings, bootstrap_cluster_roles
from shiplane.cluster.crd import (
    CRDInfo,
    argocd_crds,
    establish_status,
    names_conflicts,
    parse_crd,
    register_crd,
    unregister_crd,
)
from shiplane.cluster.openapi import SchemaCatalog, TypeNode
from shiplane.cluster.resources.registry import REGISTRY, ResourceRegistry, ResourceType
from shiplane.cluster.store.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
)
from shiplane.cluster.store.metadata import (
    format_time,
    generate_name,
    plan_deletion,
    prepare_create,
    prepare_update,
)
from shiplane.cluster.store.model import ObjectKey, StoredObject, Write, encode
from shiplane.cluster.store.protocol import ObjectStore

__all__ = ["ApiBackend", "DeleteOptions", "ListResult", "SYSTEM_NAMESPACES"]

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_GENERATE_ATTEMPTS = 8


class ApiBackend:
    """The storage-facing half of the API server; the HTTP app is a thin shell over it."""

    def __init__(
        self,
        store: ObjectStore,
        *,
        registry: ResourceRegistry = REGISTRY,
        clock: Callable[[], datetime] | None = None,
        service_cidr: str = DEFAULT_SERVICE_CIDR,
        catalog: SchemaCatalog | None = None,
    ) -> None:
        self.store = store
        # A private copy: established CRDs add rows to it.
        self.registry = ResourceRegistry(list(registry.types))
        self.catalog = catalog or SchemaCatalog()
        crd_type = self.registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        if crd_type is not None:
            self.registry.add(dataclasses.replace(
                crd_type, defaulter=default_crd_in_place, validator=validate_crd_object))
        self._crds: dict[str, CRDInfo] = {}
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.service_cidr = service_cidr
        self._namespaces = self.registry.lookup("", "v1", "namespaces")
        self.bootstrap()

    # -- start-up ------------------------------------------------------------------------

    def bootstrap(self) -> None:
        """The namespaces and ``kubernetes`` service every cluster has from the start."""
        assert self._namespaces is not None
        for name in SYSTEM_NAMESPACES:
            if self.store.get(ObjectKey("namespaces", "", name)) is None:
                self.create(
                    self._namespaces,
                    "",
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                )
        for plural, objects in (("clusterroles", bootstrap_cluster_roles()),
                                ("clusterrolebindings", bootstrap_cluster_role_bindings())):
            rbac = self.registry.lookup("rbac.authorization.k8s.io", "v1", plural)
            for obj in objects if rbac else ():
                if self.store.get(self.key(rbac, "", obj["metadata"]["name"])) is None:
                    self.create(rbac, "", obj)
        crd_type = self.registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        if crd_type is not None:
            for stored in self.store.list(CRD_RESOURCE):
                self.crd_changed(stored.obj)
            for obj in argocd_crds():
                if self.store.get(self.key(crd_type, "", obj["metadata"]["name"])) is None:
                    self.create(crd_type, "", obj)
        services = self.registry.lookup("", "v1", "services")
        if services and self.store.get(ObjectKey("services", "default", "kubernetes")) is None:
            self.create(
                services,
                "default",
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {
                        "name": "kubernetes",
                        "labels": {"component": "apiserver", "provider": "kubernetes"},
                    },
                    "spec": {
                        "clusterIP": _first_ip(self.service_cidr),
                        "ports": [{"name": "https", "port": 443, "targetPort": 6443}],
                    },
                },
            )

    # -- CustomResourceDefinitions --------------------------------------------------------

    def crd_changed(self, obj: dict[str, Any]) -> None:
        """Establish a created/updated CRD: names check, status, served types, schemas."""
        info = parse_crd(obj)
        previous = self._crds.pop(info.name, None)
        if previous is not None:
            self._unserve(previous)
        in_use: dict[str, set[tuple[str, str]]] = {"plurals": set(), "kinds": set()}
        for t in self.registry.types:
            in_use["plurals"].add((t.group, t.plural))
            in_use["kinds"].add((t.group, t.kind))
        conflict = names_conflicts(info, in_use)
        status = establish_status(obj, format_time(self.clock()), conflict)
        key = ObjectKey(CRD_RESOURCE, "", info.name)
        current = self.store.get(key)
        if current is not None and _conditions_differ(current.obj.get("status"), status):
            updated = current.copy()
            updated["status"] = status
            self.store.commit([Write("update", key, updated, current.rv)])
        if conflict is None:
            for rt in crd_resource_types(info):
                self.registry.add(rt)
            register_crd(self.catalog, info)
            self._crds[info.name] = info

    def crd_removed(self, name: str) -> None:
        """A deleted CRD stops being served and its objects go (upstream's instance cleanup)."""
        info = self._crds.pop(name, None)
        if info is None:
            return
        self._unserve(info)
        resource = f"{info.plural}.{info.group}"
        deletes = [
            Write("delete", ObjectKey(resource, s.obj["metadata"].get("namespace", ""),
                                      s.obj["metadata"]["name"]), None, s.rv)
            for s in self.store.list(resource)
        ]
        if deletes:
            self.store.commit(deletes)

    def _unserve(self, info: CRDInfo) -> None:
        for version in info.versions:
            self.registry.remove(info.group, version.name, info.plural)
        unregister_crd(self.catalog, info)

    # -- helpers -------------------------------------------------------------------------

    def type_of(self, rt: ResourceType) -> TypeNode | None:
        """The OpenAPI type of ``rt``'s objects (server-side apply, field validation)."""
        return self.catalog.type_for(rt.api_version, rt.kind)

    def _owned(self, rt: ResourceType, old: dict[str, Any] | None, new: dict[str, Any],
               manager: str | None, subresource: str | None) -> dict[str, Any]:
        """``new`` with managedFields recording a non-apply write by ``manager``."""
        if not manager:
            return new
        return fieldmanager.record_update(old, new, manager, self.type_of(rt),
                                          subresource=subresource or "",
                                          status=_status_mode(rt, subresource),
                                          now=format_time(self.clock()))

    def key(self, rt: ResourceType, namespace: str, name: str) -> ObjectKey:
        return ObjectKey(rt.group_resource, namespace if rt.namespaced else "", name)

    def _load(self, rt: ResourceType, namespace: str, name: str) -> StoredObject:
        stored = self.store.get(self.key(rt, namespace, name))
        if stored is None:
            raise NotFound(rt.group, rt.plural, name)
        return served_object(rt, stored)

    def _check_type(self, rt: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest(f"the object provided is unrecognized (must be of type {rt.kind})")
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version and api_version != rt.api_version:
            raise BadRequest(
                f"the API version in the data ({api_version}) does not match the "
                f"expected API version ({rt.api_version})"
            )
        if kind and kind != rt.kind:
            raise BadRequest(
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )
        body["apiVersion"], body["kind"] = rt.api_version, rt.kind
        meta = body.get("metadata")
        if meta is None:
            body["metadata"] = {}
        elif not isinstance(meta, dict):
            raise BadRequest("metadata must be an object")
        return body

    def _check_namespace(
        self, rt: ResourceType, namespace: str, body: dict[str, Any], *, creating: bool
    ) -> None:
        meta = body["metadata"]
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        given = meta.get("namespace")
        if given and given != namespace:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace "
                "sent on the request"
            )
        meta["namespace"] = namespace
        if creating:
            ns = self.store.get(ObjectKey("namespaces", "", namespace))
            if ns is None:
                raise NotFound("", "namespaces", namespace)
            if (ns.obj.get("metadata") or {}).get("deletionTimestamp"):
                raise Forbidden(
                    f'{rt.plural}{"." + rt.group if rt.group else ""} "{meta.get("name", "")}" is '
                    f"forbidden: unable to create new content in namespace {namespace} because "
                    "it is being terminated",
                    details={"name": meta.get("name", ""), "kind": rt.plural},
                )

    def _invalid(self, rt: ResourceType, obj: dict[str, Any], errors: list[Any]) -> Invalid:
        name = (obj.get("metadata") or {}).get("name") or ""
        return Invalid(rt.group, rt.kind, name, errors)

    def _admit(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Validation, then allocations that need the store (Service addresses)."""
        errors = rt.validate(obj, old)
        if errors:
            raise self._invalid(rt, obj, errors)
        if rt.group_resource == "services":
            if old is None:
                others = [s.obj for s in self.store.list("services")]
                errors = allocate_service_addresses(obj, others, self.service_cidr)
            else:
                carry_service_addresses(obj, old)
            if errors:
                raise self._invalid(rt, obj, errors)

    # -- reads ---------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> StoredObject:
        return self._load(rt, namespace, name)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListResult:
        rv = self.store.resource_version
        start_after: tuple[str, str] | None = None
        if continue_token:
            rv, start_after = decode_continue(continue_token)
            if rv < self.store.oldest_resource_version:
                raise Gone(
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use "
                    "the continue token in this response to retrieve the remainder of the "
                    "results. Continuing with the provided token results in an inconsistent "
                    "list - objects that were created, modified, or deleted between the time "
                    "the first chunk was returned and now may show up in the list."
                )
        scope = namespace if rt.namespaced else None
        stored = self.store.list(rt.group_resource, scope)
        items: list[StoredObject] = []
        wanted = None
        name_filter = fields.exact("metadata.name") if fields else None
        for entry in stored:
            meta = entry.obj.get("metadata") or {}
            if (
                start_after is not None
                and (meta.get("namespace", ""), meta.get("name", "")) <= start_after
            ):
                continue
            if name_filter is not None and meta.get("name") != name_filter:
                continue
            if labels is not None and not labels.empty and not labels.matches(meta.get("labels")):
                continue
            if fields is not None and not fields.empty and not fields.matches(entry.obj):
                continue
            items.append(served_object(rt, entry))
            if limit and len(items) > limit:
                wanted = limit
                break
        if wanted is not None:
            last = items[wanted - 1].obj["metadata"]
            token = encode_continue(rv, (last.get("namespace", ""), last.get("name", "")))
            return ListResult(items[:wanted], rv, token, None)
        return ListResult(items, rv)

    # -- writes --------------------------------------------------------------------------

    def create(
        self, rt: ResourceType, namespace: str, body: Any, *, dry_run: bool = False,
        manager: str | None = None,
    ) -> StoredObject:
        obj = self._check_type(rt, body)
        self._check_namespace(rt, namespace, obj, creating=True)
        meta = obj["metadata"]
        prepare_create(obj, now=self.clock())
        if rt.initial_status is not None:
            obj["status"] = rt.initial_status(obj)
        generated = not meta.get("name") and bool(meta.get("generateName"))
        for attempt in range(_GENERATE_ATTEMPTS if generated else 1):
            candidate = copy.deepcopy(obj) if generated else obj
            if generated:
                candidate["metadata"]["name"] = generate_name(meta["generateName"])
            rt.default(candidate)
            candidate = self._owned(rt, None, candidate, manager, None)
            self._admit(rt, candidate, None)
            key = self.key(rt, namespace, candidate["metadata"]["name"])
            if generated and self.store.get(key) is not None and attempt < _GENERATE_ATTEMPTS - 1:
                continue
            [stored] = self.store.commit(
                [Write("create", key, storage_object(rt, candidate))], dry_run=dry_run
            )
            if dry_run:
                candidate["metadata"].pop("resourceVersion", None)
                return _dry(candidate)
            if rt.group_resource == CRD_RESOURCE:
                self.crd_changed(stored.obj)
                return self.store.get(key) or stored
            return served_object(rt, stored)
        raise AssertionError("unreachable")

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        manager: str | None = None,
    ) -> StoredObject:
        obj = self._check_type(rt, body)
        body_name = obj["metadata"].get("name")
        if body_name and body_name != name:
            raise BadRequest(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        obj["metadata"]["name"] = name
        self._check_namespace(rt, namespace, obj, creating=False)
        current = self._load(rt, namespace, name)
        wanted_rv = obj["metadata"].get("resourceVersion")
        if wanted_rv and str(wanted_rv) != str(current.rv):
            raise Conflict(rt.group, rt.plural, name)
        return self._write_update(
            rt, current, obj, subresource=subresource, dry_run=dry_run, manager=manager
        )

    def _write_update(
        self,
        rt: ResourceType,
        current: StoredObject,
        obj: dict[str, Any],
        *,
        subresource: str | None,
        dry_run: bool,
        manager: str | None = None,
    ) -> StoredObject:
        old = current.obj
        if subresource == "status":
            status = obj.get("status")
            obj = current.copy()
            if status is None:
                obj.pop("status", None)
            else:
                obj["status"] = status
        elif rt.has_status and subresource != "binding":  # binding writes PodScheduled
            if "status" in old:
                obj["status"] = copy.deepcopy(old["status"])
            else:
                obj.pop("status", None)
        if rt.group_resource == "namespaces" and subresource != "status":
            obj["status"] = copy.deepcopy(old.get("status", {}))
        if rt.group_resource == "namespaces" and subresource != "finalize":
            # spec.finalizers only change through namespaces/<name>/finalize
            old_spec = old.get("spec") or {}
            if "finalizers" in old_spec:
                obj.setdefault("spec", {})["finalizers"] = copy.deepcopy(old_spec["finalizers"])
            else:
                (obj.get("spec") or {}).pop("finalizers", None)
        prepare_update(old, obj)
        rt.default(obj)
        obj = self._owned(rt, old, obj, manager, subresource)
        self._admit(rt, obj, old)
        key = self.key(rt, current.obj["metadata"].get("namespace", ""), old["metadata"]["name"])
        meta = obj["metadata"]
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not meta.get("deletionGracePeriodSeconds")
            # a namespace also waits for its spec.finalizers (ShouldDeleteNamespaceDuringUpdate)
            and not (rt.group_resource == "namespaces"
                     and (obj.get("spec") or {}).get("finalizers"))
        ):
            # The last finalizer is gone from a terminating object: delete it now.
            [stored] = self.store.commit([Write("delete", key, None, current.rv)], dry_run=dry_run)
            return served_object(rt, stored)
        if _same(old, obj):
            return current
        raw = self.store.get(key) if "convert" in rt.extra else None
        [stored] = self.store.commit(
            [Write("update", key, storage_update(rt, obj, raw.obj if raw else None, subresource),
                   current.rv)], dry_run=dry_run
        )
        stored = served_object(rt, stored)
        if dry_run:
            # A dry run writes nothing, so the object keeps its stored resourceVersion.
            result = stored.copy()
            result["metadata"]["resourceVersion"] = str(current.rv)
            return _dry(result)
        if rt.group_resource == CRD_RESOURCE and subresource is None:
            self.crd_changed(stored.obj)
            return self.store.get(key) or stored
        return stored

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        patch_type: str,
        patch: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        manager: str | None = None,
    ) -> StoredObject:
        for _ in range(5):
            current = self._load(rt, namespace, name)
            patched = apply_patch(current.copy(), patch_type, patch, rt.patch_schema)
            patched_meta = (
                patched.get("metadata") if isinstance(patched.get("metadata"), dict) else {}
            )
            wanted_rv = patched_meta.get("resourceVersion")
            if wanted_rv and str(wanted_rv) != str(current.rv):
                raise Conflict(rt.group, rt.plural, name)
            if patched_meta.get("name", name) != name:
                raise BadRequest(
                    f"the name of the object ({patched_meta.get('name')}) does not "
                    f"match the name on the URL ({name})"
                )
            obj = self._check_type(rt, patched)
            obj["metadata"]["name"] = name
            self._check_namespace(rt, namespace, obj, creating=False)
            try:
                return self._write_update(
                    rt, current, obj, subresource=subresource, dry_run=dry_run, manager=manager
                )
            except Conflict:
                if wanted_rv:
                    raise
                continue  # somebody wrote in between: re-apply on the fresh object
        raise Conflict(rt.group, rt.plural, name)

    def apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        config: Any,
        *,
        manager: str,
        force: bool = False,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> tuple[StoredObject, bool]:
        """Server-side apply (``application/apply-patch+yaml``): creates the object if it does
        not exist; fields another manager owns answer 409 unless ``force``.
        Returns the stored object and whether it was created."""
        config = self._check_type(rt, config)
        meta = config["metadata"]
        if meta.get("name", name) != name:
            raise BadRequest(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({name})"
            )
        meta["name"] = name
        if rt.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        node = self.type_of(rt)
        for _ in range(5):
            current = self.store.get(self.key(rt, namespace, name))
            if current is not None:
                current = served_object(rt, current)
            if current is None and subresource:
                raise NotFound(rt.group, rt.plural, name)
            try:
                result = fieldmanager.apply(
                    current.copy() if current else None, config, manager, force, node,
                    subresource=subresource or "", status=_status_mode(rt, subresource),
                    now=format_time(self.clock()),
                )
            except fieldmanager.FieldManagerError as error:
                raise BadRequest(str(error)) from None
            if not result.ok:
                raise ApplyConflict(result.status())
            try:
                if current is None:
                    return self.create(rt, namespace, result.object, dry_run=dry_run), True
                return self._write_update(
                    rt, current, result.object, subresource=subresource, dry_run=dry_run
                ), False
            except (Conflict, AlreadyExists):
                continue  # somebody wrote in between: apply again on the fresh object
        raise Conflict(rt.group, rt.plural, name)

    def bind(
        self, rt: ResourceType, namespace: str, name: str, node: str, *, dry_run: bool = False,
        annotations: dict[str, str] | None = None, uid: str | None = None,
    ) -> dict[str, Any]:
        """``pods/binding``: assign a node once, copy the binding's annotations and set
        PodScheduled=True (k/pkg/registry/core/pod/storage/storage.go
        setPodHostAndAnnotations, podutil.UpdatePodCondition)."""
        current = self._load(rt, namespace, name)
        if uid and uid != (current.obj.get("metadata") or {}).get("uid"):
            raise Conflict(
                rt.group, rt.plural, name,
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                f"{(current.obj.get('metadata') or {}).get('uid')}",
            )
        assigned = (current.obj.get("spec") or {}).get("nodeName")
        if assigned:
            raise Conflict(
                rt.group, rt.plural, name, f'pod {name} is already assigned to node "{assigned}"'
            )
        if (current.obj.get("metadata") or {}).get("deletionTimestamp"):
            raise Conflict(
                rt.group,
                rt.plural,
                name,
                f"pod {name} is being deleted, cannot be assigned to a host",
            )
        obj = current.copy()
        obj.setdefault("spec", {})["nodeName"] = node
        if annotations:
            obj["metadata"].setdefault("annotations", {}).update(annotations)
        status = obj.setdefault("status", {})
        conditions = [dict(c) for c in status.get("conditions") or []]
        old = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        scheduled = {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                     "lastTransitionTime": format_time(self.clock())}
        if old is not None and old.get("status") == "True":
            scheduled["lastTransitionTime"] = old.get("lastTransitionTime")
        status["conditions"] = [scheduled if c is old else c for c in conditions]
        if old is None:
            status["conditions"].append(scheduled)
        self._write_update(rt, current, obj, subresource="binding", dry_run=dry_run)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "code": 201,
        }

    # -- scale subresource ---------------------------------------------------------------

    def get_scale(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        if rt.scale is None:
            raise NotFound(rt.group, f"{rt.plural}/scale", name)
        return scale_of(rt, self._load(rt, namespace, name).obj)

    def update_scale(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        scale: Any,
        *,
        patch_type: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        if rt.scale is None:
            raise NotFound(rt.group, f"{rt.plural}/scale", name)
        current = self._load(rt, namespace, name)
        old_scale = scale_of(rt, current.obj)
        if patch_type is not None:
            scale = apply_patch(copy.deepcopy(old_scale), patch_type, scale, rt.patch_schema)
        if not isinstance(scale, dict):
            raise BadRequest("the object provided is unrecognized (must be of type Scale)")
        wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and str(wanted_rv) != str(current.rv):
            raise Conflict(rt.group, rt.plural, name)
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or replicas < 0:
            raise Invalid(
                "autoscaling",
                "Scale",
                name,
                [
                    FieldError(
                        "Invalid", "spec.replicas", replicas, "must be greater than or equal to 0"
                    )
                ],
            )
        obj = current.copy()
        set_path(obj, rt.scale.replicas_path, replicas)
        stored = self._write_update(rt, current, obj, subresource=None, dry_run=dry_run)
        return scale_of(rt, stored.obj)

    # -- deletion ------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        options: DeleteOptions,
        *,
        dry_run: bool = False,
    ) -> tuple[StoredObject, bool]:
        """Delete or mark; returns the object and whether it is gone."""
        current = self._load(rt, namespace, name)
        meta = current.obj.get("metadata") or {}
        if options.precondition_uid and options.precondition_uid != meta.get("uid"):
            raise Conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {options.precondition_uid}, "
                f"UID in object meta: {meta.get('uid')}",
            )
        if options.precondition_rv and options.precondition_rv != str(current.rv):
            raise Conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: ResourceVersion in precondition: "
                f"{options.precondition_rv}, ResourceVersion in object meta: {current.rv}",
            )
        if rt.group_resource == "namespaces":
            return self._delete_namespace(rt, current, dry_run=dry_run)
        writes, gone = self.deletion_writes(rt, current, options)
        [stored] = self.store.commit(writes, dry_run=dry_run)
        if gone and not dry_run and rt.group_resource == CRD_RESOURCE:
            self.crd_removed(name)
        return served_object(rt, stored), gone

    def deletion_writes(
        self, rt: ResourceType, current: StoredObject, options: DeleteOptions
    ) -> tuple[list[Write], bool]:
        """The writes that delete (or mark) ``current``, and whether it will be gone."""
        if "convert" in rt.extra:
            # mark the object as stored, not a lossy conversion of it (HPA v1)
            meta = current.obj.get("metadata") or {}
            raw = self.store.get(self.key(rt, meta.get("namespace", ""), meta.get("name", "")))
            current = raw if raw is not None and raw.rv == current.rv else current
        obj = current.copy()
        spec = obj.get("spec") or {}
        graceful = (
            rt.graceful_delete
            and bool(spec.get("nodeName"))
            and ((obj.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))
        )
        grace = options.grace_period_seconds
        if graceful and grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        plan = plan_deletion(
            obj,
            now=self.clock(),
            propagation=options.propagation_policy,
            grace_period=grace,
            graceful=graceful,
        )
        key = self.key(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if plan.remove:
            return [Write("delete", key, None, current.rv)], True
        return [Write("update", key, storage_object(rt, plan.obj), current.rv)], False

    def _delete_namespace(
        self, rt: ResourceType, current: StoredObject, *, dry_run: bool
    ) -> tuple[StoredObject, bool]:
        """Namespace DELETE (k8s registry/core/namespace/storage Delete): the first one marks
        the namespace (deletionTimestamp, phase Terminating) and returns it; the namespace
        controller empties it and removes its ``spec.finalizers`` through the ``finalize``
        subresource. Only then does a DELETE (the controller's) remove it."""
        name = current.obj["metadata"]["name"]
        if name in SYSTEM_NAMESPACES:
            raise Forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                details={"name": name, "kind": "namespaces"},
            )
        obj = current.copy()
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = format_time(self.clock())
            meta["deletionGracePeriodSeconds"] = 0
            obj.setdefault("status", {})["phase"] = "Terminating"
            key = ObjectKey("namespaces", "", name)
            [current] = self.store.commit([Write("update", key, obj, current.rv)],
                                          dry_run=dry_run)
        if (current.obj.get("spec") or {}).get("finalizers") or dry_run:
            return current, False
        # finalized: an ordinary deletion (metadata.finalizers still hold it if any)
        writes, gone = self.deletion_writes(rt, current, DeleteOptions(grace_period_seconds=0))
        [stored] = self.store.commit(writes)
        return stored, gone

    def finalize_namespace(
        self, rt: ResourceType, name: str, body: Any, *, dry_run: bool = False
    ) -> StoredObject:
        """``PUT namespaces/<name>/finalize``: only ``spec.finalizers`` changes (upstream's
        finalizeStrategy); a Terminating namespace left without finalizers is removed."""
        obj = self._check_type(rt, body)
        body_name = obj["metadata"].get("name")
        if body_name and body_name != name:
            raise BadRequest(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        current = self._load(rt, "", name)
        wanted_rv = obj["metadata"].get("resourceVersion")
        if wanted_rv and str(wanted_rv) != str(current.rv):
            raise Conflict(rt.group, rt.plural, name)
        finalizers = (obj.get("spec") or {}).get("finalizers") or []
        if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
            raise BadRequest("spec.finalizers must be a list of strings")
        updated = current.copy()
        updated.setdefault("spec", {})["finalizers"] = finalizers
        return self._write_update(rt, current, updated, subresource="finalize", dry_run=dry_run)

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        options: DeleteOptions,
        *,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        dry_run: bool = False,
    ) -> list[StoredObject]:
        listed = self.list(rt, namespace, labels=labels, fields=fields)
        writes: list[Write] = []
        for entry in listed.items:
            more, _ = self.deletion_writes(rt, entry, options)
            writes += more
        if not writes:
            return []
        return [served_object(rt, s) for s in self.store.commit(writes, dry_run=dry_run)]


def _first_ip(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr).network_address + 1)


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """No-op update: only the resourceVersion would differ (upstream skips the write)."""
    a = dict(
        old, metadata={k: v for k, v in old.get("metadata", {}).items() if k != "resourceVersion"}
    )
    b = dict(
        new, metadata={k: v for k, v in new.get("metadata", {}).items() if k != "resourceVersion"}
    )
    return a == b


def _dry(obj: dict[str, Any]) -> StoredObject:
    rv = int(obj.get("metadata", {}).get("resourceVersion") or 0)
    return StoredObject(obj, encode(obj), rv)


class ApplyConflict(ApiError):
    """409 with server-side apply's conflict message and FieldManagerConflict causes."""

    code = 409
    reason = "Conflict"

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__(status["message"], details=status["details"])


def _status_mode(rt: ResourceType, subresource: str | None) -> str:
    """What of ``.status`` a write may own: only it (status subresource), none of it (main
    resource of a kind with a status subresource), or everything."""
    if subresource == "status":
        return "only"
    return "drop" if rt.has_status else "keep"


def _conditions_differ(old: Any, new: dict[str, Any]) -> bool:
    """Status differs beyond condition timestamps (no rewrite on every start)."""

    def strip(status: Any) -> Any:
        if not isinstance(status, dict):
            return status
        out = dict(status)
        out["conditions"] = [
            {k: v for k, v in c.items() if k != "lastTransitionTime"}
            for c in status.get("conditions") or []
        ]
        return out

    return strip(old) != strip(new)
