"""What a simulated container does, declared on the pod so failed rollouts can be rehearsed.

Pod annotations (apply to every container; add ``.<container-name>`` to the key to target one
container, e.g. ``sim.shiplane.dev/exit-after.web``)::

    sim.shiplane.dev/start-delay         seconds from ContainerCreating to Running (default 0)
    sim.shiplane.dev/exit-after          seconds after each start at which the process exits
    sim.shiplane.dev/exit-code           exit code of that exit (default 1; 0 = Completed)
    sim.shiplane.dev/readiness-fail-for  readiness probe fails for N seconds after each start,
                                         or "always"
    sim.shiplane.dev/liveness-fail-after liveness probe fails from N seconds after each start
    sim.shiplane.dev/startup-fail-for    startup probe fails for N seconds, or "always"
    sim.shiplane.dev/cpu-millicores      reported CPU usage (metrics for the HPA)
    sim.shiplane.dev/memory-bytes        reported memory usage

The same settings can be given as container env vars named ``SHIPLANE_SIM_`` + the upper-cased
key with ``-`` as ``_`` (``SHIPLANE_SIM_EXIT_AFTER=30``); annotations win over env. Values are
seconds as plain numbers or Go-style durations (``30s``, ``2m``, ``1m30s``). A container with no
probes and no settings starts at once and runs forever, always ready.

Run-to-completion pods (a Job's, a hook Pod): with ``restartPolicy: Never`` or ``OnFailure``, a
container that exits with code 0 is not restarted and the pod reaches phase ``Succeeded``
(``Never`` + a non-zero code: ``Failed``; ``OnFailure`` + non-zero: restarted with back-off, each
restart counting against the Job's backoffLimit). So a Job completes when its pod template
carries, for instance::

    metadata:
      annotations:
        sim.shiplane.dev/exit-after: "1"     # the task takes one second
        sim.shiplane.dev/exit-code: "0"      # and succeeds ("1": it fails)

The Job controller copies the template's annotations onto every pod it creates, so nothing else
is needed; a template without ``exit-after`` gives pods that run until the Job's
activeDeadlineSeconds (or a deletion) stops them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.decisions.errors import DecisionInputError

__all__ = ["ANNOTATION_PREFIX", "ContainerBehaviour", "behaviour_for", "parse_seconds"]

ANNOTATION_PREFIX = "sim.shiplane.dev/"
ENV_PREFIX = "SHIPLANE_SIM_"
ALWAYS = float("inf")
_FIELDS = (
    "start-delay",
    "exit-after",
    "exit-code",
    "readiness-fail-for",
    "liveness-fail-after",
    "startup-fail-for",
    "cpu-millicores",
    "memory-bytes",
)
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


class InvalidBehaviour(DecisionInputError):
    """A sim.shiplane.dev annotation or SHIPLANE_SIM_ env value cannot be read."""


def parse_seconds(raw: str, *, key: str = "", allow_always: bool = False) -> float:
    text = str(raw).strip()
    if allow_always and text == "always":
        return ALWAYS
    try:
        return float(text)
    except ValueError:
        pass
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groups()):
        raise InvalidBehaviour(
            f"{key or 'value'}: {raw!r} is not a number of seconds or a duration like 30s, 2m",
            hint="see the sim.shiplane.dev annotations in shiplane.cluster.decisions.sim_behaviour",
        )
    h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s


@dataclass(frozen=True)
class ContainerBehaviour:
    start_delay: float = 0.0
    exit_after: float | None = None
    exit_code: int = 1
    readiness_fail_for: float = 0.0
    liveness_fail_after: float | None = None
    startup_fail_for: float = 0.0
    cpu_millicores: int = 0
    memory_bytes: int = 0

    def exits_at(self) -> float | None:
        """Seconds after start when the process exits (None: runs until killed)."""
        return self.exit_after

    def readiness_ok(self, seconds_since_start: float) -> bool:
        return seconds_since_start >= self.readiness_fail_for

    def liveness_ok(self, seconds_since_start: float) -> bool:
        return self.liveness_fail_after is None or seconds_since_start < self.liveness_fail_after

    def startup_ok(self, seconds_since_start: float) -> bool:
        return seconds_since_start >= self.startup_fail_for


def _settings(pod: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for env in container.get("env") or []:
        name = env.get("name", "")
        if name.startswith(ENV_PREFIX) and "value" in env:
            key = name[len(ENV_PREFIX) :].lower().replace("_", "-")
            found[key] = env["value"]
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    for key, val in annotations.items():
        if key.startswith(ANNOTATION_PREFIX) and "." not in key[len(ANNOTATION_PREFIX) :]:
            found[key[len(ANNOTATION_PREFIX) :]] = val
    suffix = "." + container.get("name", "")
    for key, val in annotations.items():
        if key.startswith(ANNOTATION_PREFIX) and key.endswith(suffix):
            found[key[len(ANNOTATION_PREFIX) : -len(suffix)]] = val
    unknown = sorted(set(found) - set(_FIELDS))
    if unknown:
        raise InvalidBehaviour(
            f"unknown simulated-container setting(s): {', '.join(unknown)}",
            hint=f"known settings: {', '.join(_FIELDS)}",
        )
    return found


def behaviour_for(pod: Mapping[str, Any], container: Mapping[str, Any]) -> ContainerBehaviour:
    """The behaviour of ``container`` in ``pod`` from annotations and env."""
    s = _settings(pod, container)

    def seconds(key: str, default: float | None, always: bool = False) -> float | None:
        return parse_seconds(s[key], key=key, allow_always=always) if key in s else default

    def integer(key: str, default: int) -> int:
        if key not in s:
            return default
        try:
            return int(s[key])
        except ValueError:
            raise InvalidBehaviour(f"{key}: {s[key]!r} is not an integer") from None

    return ContainerBehaviour(
        start_delay=seconds("start-delay", 0.0) or 0.0,
        exit_after=seconds("exit-after", None),
        exit_code=integer("exit-code", 1),
        readiness_fail_for=seconds("readiness-fail-for", 0.0, True) or 0.0,
        liveness_fail_after=seconds("liveness-fail-after", None),
        startup_fail_for=seconds("startup-fail-for", 0.0, True) or 0.0,
        cpu_millicores=integer("cpu-millicores", 0),
        memory_bytes=integer("memory-bytes", 0),
    )
