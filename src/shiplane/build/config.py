"""The image configuration a Dockerfile builds up, as immutable data.

:class:`ImageConfig` mirrors the ``config`` object of the OCI image config (image-spec
config.md: User, ExposedPorts, Env, Entrypoint, Cmd, Volumes, WorkingDir, Labels, StopSignal)
plus Docker's Healthcheck and the builder-only SHELL. :class:`BaseImage` is a pulled image as
the planner sees it: reference, manifest digest, config JSON and layer descriptors.
"""

from __future__ import annotations

import json
import platform as _platform
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "BaseImage",
    "DEFAULT_PATH",
    "HOST_PLATFORM",
    "ImageConfig",
    "Platform",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm"}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")


HOST_PLATFORM = Platform("linux", _ARCH.get(_platform.machine(), _platform.machine()))


@dataclass(frozen=True)
class BaseImage:
    """A pulled base image: what FROM and COPY --from=<image> need to plan and build."""

    reference: str
    digest: str  # manifest digest
    config: Mapping[str, Any]  # full image config JSON
    layers: tuple[Mapping[str, Any], ...]  # manifest layer descriptors


@dataclass(frozen=True)
class ImageConfig:
    env: tuple[tuple[str, str], ...] = ()
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    workdir: str = ""
    user: str = ""
    exposed_ports: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    volumes: tuple[str, ...] = ()
    stop_signal: str = ""
    healthcheck: str = ""  # canonical JSON of Docker's Healthcheck object, "" when unset
    shell: tuple[str, ...] = ("/bin/sh", "-c")
    author: str = ""
    extra: str = field(default="{}")  # unknown base-config keys, kept verbatim (JSON)

    # -- derived views -------------------------------------------------------------------
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)

    def with_env(self, pairs: Mapping[str, str]) -> ImageConfig:
        merged = dict(self.env)
        merged.update(pairs)
        return replace(self, env=tuple(merged.items()))

    def with_labels(self, pairs: Mapping[str, str]) -> ImageConfig:
        merged = dict(self.labels)
        merged.update(pairs)
        return replace(self, labels=tuple(merged.items()))

    # -- OCI JSON ------------------------------------------------------------------------
    def to_oci(self) -> dict[str, Any]:
        """The ``config`` object, keys in a fixed order (the bytes must be reproducible)."""
        out: dict[str, Any] = dict(json.loads(self.extra))
        if self.user:
            out["User"] = self.user
        if self.exposed_ports:
            out["ExposedPorts"] = {port: {} for port in sorted(self.exposed_ports)}
        if self.env:
            out["Env"] = [f"{k}={v}" for k, v in self.env]
        if self.entrypoint is not None:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.volumes:
            out["Volumes"] = {v: {} for v in sorted(self.volumes)}
        if self.workdir:
            out["WorkingDir"] = self.workdir
        if self.labels:
            out["Labels"] = dict(sorted(self.labels))
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        if self.healthcheck:
            out["Healthcheck"] = json.loads(self.healthcheck)
        if self.shell != ("/bin/sh", "-c"):
            out["Shell"] = list(self.shell)
        return out

    @classmethod
    def from_oci(cls, config: Mapping[str, Any] | None) -> ImageConfig:
        config = dict(config or {})
        env: list[tuple[str, str]] = []
        for item in config.pop("Env", None) or []:
            key, _, value = str(item).partition("=")
            env.append((key, value))
        health = config.pop("Healthcheck", None)
        shell = config.pop("Shell", None)
        known = cls(
            env=tuple(env),
            cmd=tuple(config.pop("Cmd")) if config.get("Cmd") is not None else None,
            entrypoint=(
                tuple(config.pop("Entrypoint")) if config.get("Entrypoint") is not None else None
            ),
            workdir=config.pop("WorkingDir", "") or "",
            user=config.pop("User", "") or "",
            exposed_ports=tuple(sorted((config.pop("ExposedPorts", None) or {}).keys())),
            labels=tuple(sorted((config.pop("Labels", None) or {}).items())),
            volumes=tuple(sorted((config.pop("Volumes", None) or {}).keys())),
            stop_signal=config.pop("StopSignal", "") or "",
            healthcheck=json.dumps(health, sort_keys=True) if health else "",
            shell=tuple(shell) if shell else ("/bin/sh", "-c"),
        )
        config.pop("Cmd", None)
        config.pop("Entrypoint", None)
        return replace(known, extra=json.dumps(config, sort_keys=True))
