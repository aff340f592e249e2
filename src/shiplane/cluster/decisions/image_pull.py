"""The kubelet's image decision (k8s pkg/kubelet/images/image_manager.go EnsureImageExists,
pkg/apis/core/v1/defaults.go for the default pull policy) and the simulated pull duration.

Theory of operation: for each container the kubelet calls :func:`decide_pull` with whether the
node has the image. The answer is to use the cached image, to pull, or to wait (Never policy
with no image, or inside the back-off window after a failed pull), with the events and waiting
reason upstream records. After a real pull the kubelet reports with :func:`pull_succeeded` or
:func:`pull_failed` (which advances the back-off: 10 s doubling to 300 s).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shiplane.cluster.decisions.backoff import Backoff, image_backoff_key
from shiplane.cluster.decisions.clock import format_go_duration
from shiplane.cluster.decisions.events import Event

__all__ = [
    "PullDecision",
    "apply_default_tag",
    "decide_pull",
    "default_pull_policy",
    "pull_duration",
    "pull_failed",
    "pull_succeeded",
]

# docker/distribution reference grammar, simplified: [host[:port]/]path[:tag][@digest]
_REFERENCE = re.compile(
    r"^(?:(?P<host>[a-zA-Z0-9.-]+(?::\d+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[a-z0-9]+:[a-fA-F0-9]{32,}))?$"
)


def _parts(image: str) -> re.Match | None:
    match = _REFERENCE.match(image)
    if match and match.group("host"):
        host = match.group("host")
        # a first component without "." or ":" (and not localhost) is a path: lowercase only
        if "." not in host and ":" not in host and host != "localhost" and host != host.lower():
            return None
    return match


def apply_default_tag(image: str) -> str | None:
    """applyDefaultImageTag: add ":latest" when there is neither tag nor digest; None if invalid."""
    match = _parts(image)
    if match is None:
        return None
    if match.group("tag") is None and match.group("digest") is None:
        return image + ":latest"
    return image


def default_pull_policy(image: str) -> str:
    """SetDefaults_Container: Always for ":latest" or no tag (unless a digest), else
    IfNotPresent."""
    match = _parts(image)
    if match is None:
        return "IfNotPresent"
    tag, digest = match.group("tag"), match.group("digest")
    if digest is None and (tag is None or tag == "latest"):
        return "Always"
    return "IfNotPresent"


@dataclass(frozen=True)
class PullDecision:
    action: str  # "use-cache" | "pull" | "wait"
    events: tuple[Event, ...] = ()
    waiting_reason: str | None = None  # ErrImageNeverPull | ImagePullBackOff | InvalidImageName
    message: str = ""


def decide_pull(
    image: str, policy: str | None, present: bool, backoff: Backoff, pod_uid: str, now
) -> PullDecision:
    """EnsureImageExists up to the pull itself."""
    if apply_default_tag(image) is None:
        msg = (
            f'Failed to apply default image tag "{image}": '
            f'couldn\'t parse image name "{image}": invalid reference format'
        )
        return PullDecision(
            "wait", (Event("Warning", "InspectFailed", msg),), "InvalidImageName", msg
        )
    policy = policy or default_pull_policy(image)
    should_pull = policy == "Always" or (policy == "IfNotPresent" and not present)
    if not should_pull:
        if present:
            msg = f'Container image "{image}" already present on machine'
            return PullDecision("use-cache", (Event("Normal", "Pulled", msg),))
        msg = f'Container image "{image}" is not present with pull policy of Never'
        return PullDecision(
            "wait", (Event("Warning", "ErrImageNeverPull", msg),), "ErrImageNeverPull", msg
        )
    if backoff.in_backoff_since_update(image_backoff_key(pod_uid, image), now):
        msg = f'Back-off pulling image "{image}"'
        return PullDecision(
            "wait",
            (
                Event("Normal", "BackOff", msg),
                Event("Warning", "Failed", "Error: ImagePullBackOff"),
            ),
            "ImagePullBackOff",
            msg,
        )
    return PullDecision("pull", (Event("Normal", "Pulling", f'Pulling image "{image}"'),))


def pull_succeeded(image: str, pull_seconds: float, total_seconds: float, size_bytes: int) -> Event:
    """The Pulled event; durations truncated to milliseconds as upstream does."""
    pull = format_go_duration(int(pull_seconds * 1000) / 1000)
    total = format_go_duration(int(total_seconds * 1000) / 1000)
    return Event(
        "Normal",
        "Pulled",
        f'Successfully pulled image "{image}" in {pull} ({total} including waiting). '
        f"Image size: {size_bytes} bytes.",
    )


def pull_failed(
    image: str, error: str, backoff: Backoff, pod_uid: str, now
) -> tuple[Backoff, tuple[Event, ...], str, str]:
    """A failed pull: (new back-off, events, waiting reason ErrImagePull, waiting message)."""
    backoff = backoff.next(image_backoff_key(pod_uid, image), now)
    events = (
        Event("Warning", "Failed", f'Failed to pull image "{image}": {error}'),
        Event("Warning", "Failed", "Error: ErrImagePull"),
    )
    return backoff, events, "ErrImagePull", error


def pull_duration(
    layer_sizes: Iterable[int],
    bandwidth_bytes_per_second: float,
    *,
    cached_layers: Iterable[int] = (),
    per_layer_seconds: float = 0.0,
) -> float:
    """Simulated pull time: bytes still missing on the node over its bandwidth, plus a fixed cost
    per fetched layer. ``cached_layers`` are the indexes of layers already in the content store."""
    if bandwidth_bytes_per_second <= 0:
        raise ValueError("bandwidth must be positive")
    cached = set(cached_layers)
    missing = [size for i, size in enumerate(layer_sizes) if i not in cached]
    return sum(missing) / bandwidth_bytes_per_second + per_layer_seconds * len(missing)
