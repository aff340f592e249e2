"""The rollout feed against a real (embedded) API server: list, then watch, then SSE text."""

from __future__ import annotations

import asyncio
import json

from shiplane.kube import KubeClient
from shiplane.web.rollout_feed import RolloutFeed, sse_event, stream_views

NAMESPACE = "feed"
LABELS = {"app": "web"}


def _deployment() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NAMESPACE},
            "spec": {"replicas": 1, "selector": {"matchLabels": LABELS},
                     "template": {"metadata": {"labels": LABELS},
                                  "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}}


def _pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": LABELS},
            "spec": {"containers": [{"name": "web", "image": "web:1"}]}}


def test_sse_event_splits_lines():
    assert sse_event("view", "a\nb") == "event: view\ndata: a\ndata: b\n\n"


def test_feed_sends_the_listed_state_then_each_change(kube_apiserver):
    kubeconfig = kube_apiserver.kubeconfig
    with KubeClient.from_kubeconfig(kubeconfig) as client:
        client.create({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": NAMESPACE}})
        client.create(_deployment(), NAMESPACE)

    def names(objects: dict[str, list[dict]]) -> str:
        return json.dumps({kind: sorted(o["metadata"]["name"] for o in objects[kind])
                           for kind in ("Deployment", "Pod")})

    def create(name: str) -> None:
        with KubeClient.from_kubeconfig(kubeconfig) as client:
            client.create(_pod(name), NAMESPACE)

    async def run() -> list[str]:
        feed = RolloutFeed(kubeconfig, None, NAMESPACE, watch_seconds=1)
        stream = stream_views(feed, names, heartbeat=10)
        seen = [await stream.__anext__()]
        seen.append(await asyncio.wait_for(stream.__anext__(), 20))
        await asyncio.to_thread(create, "web-a")
        seen.append(await asyncio.wait_for(stream.__anext__(), 20))
        await asyncio.sleep(2.5)  # past the watches' server-side timeout: they resumed
        await asyncio.to_thread(create, "web-b")
        seen.append(await asyncio.wait_for(stream.__anext__(), 20))
        await stream.aclose()
        return seen

    retry, listed, first, second = asyncio.run(run())
    assert retry == "retry: 2000\n\n"
    assert listed == sse_event("view", json.dumps({"Deployment": ["web"], "Pod": []}))
    assert json.loads(first.split("data: ", 1)[1])["Pod"] == ["web-a"]
    assert json.loads(second.split("data: ", 1)[1])["Pod"] == ["web-a", "web-b"]
