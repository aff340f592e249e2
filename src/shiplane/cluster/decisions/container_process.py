"""What process a container runs: argv, environment, working directory and user.

Pure functions over the pod spec and the image config (the OCI ``config`` object), with the
kubelet's and containerd's rules:

* argv (k8s docs "Define a Command and Arguments", kuberuntime ``makeContainerCommand``):
  ``command`` replaces the image's Entrypoint *and* Cmd; ``args`` alone replace only Cmd; neither
  keeps Entrypoint + Cmd. ``$(VAR)`` in command and args expands from the container's env.
* env (kubelet_pods.go ``makeEnvironmentVariables``): ``envFrom`` first (ConfigMap ``data`` /
  Secret ``data``, each key with the source's ``prefix``; keys that are not valid env var names
  are skipped and named in an ``InvalidEnvironmentVariableNames`` warning), then the container's
  ``env`` in order, overriding, each value expanded against what is defined before it;
  ``fieldRef`` for the pod's name, namespace, uid, IP, node and service account;
  ``configMapKeyRef``/``secretKeyRef``. A missing source or key that is not ``optional`` is the
  kubelet's error (``configmap "x" not found``, ``couldn't find key k in ConfigMap ns/x``); the
  ConfigMaps and Secrets come in ``sources`` (fetched by the caller, ``None``: not found, see
  :func:`env_sources`). The runtime puts the image's Env underneath (containerd ``WithEnv``:
  the container's value wins) and ``HOSTNAME`` is the pod's name.
* ``$(VAR)`` expansion (third_party/forked/golang/expansion/expand.go): ``$$`` is a literal
  ``$``, an undefined ``$(VAR)`` stays as written, any other ``$`` is kept.
* workingDir: the container's, else the image's WorkingDir, else ``/``.
* user: ``securityContext.runAsUser``/``runAsGroup`` (container over pod) over the image's User.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.cluster.decisions.errors import DecisionInputError

__all__ = ["ContainerProcess", "InvalidContainer", "Sources", "env_sources", "expand",
           "process_for", "source_data"]

Obj = Mapping[str, Any]
# ("ConfigMap" | "Secret", name) -> the object, or None when the API said 404
Sources = Mapping[tuple[str, str], "Obj | None"]
# apimachinery validation.IsEnvVarName: envVarNameFmt
_ENV_VAR_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class InvalidContainer(DecisionInputError):
    """The container cannot be started: no command, or an env source this runtime lacks."""


@dataclass(frozen=True)
class ContainerProcess:
    argv: tuple[str, ...]
    env: dict[str, str]
    working_dir: str
    user: str  # "uid", "uid:gid", "name" or "name:group" (resolved against the rootfs later)
    warnings: tuple[str, ...] = ()  # InvalidEnvironmentVariableNames event messages


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


def env_sources(container: Obj) -> set[tuple[str, str]]:
    """The ConfigMaps and Secrets the container's env and envFrom read: ``{(kind, name)}``."""
    refs: set[tuple[str, str]] = set()
    for item in container.get("envFrom") or []:
        if (item.get("configMapRef") or {}).get("name"):
            refs.add(("ConfigMap", item["configMapRef"]["name"]))
        if (item.get("secretRef") or {}).get("name"):
            refs.add(("Secret", item["secretRef"]["name"]))
    for item in container.get("env") or []:
        source = item.get("valueFrom") or {}
        if (source.get("configMapKeyRef") or {}).get("name"):
            refs.add(("ConfigMap", source["configMapKeyRef"]["name"]))
        if (source.get("secretKeyRef") or {}).get("name"):
            refs.add(("Secret", source["secretKeyRef"]["name"]))
    return refs


def source_data(kind: str, obj: Obj) -> dict[str, bytes]:
    """A ConfigMap's ``data`` (+ ``binaryData``) or a Secret's decoded ``data``, as bytes."""
    out: dict[str, bytes] = {}
    if kind == "Secret":
        for key, text in (obj.get("data") or {}).items():
            try:
                out[key] = base64.b64decode(str(text), validate=True)
            except (binascii.Error, ValueError):
                raise InvalidContainer(f"secret {obj.get('metadata', {}).get('name')!r}: "
                                       f"key {key} is not base64") from None
        for key, text in (obj.get("stringData") or {}).items():
            out[key] = str(text).encode()
        return out
    for key, text in (obj.get("binaryData") or {}).items():
        out[key] = base64.b64decode(str(text))
    for key, text in (obj.get("data") or {}).items():
        out[key] = str(text).encode()
    return out


def _lookup(sources: Sources, kind: str, name: str, optional: bool) -> Obj | None:
    """The source object; None when it is missing and optional; else the kubelet's error."""
    obj = sources.get((kind, name))
    if obj is None:
        if optional:
            return None
        # the kubelet's configmap/secret managers: NewNotFound(Resource: "configmap"|"secret")
        raise InvalidContainer(f'{kind.lower()} "{name}" not found')
    return obj


def _env_from(pod: Obj, container: Obj, sources: Sources, env: dict[str, str]) -> list[str]:
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    warnings: list[str] = []
    for item in container.get("envFrom") or []:
        prefix = str(item.get("prefix") or "")
        for kind, field, label in (("ConfigMap", "configMapRef", "configMap"),
                                   ("Secret", "secretRef", "secret")):
            ref = item.get(field)
            if not ref:
                continue
            obj = _lookup(sources, kind, ref.get("name", ""), bool(ref.get("optional")))
            if obj is None:
                continue
            values = ({k: str(v) for k, v in (obj.get("data") or {}).items()} if kind == "ConfigMap"
                      else {k: v.decode(errors="replace")
                            for k, v in source_data(kind, obj).items()})
            invalid = []
            for key, text in values.items():
                key = prefix + key
                if not _ENV_VAR_NAME.fullmatch(key):
                    invalid.append(key)
                    continue
                env[key] = text
            if invalid:
                warnings.append(
                    f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {label} "
                    f"{namespace}/{ref.get('name')} were skipped since they are considered "
                    "invalid environment variable names.")
    return warnings


def _key_ref(pod: Obj, source: Obj, sources: Sources) -> str | None:
    """A configMapKeyRef/secretKeyRef value; None: optional and missing (the var is unset)."""
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    kind, field = (("ConfigMap", "configMapKeyRef") if "configMapKeyRef" in source
                   else ("Secret", "secretKeyRef"))
    ref = source[field] or {}
    name, key, optional = ref.get("name", ""), ref.get("key", ""), bool(ref.get("optional"))
    obj = _lookup(sources, kind, name, optional)
    if obj is None:
        return None
    if kind == "ConfigMap":
        data = obj.get("data") or {}
        found = str(data[key]) if key in data else None
    else:
        raw = source_data(kind, obj)
        found = raw[key].decode(errors="replace") if key in raw else None
    if found is None and not optional:
        raise InvalidContainer(f"couldn't find key {key} in {kind} {namespace}/{name}")
    return found


def _container_env(pod: Obj, container: Obj, pod_ip: str, sources: Sources
                   ) -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    warnings = _env_from(pod, container, sources, env)
    for item in container.get("env") or []:
        name = item.get("name", "")
        if item.get("value") or "valueFrom" not in item:
            env[name] = expand(str(item.get("value") or ""), env)
            continue
        source = item["valueFrom"] or {}
        if "fieldRef" in source:
            env[name] = _field_ref(pod, pod_ip, source["fieldRef"].get("fieldPath", ""), name)
        elif "configMapKeyRef" in source or "secretKeyRef" in source:
            found = _key_ref(pod, source, sources)
            if found is not None:
                env[name] = found
        else:
            kinds = ", ".join(source) or "nothing"
            raise InvalidContainer(f"env {name}: valueFrom {kinds} is not supported by the "
                                   "process runtime (use value, fieldRef, configMapKeyRef or "
                                   "secretKeyRef)")
    return env, warnings


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


def process_for(pod: Obj, container: Obj, image_config: Obj, pod_ip: str = "",
                sources: Sources | None = None) -> ContainerProcess:
    """The process for ``container`` of ``pod`` from ``image_config`` (OCI config's ``config``);
    ``sources``: the ConfigMaps and Secrets of :func:`env_sources` (missing: not found)."""
    image_env: dict[str, str] = {}
    for item in image_config.get("Env") or []:
        key, _, value = str(item).partition("=")
        image_env[key] = value
    own, warnings = _container_env(pod, container, pod_ip, sources or {})
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
                            _user(pod, container, str(image_config.get("User") or "")),
                            tuple(warnings))
