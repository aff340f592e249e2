"""Leader election over a ``coordination.k8s.io/v1`` Lease, with client-go's semantics.

After client-go ``tools/leaderelection/leaderelection.go`` (``tryAcquireOrRenew``,
``renew``, ``release``) and ``resourcelock/leaselock.go``. Defaults as controllers
use them: lease duration 15 s, renew deadline 10 s, retry period 2 s.

* ``decide`` (pure) says what one attempt does with the Lease as read: create it, take
  it over, renew it, or leave it alone. A lease held by someone else counts as expired
  when ``leaseDurationSeconds`` have passed since *this candidate observed* its record
  change (client-go's ``observedTime``: local clocks only, no cross-node clock skew).
  Taking over sets ``acquireTime`` and increments ``leaseTransitions``; renewing keeps
  both and moves ``renewTime``.
* ``LeaderElector`` (the adapter) runs attempts on a thread every ``retry_period``
  (jittered by up to 20 %, ``wait.JitterUntil`` with factor 1.2); writes are updates with
  the read ``resourceVersion``, so two candidates racing for an expired lease cannot
  both win (the loser gets 409). A leader that has not renewed for ``renew_deadline``
  stops leading. ``stop`` releases the lease (``ReleaseOnCancel``: empty holder,
  duration 1 s) so a follower takes over at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.kube import KubeClient, KubeError
from shiplane.kube.errors import ApiError

__all__ = ["Attempt", "LeaderElector", "LeaseSettings", "decide", "default_identity"]

log = logging.getLogger(__name__)
LEASE_API = "coordination.k8s.io/v1"


@dataclass(frozen=True)
class LeaseSettings:
    name: str = "shiplane-gitops-controller"
    namespace: str = "argocd"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        # leaderelection.go NewLeaderElector's checks
        if self.lease_duration <= self.renew_deadline:
            raise ValueError("leaseDuration must be greater than renewDeadline")
        if self.renew_deadline <= 1.2 * self.retry_period:
            raise ValueError("renewDeadline must be greater than retryPeriod*1.2")


@dataclass(frozen=True)
class Attempt:
    """``action``: create | update | none; ``spec`` the Lease spec to write; ``leader``:
    whether this candidate leads if the write succeeds."""

    action: str
    spec: Mapping[str, Any] | None
    leader: bool


def micro_time(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_identity() -> str:
    """``<hostname>_<uuid>``, as client-go's examples and kube-controller-manager build it."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def decide(spec: Mapping[str, Any] | None, identity: str, *, now: dt.datetime,
           observed_at: float, monotonic_now: float, lease_duration: float) -> Attempt:
    """One ``tryAcquireOrRenew`` against the Lease ``spec`` as read (``None``: no Lease).

    ``observed_at`` is the local monotonic time at which this candidate first saw the
    current record; ``monotonic_now`` the local monotonic time now."""
    stamp = micro_time(now)
    if spec is None:
        return Attempt("create", {"holderIdentity": identity,
                                  "leaseDurationSeconds": int(lease_duration),
                                  "acquireTime": stamp, "renewTime": stamp,
                                  "leaseTransitions": 0}, True)
    holder = spec.get("holderIdentity") or ""
    duration = float(spec.get("leaseDurationSeconds") or lease_duration)
    if holder and holder != identity and observed_at + duration > monotonic_now:
        return Attempt("none", None, False)  # held and not expired
    transitions = int(spec.get("leaseTransitions") or 0)
    if holder == identity:
        return Attempt("update", {**spec, "renewTime": stamp,
                                  "leaseDurationSeconds": int(lease_duration)}, True)
    return Attempt("update", {"holderIdentity": identity,
                              "leaseDurationSeconds": int(lease_duration),
                              "acquireTime": stamp, "renewTime": stamp,
                              "leaseTransitions": transitions + 1}, True)


class LeaderElector:
    def __init__(self, client: KubeClient, settings: LeaseSettings | None = None, *,
                 identity: str | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client, self.settings = client, settings or LeaseSettings()
        self.identity = identity or default_identity()
        self.clock, self.monotonic = clock, monotonic
        self._observed: tuple[Any, float] | None = None  # (record, when first seen)
        self._last_renew: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_change: Callable[[], None] | None = None
        self._leading = False

    # -- one attempt --------------------------------------------------------------------
    def _get(self) -> dict[str, Any] | None:
        try:
            return self.client.get(LEASE_API, "Lease", self.settings.name,
                                   self.settings.namespace)
        except ApiError as error:
            if error.code == 404:
                return None
            raise

    def _ensure_namespace(self) -> None:
        try:
            self.client.create({"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": self.settings.namespace}})
        except ApiError as error:
            if error.code != 409:
                raise

    def try_acquire_or_renew(self) -> bool:
        """One attempt; True when this candidate holds the lease afterwards."""
        lease = self._get()
        spec = (lease or {}).get("spec") if lease is not None else None
        now_mono = self.monotonic()
        record = None if spec is None else (spec.get("holderIdentity"), spec.get("renewTime"),
                                            spec.get("leaseTransitions"))
        if self._observed is None or self._observed[0] != record:
            self._observed = (record, now_mono)
        attempt = decide(spec, self.identity, now=self.clock(), observed_at=self._observed[1],
                         monotonic_now=now_mono, lease_duration=self.settings.lease_duration)
        if attempt.action == "none":
            return False
        body = {"apiVersion": LEASE_API, "kind": "Lease",
                "metadata": {"name": self.settings.name, "namespace": self.settings.namespace},
                "spec": dict(attempt.spec or {})}
        try:
            if attempt.action == "create":
                written = self.client.create(body)
            else:
                body["metadata"]["resourceVersion"] = lease["metadata"]["resourceVersion"]
                written = self.client.replace(body)
        except ApiError as error:
            if error.code == 404 and attempt.action == "create":
                self._ensure_namespace()  # the next attempt can create the Lease
                return False
            if error.code in (404, 409):  # someone else wrote first: not ours this round
                return False
            raise
        spec = written.get("spec") or {}
        self._observed = ((spec.get("holderIdentity"), spec.get("renewTime"),
                           spec.get("leaseTransitions")), now_mono)
        self._last_renew = now_mono
        return attempt.leader

    # -- the loop -----------------------------------------------------------------------
    def is_leader(self) -> bool:
        with self._lock:
            if not self._leading or self._last_renew is None:
                return False
            # a leader that could not renew within the deadline must stop acting
            return self.monotonic() - self._last_renew < self.settings.renew_deadline

    def _set_leading(self, leading: bool) -> None:
        with self._lock:
            changed, self._leading = self._leading != leading, leading
        if changed:
            log.info("%s %s leadership of lease %s/%s", self.identity,
                     "acquired" if leading else "lost", self.settings.namespace,
                     self.settings.name)
            if self._on_change is not None:
                self._on_change()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                held = self.try_acquire_or_renew()
            except (KubeError, OSError) as error:
                log.warning("lease %s: %s", self.settings.name, error)
                held = False
            if held:
                self._set_leading(True)
            elif not self.is_leader():
                self._set_leading(False)
            self._stop.wait(self.settings.retry_period * random.uniform(1.0, 1.2))

    def start(self, on_change: Callable[[], None] | None = None) -> LeaderElector:
        self._on_change = on_change
        self._thread = threading.Thread(target=self._loop, name="shiplane-gitops-leader",
                                        daemon=True)
        self._thread.start()
        return self

    def halt(self) -> None:
        """Stop the loop without releasing (what a crash looks like to the others)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._set_leading(False)

    def stop(self) -> None:
        """Stop, and release the lease if held (client-go ``release``)."""
        was_leader = self.is_leader()
        self.halt()
        if not was_leader:
            return
        try:
            lease = self._get()
            if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            stamp = micro_time(self.clock())
            spec = {**lease["spec"], "holderIdentity": "", "leaseDurationSeconds": 1,
                    "renewTime": stamp, "acquireTime": stamp}
            self.client.replace({**lease, "spec": spec})
        except (KubeError, OSError) as error:
            log.warning("could not release lease %s: %s", self.settings.name, error)
