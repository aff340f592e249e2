"""Expectations and slow-start pod writes shared by the ReplicaSet and Job controllers
(k8s pkg/controller/controller_utils.go ControllerExpectations, slowStartBatch)."""

from __future__ import annotations

import asyncio

import pytest

from shiplane.cluster.controllers.api import ControllerApiError
from shiplane.cluster.controllers.pod_control import (
    ControllerExpectations,
    create_pods,
    delete_pods,
)


def _pod(name: str, deleting: bool = False) -> dict:
    meta = {"name": name, "namespace": "ns"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta}


def test_unknown_key_is_satisfied():
    assert ControllerExpectations().satisfied("ns/rs")


def test_creations_are_satisfied_once_every_one_is_observed():
    exp = ControllerExpectations()
    exp.expect("ns/rs", adds=2)
    exp.observe("ns/rs", "ADDED", _pod("a"), None)
    assert not exp.satisfied("ns/rs")
    exp.observe("ns/rs", "MODIFIED", _pod("a"), _pod("a"))  # not a creation
    assert not exp.satisfied("ns/rs")
    exp.observe("ns/rs", "ADDED", _pod("b"), None)
    assert exp.satisfied("ns/rs")
    assert exp.satisfied("ns/rs")  # and forgotten


def test_a_deletion_is_observed_when_the_pod_is_first_marked_or_goes_unmarked():
    exp = ControllerExpectations()
    exp.expect("ns/rs", deletes=3)
    exp.observe("ns/rs", "MODIFIED", _pod("a", deleting=True), _pod("a"))  # newly marked
    exp.observe("ns/rs", "MODIFIED", _pod("a", deleting=True), _pod("a", deleting=True))
    exp.observe("ns/rs", "DELETED", _pod("a", deleting=True), _pod("a", deleting=True))
    assert not exp.satisfied("ns/rs")  # the mark counted, the repeat and final delete did not
    exp.observe("ns/rs", "DELETED", _pod("b"), None)  # gone without a mark
    exp.observe("ns/rs", "ADDED", _pod("c", deleting=True), None)  # seen first already marked
    assert exp.satisfied("ns/rs")


def test_lowered_expectations_and_the_timeout():
    exp = ControllerExpectations()
    exp.expect("ns/rs", adds=4)
    exp.lower("ns/rs", adds=4)  # failed and skipped creations never come
    assert exp.satisfied("ns/rs")
    exp.lower("ns/other", adds=1)  # nothing expected: no entry appears
    assert exp.satisfied("ns/other")
    stale = ControllerExpectations(timeout=0.0)
    stale.expect("ns/rs", adds=1)
    assert stale.satisfied("ns/rs")  # ExpectationsTimeout passed


def test_forget_drops_the_owner():
    exp = ControllerExpectations()
    exp.expect("ns/rs", adds=1)
    exp.forget("ns/rs")
    assert exp.satisfied("ns/rs")


class _Api:
    def __init__(self, fail_after: int | None = None, missing: tuple[str, ...] = (),
                 broken: tuple[str, ...] = ()) -> None:
        self.calls: list[str] = []
        self.fail_after, self.missing, self.broken = fail_after, missing, broken

    async def create(self, kind: str, ns: str, body: dict) -> dict:
        self.calls.append(body["metadata"]["name"])
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            raise ControllerApiError("quota exceeded", 403, "Forbidden")
        return body

    async def delete(self, kind: str, ns: str, name: str) -> dict:
        self.calls.append(name)
        if name in self.missing:
            raise ControllerApiError(f"pods \"{name}\" not found", 404, "NotFound")
        if name in self.broken:
            raise ControllerApiError("etcd down", 500, "InternalError")
        return {}


def test_creates_run_in_slow_start_batches():
    api = _Api()
    pods = [_pod(f"p{i}") for i in range(7)]
    writes = asyncio.run(create_pods(api.create, "ns", pods, (1, 2, 4)))
    assert writes.done == [f"p{i}" for i in range(7)]
    assert (writes.errors, writes.failed, writes.skipped) == ([], 0, 0)


def test_a_failing_batch_stops_the_creates_and_counts_what_never_comes():
    api = _Api(fail_after=2)  # p0, p1 succeed; p2 (second batch) fails
    pods = [_pod(f"p{i}") for i in range(7)]
    writes = asyncio.run(create_pods(api.create, "ns", pods, (1, 2, 4)))
    assert writes.done == ["p0", "p1"]
    assert writes.failed == 1 and writes.skipped == 4  # the third batch never ran
    assert api.calls == ["p0", "p1", "p2"]
    assert "quota exceeded" in writes.error


@pytest.mark.parametrize("missing,broken,errors", [
    ((), (), 0),
    (("b",), (), 0),  # already gone: no error, nothing to observe
    ((), ("b",), 1),
])
def test_deletes(missing, broken, errors):
    api = _Api(missing=missing, broken=broken)
    writes = asyncio.run(delete_pods(api.delete, "ns", ["a", "b", "c"]))
    assert writes.done == [n for n in "abc" if n not in missing + broken]
    assert writes.failed == len(missing + broken)
    assert len(writes.errors) == errors
