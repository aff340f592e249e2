"""Containers as real processes in bubblewrap (the process runtime's engine, containers-lite).

Theory of operation, mirroring a CRI runtime:

* **Pod sandbox** (the pause container): ``bwrap --unshare-net --unshare-ipc --unshare-uts
  --hostname <pod> -- sleep infinity`` on the host's read-only root. Its namespaces are the
  pod's network (only ``lo``), IPC and UTS namespaces; they live as long as the pod, across
  container restarts. :mod:`.pod_network` forwards ``podIP:containerPort`` into that netns.
  A ``hostNetwork`` pod's sandbox keeps the host's network namespace (no ``--unshare-net``).
* **Container**: ``nsenter --net --ipc --uts=<sandbox> [--setuid U --setgid G] -- bwrap
  --unshare-pid --as-pid-1 ... --bind <rootfs> / --proc /proc --dev /dev --chdir <workingDir>
  -- argv``: its own pid and mount namespaces, the image's root filesystem as ``/``, the app as
  PID 1 (so, like in Docker without an init, SIGTERM reaches it only when it handles it).
  ``--ro-bind <rootfs> /`` instead for ``readOnlyRootFilesystem``; the pod's volumes
  (:mod:`.volume_dirs`) are bound over it at their ``mountPath`` s.
  Root containers keep Docker's default capability set; a non-root user (image ``USER`` or
  ``runAsUser``) is set before bubblewrap starts, which then adds a user namespace mapping that
  uid to itself (files it writes belong to that uid on the host, as in the builder's RUN).
* **Logs**: stdout and stderr are read by the event loop and appended to
  ``<dir>/logs/<ns>_<pod>_<uid>/<container>/<restartCount>.log`` in the CRI format
  (:mod:`shiplane.cluster.decisions.container_log`); the two newest instances are kept
  (current and ``--previous``).
* **Stop**: SIGTERM to the app, then SIGKILL when the grace period (cluster clock) ends; the
  exit code is bubblewrap's (the app's, or 128+signal).
* **Cgroups**: a cgroup per container under one kubepods cgroup when the host allows
  (:mod:`.container_cgroups`): CPU shares from the request and a CFS quota from the limit as the
  kubelet sets them, ``resources.limits.memory`` enforced and an OOM kill reported as
  ``OOMKilled``.
* **Usage** (:meth:`BwrapContainers.usage`): CPU and memory of every process of the pod, read
  from ``/proc/<pid>/stat`` (no per-pod cgroup here); see the method.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from shiplane.cluster.decisions.cgroup_resources import CgroupSettings
from shiplane.cluster.decisions.container_log import encode_output
from shiplane.cluster.decisions.container_process import ContainerProcess
from shiplane.cluster.nodes.images import ContentStore
from shiplane.cluster.nodes.container_cgroups import ContainerCgroup, ContainerCgroups
from shiplane.cluster.nodes.pod_network import NetnsDialer, PortForwarder
from shiplane.cluster.nodes.pod_usage import process_tree_usage
from shiplane.cluster.nodes.rootfs import RootfsCache, resolve_user
from shiplane.errors import ClusterError

__all__ = ["BwrapContainers", "ContainerInstance", "PodSandbox", "ProcessRuntimeError"]

log = logging.getLogger(__name__)

# Docker's default capability set (moby oci/caps/defaults.go) minus CAP_MKNOD, as the builder.
_DEFAULT_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                 "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                 "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")


class ProcessRuntimeError(ClusterError):
    """A sandbox or container process could not be started."""


def _which(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ProcessRuntimeError(f"{name} is not installed; the process runtime needs it",
                                  hint="apt-get install bubblewrap util-linux")
    return path


async def _read_info(fd: int) -> dict:
    """bwrap's --info-fd JSON (child-pid); empty when bwrap failed before writing it."""

    def read() -> bytes:
        chunks = []
        while True:
            data = os.read(fd, 4096)
            if not data:
                return b"".join(chunks)
            chunks.append(data)

    try:
        raw = await asyncio.wait_for(asyncio.to_thread(read), 10)
    finally:
        os.close(fd)
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}


def _pidfd_exit(process: subprocess.Popen, on_exit: Callable[[], None]) -> asyncio.Future:
    """A future resolved with the process' return code when it exits (pidfd, no thread)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()
    pidfd = os.pidfd_open(process.pid)

    def ready() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        code = process.wait()
        on_exit()
        if not done.done():
            done.set_result(code)

    loop.add_reader(pidfd, ready)
    return done


@dataclass
class PodSandbox:
    pod_uid: str
    ip: str
    process: subprocess.Popen
    pid: int  # the sandbox's pid on the host: /proc/<pid>/ns/{net,ipc,uts}
    forwarder: PortForwarder
    dialer: NetnsDialer


@dataclass
class ContainerInstance:
    name: str
    container_id: str
    restart_count: int
    process: subprocess.Popen
    pid: int  # the app (PID 1 of the container) on the host
    uid: int
    gid: int
    env: dict[str, str]
    log_path: Path
    cgroup: ContainerCgroup | None = None
    oom_killed: bool = False  # the kernel's OOM killer ended it (memory cgroup counter)
    started: float = field(default_factory=time.monotonic)
    exited: asyncio.Future | None = None  # the return code
    output_done: asyncio.Event = field(default_factory=asyncio.Event)
    stdin: int | None = None  # write end of the app's stdin pipe (spec ``stdin: true``), for attach

    @property
    def running(self) -> bool:
        return self.exited is not None and not self.exited.done()

    async def wait(self) -> int:
        assert self.exited is not None
        code = await asyncio.shield(self.exited)
        await self.output_done.wait()
        return code


class _LogPump:
    """Reads a container's stdout and stderr pipes and appends CRI records to its log file."""

    def __init__(self, path: Path, fds: dict[str, int], done: asyncio.Event) -> None:
        self.file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed when both pipes end
        self.pending = {stream: b"" for stream in fds}
        self.open = dict(fds)
        self.done = done
        loop = asyncio.get_running_loop()
        for stream, fd in fds.items():
            os.set_blocking(fd, False)
            loop.add_reader(fd, self._readable, stream)

    def _readable(self, stream: str) -> None:
        fd = self.open[stream]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        now = datetime.now(timezone.utc)
        out, self.pending[stream] = encode_output(self.pending[stream], data, stream, now,
                                                  final=not data)
        if out:
            self.file.write(out)
        if not data:
            asyncio.get_running_loop().remove_reader(fd)
            os.close(fd)
            del self.open[stream]
            if not self.open:
                self.file.close()
                self.done.set()


class BwrapContainers:
    """Starts sandboxes and containers for the process-runtime nodes of one control plane."""

    name = "process"

    def __init__(self, directory: Path, content: ContentStore) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o711)
        self.rootfs = RootfsCache(directory, content)
        self.cgroups = ContainerCgroups()
        self.bwrap = _which("bwrap")
        self.nsenter = _which("nsenter")
        self.sleep = _which("sleep")
        self.sh = _which("sh")
        self.sandboxes: dict[str, PodSandbox] = {}
        self.instances: dict[str, dict[str, ContainerInstance]] = {}  # pod uid -> name -> live
        # (pod uid, sampler) -> (cpu seconds, monotonic time) of that sampler's previous call
        self._cpu_samples: dict[tuple[str, str], tuple[float, float]] = {}

    # ------------------------------------------------------------------ sandbox
    async def create_sandbox(self, pod: dict, ip: str, forwarder: PortForwarder) -> PodSandbox:
        uid = pod["metadata"]["uid"]
        hostname = pod["metadata"]["name"][:63]
        read_fd, write_fd = os.pipe()
        # hostNetwork: the host's network namespace (no forwarding; probes dial it the same way)
        network = [] if pod["spec"].get("hostNetwork") else ["--unshare-net"]
        command = [self.bwrap, "--die-with-parent", *network, "--unshare-ipc",
                   "--unshare-uts", "--hostname", hostname, "--ro-bind", "/", "/",
                   "--info-fd", str(write_fd), "--", self.sleep, "infinity"]
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       pass_fds=(write_fd,))
        except OSError as exc:
            os.close(read_fd)
            raise ProcessRuntimeError(f"cannot start the pod sandbox: {exc}") from None
        finally:
            os.close(write_fd)
        info = await _read_info(read_fd)
        if "child-pid" not in info:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            process.kill()
            raise ProcessRuntimeError(f"the pod sandbox did not start: {error.strip()}")
        dialer = NetnsDialer(int(info["child-pid"]))
        await forwarder.start(dialer)
        sandbox = PodSandbox(uid, ip, process, int(info["child-pid"]), forwarder, dialer)
        self.sandboxes[uid] = sandbox
        return sandbox

    async def remove_sandbox(self, pod_uid: str) -> None:
        sandbox = self.sandboxes.pop(pod_uid, None)
        instances = list((self.instances.pop(pod_uid, None) or {}).values())
        for instance in instances:
            with contextlib.suppress(ProcessLookupError):
                os.kill(instance.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                instance.process.kill()
        if sandbox is not None:
            await sandbox.forwarder.close()
            sandbox.dialer.close()
            with contextlib.suppress(ProcessLookupError):
                sandbox.process.kill()
            await asyncio.to_thread(sandbox.process.wait)
            if sandbox.process.stderr is not None:
                sandbox.process.stderr.close()
        for instance in instances:
            self.cgroups.remove(instance.cgroup)
        for key in [k for k in self._cpu_samples if k[0] == pod_uid]:
            del self._cpu_samples[key]
        await asyncio.to_thread(self.rootfs.remove_pod, pod_uid)

    def close(self) -> None:
        """Remove the cgroups (call after every sandbox is removed)."""
        self.cgroups.close()

    # ------------------------------------------------------------------ containers
    def log_dir(self, pod: dict, container: str) -> Path:
        meta = pod["metadata"]
        return (self.directory / "logs" / f"{meta['namespace']}_{meta['name']}_{meta['uid']}"
                / container)

    async def start_container(self, pod: dict, sandbox: PodSandbox, rootfs: Path,
                              spec: ContainerProcess, name: str, restart_count: int,
                              cgroup_settings: CgroupSettings | None = None, *,
                              binds: Sequence[str] = (), read_only_root: bool = False,
                              stdin: bool = False) -> ContainerInstance:
        """``cgroup_settings``: CPU shares/quota and memory limit (from the container's
        resources); ``binds``: the volume mounts' bwrap options (:func:`.volume_dirs.bind_args`);
        ``read_only_root``: the root filesystem is mounted read-only (``--ro-bind``);
        ``stdin``: the app's stdin is a pipe kept open for ``pods/attach`` (else /dev/null)."""
        uid, gid = resolve_user(rootfs, spec.user)
        folder = self.log_dir(pod, name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{restart_count - 2}.log").unlink(missing_ok=True)  # keep current + previous
        log_path = folder / f"{restart_count}.log"
        enter = [self.nsenter, f"--net=/proc/{sandbox.pid}/ns/net",
                 f"--ipc=/proc/{sandbox.pid}/ns/ipc", f"--uts=/proc/{sandbox.pid}/ns/uts"]
        read_fd, write_fd = os.pipe()
        wrap = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--as-pid-1",
                "--unshare-cgroup-try"]
        if uid != 0:
            enter += ["--setgid", str(gid), "--setuid", str(uid)]
            wrap += ["--unshare-user", "--uid", str(uid), "--gid", str(gid)]
        else:
            wrap += ["--cap-drop", "ALL"]
            for cap in _DEFAULT_CAPS:
                wrap += ["--cap-add", cap]
        if read_only_root:  # bwrap cannot create mount points on a read-only root
            for point in ("proc", "dev"):
                (rootfs / point).mkdir(exist_ok=True)
        wrap += ["--ro-bind" if read_only_root else "--bind", str(rootfs), "/",
                 "--proc", "/proc", "--dev", "/dev", *binds,
                 "--chdir", spec.working_dir, "--info-fd", str(write_fd), "--", *spec.argv]
        env = dict(spec.env)
        env.setdefault("HOME", "/root" if uid == 0 else "/")
        cgroup = self.cgroups.create(
            f"shiplane-{pod['metadata']['uid']}-{name}-{restart_count}",
            cgroup_settings or CgroupSettings())
        # join the container's cgroup(s), then become the container
        join = self.cgroups.join_command(self.sh, cgroup)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe() if stdin else (subprocess.DEVNULL, None)
        try:
            process = subprocess.Popen([*join, *enter, "--", *wrap], env=env,
                                       stdin=in_r,
                                       stdout=out_w, stderr=err_w, pass_fds=(write_fd,))
        except OSError as exc:
            for fd in (read_fd, out_r, err_r, in_w):
                if fd is not None:
                    os.close(fd)
            raise ProcessRuntimeError(f"cannot start container {name}: {exc}") from None
        finally:
            for fd in (write_fd, out_w, err_w, in_r if stdin else None):
                if fd is not None:
                    os.close(fd)
        cid = f"shiplane://{pod['metadata']['uid'].replace('-', '')[:16]}-{name}-{restart_count}"
        instance = ContainerInstance(name, cid, restart_count, process, process.pid, uid, gid,
                                     env, log_path, cgroup, stdin=in_w)
        _LogPump(log_path, {"stdout": out_r, "stderr": err_r}, instance.output_done)

        def exited() -> None:
            if instance.stdin is not None:
                with contextlib.suppress(OSError):
                    os.close(instance.stdin)
                instance.stdin = None
            instance.oom_killed = self.cgroups.oom_killed(cgroup)
            self.cgroups.remove(cgroup)  # retried with the sandbox if processes linger

        instance.exited = _pidfd_exit(process, exited)
        info = await _read_info(read_fd)
        instance.pid = int(info.get("child-pid") or process.pid)
        self.instances.setdefault(pod["metadata"]["uid"], {})[name] = instance
        return instance

    async def stop_container(self, instance: ContainerInstance, grace_seconds: float,
                             sleep) -> int:
        """SIGTERM, ``sleep(grace_seconds)`` at most (the cluster clock's), then SIGKILL."""
        if instance.running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(instance.pid, signal.SIGTERM)
            waiter = asyncio.ensure_future(instance.wait())
            timer = asyncio.ensure_future(sleep(grace_seconds))
            await asyncio.wait([waiter, timer], return_when=asyncio.FIRST_COMPLETED)
            timer.cancel()
            if not waiter.done():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(instance.pid, signal.SIGKILL)
            return await waiter
        return await instance.wait()

    async def exec_in(self, instance: ContainerInstance, argv: list[str], timeout: float
                      ) -> tuple[int | None, bytes]:
        """Run ``argv`` in the container's namespaces (an exec probe or hook); None: timed out."""
        command = [self.nsenter, "-t", str(instance.pid), "-m", "-u", "-i", "-n", "-p", "-r",
                   "-w"]
        if instance.uid != 0:
            command += ["-S", str(instance.uid), "-G", str(instance.gid)]
        command += ["--", *argv]
        process = await asyncio.create_subprocess_exec(
            *command, env=instance.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            return None, b""
        return process.returncode, output

    # ------------------------------------------------------------------ usage
    def usage(self, pod: dict, sampler: str = "default") -> dict[str, int]:
        """``{"cpu_millicores", "memory_bytes"}`` of every process of ``pod`` (its containers
        and their children; the sandbox's ``sleep`` is not counted).

        CPU is the CPU time used since the previous call by the same ``sampler`` divided by the
        wall time since then (since the oldest container started, on the first call), in
        millicores — each sampler (the metrics reporter, a test) has its own window; memory is the
        sum of resident set sizes. Both are 0 for a pod without live processes. Cheap enough
        to call every few seconds (one pass over ``/proc``)."""
        uid = pod["metadata"]["uid"] if "metadata" in pod else pod["uid"]
        roots = [i.process.pid for i in (self.instances.get(uid) or {}).values() if i.running]
        if not roots:
            return {"cpu_millicores": 0, "memory_bytes": 0}
        cpu_seconds, rss = process_tree_usage(roots)
        now = time.monotonic()
        previous = self._cpu_samples.get((uid, sampler))
        if previous is None:
            started = min(i.started for i in self.instances[uid].values())
            previous = (0.0, started)
        self._cpu_samples[(uid, sampler)] = (cpu_seconds, now)
        elapsed = max(now - previous[1], 1e-3)
        millicores = max(0.0, cpu_seconds - previous[0]) / elapsed * 1000
        return {"cpu_millicores": int(round(millicores)), "memory_bytes": rss}
