"""What process a container runs: argv, environment, working directory and user.

Pure functions over the pod spec and the image config (the OCI ``config`` object), with the
kubelet's and containerd's rules:

* argv (k8s docs "Define a Command and Arguments", kuberuntime ``makeContainerCommand``):
  ``command`` replaces the image's Entrypoint *and* Cmd; ``args`` alone replace only Cmd; neither
  keeps Entrypoint + Cmd. ``$(VAR)`` in command and args expands from the container's env.
* env (kubelet_pods.go ``makeEnvironmentVariables``): the container's ``env`` in order, each
  value expanded against the ones defined before it; ``fieldRef`` for the pod's name,
  namespace, uid, IP, node and service account; the runtime puts the image's Env underneath
  (containerd ``WithEnv``: the container's value wins) and ``HOSTNAME`` is the pod's name.
* ``$(VAR)`` expansion (third_party/forked/golang/expansion/expand.go): ``$$`` is a literal
  ``$``, an undefined ``$(VAR)`` stays as written, any other ``$`` is kept.
* workingDir: the container's, else the image's WorkingDir, else ``/``.
* user: ``securityContext.runAsUser``/``runAsGroup`` (container over pod) over the image's User.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.decisions.errors import DecisionInputError

__all__ = ["ContainerProcess", "InvalidContainer", "expand", "process_for"]

Obj = Mapping[str, Any]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class InvalidContainer(DecisionInputError):
    """The container cannot be started: no command, or an env source this runtime lacks."""


@dataclass(frozen=True)
class ContainerProcess:
    argv: tuple[str, ...]
    env: dict[str, str]
    working_dir: str
    user: str  # "uid", "uid:gid", "name" or "name:group" (resolved against the rootfs later)


def expand(text: str, lookup: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end == -1:  # unterminated: kept as written
                out.append(text[i:])
                break
            name = text[i + 2 : end]
            out.append(lookup[name] if name in lookup else text[i : end + 1])
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_FIELD_REFS = {
    "metadata.name": lambda pod, ip: pod["metadata"].get("name", ""),
    "metadata.namespace": lambda pod, ip: pod["metadata"].get("namespace", ""),
    "metadata.uid": lambda pod, ip: pod["metadata"].get("uid", ""),
    "spec.nodeName": lambda pod, ip: pod["spec"].get("nodeName", ""),
    "spec.serviceAccountName": lambda pod, ip: pod["spec"].get("serviceAccountName", ""),
    "status.podIP": lambda pod, ip: ip,
    "status.podIPs": lambda pod, ip: ip,
}


def _field_ref(pod: Obj, pod_ip: str, path: str, name: str) -> str:
    if path.startswith("metadata.labels['") or path.startswith("metadata.annotations['"):
        which = "labels" if path.startswith("metadata.labels") else "annotations"
        key = path.split("['", 1)[1].rstrip("']")
        return str(((pod.get("metadata") or {}).get(which) or {}).get(key, ""))
    getter = _FIELD_REFS.get(path)
    if getter is None:
        raise InvalidContainer(f"env {name}: fieldRef {path!r} is not supported")
    return str(getter(pod, pod_ip))


def _container_env(pod: Obj, container: Obj, pod_ip: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in container.get("envFrom") or []:
        raise InvalidContainer(
            f"container {container.get('name')}: envFrom ({', '.join(item)}) is not supported by "
            "the process runtime")
    for item in container.get("env") or []:
        name = item.get("name", "")
        if "value" in item or "valueFrom" not in item:
            env[name] = expand(str(item.get("value") or ""), env)
            continue
        source = item["valueFrom"] or {}
        if "fieldRef" in source:
            env[name] = _field_ref(pod, pod_ip, source["fieldRef"].get("fieldPath", ""), name)
        else:
            kinds = ", ".join(source) or "nothing"
            raise InvalidContainer(f"env {name}: valueFrom {kinds} is not supported by the "
                                   "process runtime (use value or fieldRef)")
    return env


def _user(pod: Obj, container: Obj, image_user: str) -> str:
    pod_ctx = (pod.get("spec") or {}).get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    uid = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    gid = ctx.get("runAsGroup", pod_ctx.get("runAsGroup"))
    if uid is None and gid is None:
        return image_user
    if uid is None:  # only a group: keep the image's user name/uid
        uid = image_user.partition(":")[0] or "0"
    return f"{uid}:{gid}" if gid is not None else str(uid)


def process_for(pod: Obj, container: Obj, image_config: Obj, pod_ip: str = "") -> ContainerProcess:
    """The process for ``container`` of ``pod`` from ``image_config`` (OCI config's ``config``)."""
    image_env: dict[str, str] = {}
    for item in image_config.get("Env") or []:
        key, _, value = str(item).partition("=")
        image_env[key] = value
    own = _container_env(pod, container, pod_ip)
    env = {"PATH": DEFAULT_PATH, **image_env,
           "HOSTNAME": (pod.get("metadata") or {}).get("name", "")}
    env.update(own)
    command = [expand(str(c), own) for c in container.get("command") or []]
    args = [expand(str(a), own) for a in container.get("args") or []]
    if command:
        argv = command + args
    else:
        entrypoint = [str(x) for x in image_config.get("Entrypoint") or []]
        cmd = args if container.get("args") else [str(x) for x in image_config.get("Cmd") or []]
        argv = entrypoint + cmd
    if not argv:
        raise InvalidContainer(
            f"container {container.get('name')}: no command specified (the image has neither "
            "Entrypoint nor Cmd and the pod gives no command)")
    working_dir = container.get("workingDir") or image_config.get("WorkingDir") or "/"
    return ContainerProcess(tuple(argv), env, working_dir,
                            _user(pod, container, str(image_config.get("User") or "")))
