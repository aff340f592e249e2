"""The disruption controller: keeps every PodDisruptionBudget's status current
(k8s pkg/controller/disruption/disruption.go).

Keys are PDBs (``ns/name``). A pod event requeues the PDBs of its namespace whose selector
matches the pod's labels (new or old); ReplicaSet/Deployment/StatefulSet events requeue the
namespace's PDBs (their scale is the expected pod count of ``maxUnavailable`` and percentage
``minAvailable`` budgets). Each sync computes :func:`pdb_status` (currentHealthy,
desiredHealthy, expectedPods, disruptionsAllowed, observedGeneration, disruptedPods, the
DisruptionAllowed condition) and writes it through ``poddisruptionbudgets/status`` only when
it changed. Pods recorded in ``disruptedPods`` by the eviction subresource stop counting as
healthy until they are deleting or DeletionTimeout (2 min) passes; the sync requeues itself for
that moment, like upstream's recheck queue.
"""

from __future__ import annotations

from datetime import timedelta

from shiplane.cluster.controllers.base import Context, Controller, controller_ref
from shiplane.cluster.controllers.informer import key_of
from shiplane.cluster.decisions.clock import parse_time
from shiplane.cluster.decisions.disruption import DELETION_TIMEOUT, expected_scale, pdb_status
from shiplane.cluster.decisions.events import Event
from shiplane.cluster.decisions.labels import matches_label_selector

__all__ = ["DisruptionController"]

_UNMANAGED = (
    "Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be "
    "unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may "
    'result in undefined behavior. To account for these pods please set ".spec.minAvailable" '
    "field of the PDB to an integer value."
)


class DisruptionController(Controller):
    name = "controllermanager"  # upstream events come from the kube-controller-manager
    workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.pdbs = ctx.informer("PodDisruptionBudget")
        self.pods = ctx.informer("Pod")
        self.replicasets = ctx.informer("ReplicaSet")
        self.deployments = ctx.informer("Deployment")
        self.statefulsets = ctx.informer("StatefulSet")
        self.pdbs.add_handler(lambda t, o, old: self.queue.add(key_of(o)))
        self.pods.add_handler(self._on_pod)
        for informer in (self.replicasets, self.deployments, self.statefulsets):
            informer.add_handler(self._on_workload)

    def _in_namespace(self, namespace: str) -> list[dict]:
        prefix = namespace + "/"
        return [p for k, p in self.pdbs.cache.items() if k.startswith(prefix)]

    def _on_pod(self, etype: str, pod: dict, old: dict | None) -> None:
        meta = pod["metadata"]
        labels = [meta.get("labels"), ((old or {}).get("metadata") or {}).get("labels")]
        for pdb in self._in_namespace(meta.get("namespace", "default")):
            selector = (pdb.get("spec") or {}).get("selector")
            if any(matches_label_selector(selector, lab) for lab in labels if lab is not None):
                self.queue.add(key_of(pdb))

    def _on_workload(self, etype: str, obj: dict, old: dict | None) -> None:
        if old is not None and (old.get("spec") or {}).get("replicas") == (
            obj.get("spec") or {}
        ).get("replicas"):
            return
        for pdb in self._in_namespace(obj["metadata"].get("namespace", "default")):
            self.queue.add(key_of(pdb))

    def _scale(self, pods: list[dict]) -> tuple[int, list[str]]:
        """getExpectedScale over the finders upstream has: ReplicaSet (→ its Deployment) and
        StatefulSet."""
        controllers: dict[str, dict] = {}
        rs_owners: dict[str, dict] = {}
        for pod in pods:
            ref = controller_ref(pod)
            if ref is None:
                continue
            ns = pod["metadata"]["namespace"]
            if ref.get("kind") == "ReplicaSet":
                rs = self.replicasets.get(f"{ns}/{ref['name']}")
                if rs is None or rs["metadata"].get("uid") != ref.get("uid"):
                    continue
                controllers[ref["uid"]] = rs
                owner = controller_ref(rs)
                if owner is not None and owner.get("kind") == "Deployment":
                    deployment = self.deployments.get(f"{ns}/{owner['name']}")
                    if deployment is not None and deployment["metadata"].get("uid") == owner.get(
                        "uid"
                    ):
                        rs_owners[ref["uid"]] = deployment
            elif ref.get("kind") == "StatefulSet":
                sts = self.statefulsets.get(f"{ns}/{ref['name']}")
                if sts is not None and sts["metadata"].get("uid") == ref.get("uid"):
                    controllers[ref["uid"]] = sts
        return expected_scale(pods, controllers, rs_owners)

    async def sync(self, key: str) -> None:
        pdb = self.pdbs.get(key)
        if pdb is None or pdb["metadata"].get("deletionTimestamp"):
            return
        namespace = pdb["metadata"].get("namespace", "default")
        selector = (pdb.get("spec") or {}).get("selector")
        prefix = namespace + "/"
        pods = [
            p
            for k, p in self.pods.cache.items()
            if k.startswith(prefix)
            and matches_label_selector(selector, (p.get("metadata") or {}).get("labels"))
        ]
        spec = pdb.get("spec") or {}
        scale, unmanaged = None, []
        if spec.get("maxUnavailable") is not None or isinstance(spec.get("minAvailable"), str):
            scale, unmanaged = self._scale(pods)
        now = self.clock.now()
        status, events = pdb_status(pdb, pods, now, scale)
        if unmanaged:
            events += (Event("Warning", "UnmanagedPods", _UNMANAGED.format(selector=selector)),)
        for event in events:
            self.ctx.recorder.record(self.name, pdb, event)
        if status != (pdb.get("status") or {}):
            updated = await self.api.replace("PodDisruptionBudget", {**pdb, "status": status},
                                             sub="status")
            self.pdbs.remember(updated)
        # a disruptedPods entry the pod controller never confirmed expires after 2 minutes
        stamps = [parse_time(t) for t in (status.get("disruptedPods") or {}).values()]
        expiries = [t + DELETION_TIMEOUT for t in stamps if t is not None]
        if expiries:
            wait = (min(expiries) - now + timedelta(seconds=1)).total_seconds()
            self.queue.add_after(key, wait)
