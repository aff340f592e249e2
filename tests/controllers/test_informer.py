"""Informer (client-go reflector: list, watch from resourceVersion, relist on 410), work queue
and cluster clock, against the real API server over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from shiplane.cluster.apiserver import ApiServerRunner
from shiplane.cluster.controllers import AsyncApi, ClusterClock, Informer, WorkQueue
from shiplane.cluster.store.memory import MemoryObjectStore


@pytest.fixture(scope="module")
def apiserver() -> Iterator[ApiServerRunner]:
    # a tiny watch window, so an old resourceVersion is soon compacted away (410 Gone)
    with ApiServerRunner(MemoryObjectStore(watch_window=5)) as server:
        yield server


def _cm(name: str, value: str = "1") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"v": value}}


def test_informer_lists_then_watches_and_relists_after_410(apiserver):
    async def scenario() -> None:
        api = AsyncApi(apiserver.url)
        from shiplane.cluster.controllers.api import RESOURCES, Resource

        RESOURCES.setdefault("ConfigMap", Resource("", "v1", "configmaps"))
        await api.create("ConfigMap", "default", _cm("before"))
        informer = Informer(api, "ConfigMap")
        seen: list[tuple[str, str]] = []
        informer.add_handler(lambda t, o, old: seen.append((t, o["metadata"]["name"])))
        task = asyncio.ensure_future(informer.run())
        await asyncio.wait_for(informer.synced.wait(), 10)
        assert ("ADDED", "before") in seen
        await api.create("ConfigMap", "default", _cm("after"))
        await api.patch("ConfigMap", "default", "before", {"data": {"v": "2"}})
        await api.delete("ConfigMap", "default", "after")
        for _ in range(100):
            if ("DELETED", "after") in seen:
                break
            await asyncio.sleep(0.05)
        assert [e for e in seen if e[1] == "after"] == [("ADDED", "after"), ("DELETED", "after")]
        assert ("MODIFIED", "before") in seen
        assert informer.get("default/before")["data"] == {"v": "2"}
        assert informer.get("default/after") is None
        # a compacted window: the next watch from an ancient version gets 410 → relist
        relists = informer.relists
        task.cancel()
        informer.resource_version = "1"  # older than the server's watch window
        for index in range(8):
            await api.create("ConfigMap", "default", _cm(f"filler-{index}"))
        await api.create("ConfigMap", "default", _cm("later"))
        task = asyncio.ensure_future(informer.run_watch_only())
        for _ in range(100):
            if informer.get("default/later") is not None:
                break
            await asyncio.sleep(0.05)
        assert informer.get("default/later") is not None
        task.cancel()
        await api.close()
        assert informer.relists == relists + 1

    asyncio.run(scenario())


def test_work_queue_coalesces_keys_and_requeues_after():
    async def scenario() -> list[str]:
        queue = WorkQueue(ClusterClock(time_scale=100))
        done: list[str] = []

        async def process(key: str) -> None:
            done.append(key)

        queue.add("a")
        queue.add("a")
        queue.add("b")
        queue.add_after("c", 5)  # 5 cluster seconds = 0.05 s at x100
        worker = asyncio.ensure_future(queue.worker(process))
        await asyncio.sleep(0.2)
        worker.cancel()
        return done

    assert asyncio.run(scenario()) == ["a", "b", "c"]


def test_a_key_that_requeues_itself_does_not_starve_the_loop():
    async def scenario() -> int:
        queue = WorkQueue(ClusterClock(time_scale=1))
        ticks = 0

        async def busy(key: str) -> None:  # no I/O, re-queued at once (a hot key)
            queue.add(key)

        async def other() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        queue.add("hot")
        worker = asyncio.ensure_future(queue.worker(busy))
        bystander = asyncio.ensure_future(other())
        await asyncio.sleep(0.2)
        worker.cancel()
        bystander.cancel()
        return ticks

    assert asyncio.run(scenario()) >= 5


def test_cluster_clock_runs_time_scale_times_faster():
    clock = ClusterClock(time_scale=60)
    start = clock.now()

    async def nap() -> None:
        await clock.sleep(6)  # 0.1 s real

    asyncio.run(nap())
    elapsed = (clock.now() - start).total_seconds()
    assert 6 <= elapsed < 30
    with pytest.raises(ValueError):
        ClusterClock(0)
