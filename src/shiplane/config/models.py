"""Typed workspace configuration: the schema of ``shiplane.yaml``.

A workspace names its environments (dev, staging, prod by default) and, for
each, where images go (the embedded registry or a real one such as ECR), which
cluster runs them (the embedded cluster or a kubeconfig context such as EKS)
and the namespace. Models are frozen and refuse unknown keys, so a typo is an
error rather than a silently ignored setting.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DEFAULT_ENVIRONMENTS",
    "EMBEDDED",
    "ClusterTarget",
    "Environment",
    "RegistryTarget",
    "Workspace",
    "is_dns1123_label",
]

EMBEDDED = "embedded"
DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")

# k8s.io/apimachinery/pkg/util/validation IsDNS1123Label: at most 63 characters.
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# ECR registry hosts: <account>.dkr.ecr.<region>.amazonaws.com[.cn]
_ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1123_LABEL.match(value))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryTarget(_Model):
    """Where an environment's images are pushed and pulled from."""

    url: str = Field(default=EMBEDDED, description="'embedded' or a registry host[:port][/prefix]")
    insecure: bool = Field(default=False, description="plain HTTP (only for loopback registries)")

    @field_validator("url")
    @classmethod
    def _no_scheme(cls, value: str) -> str:
        if "://" in value:
            raise ValueError("give the registry host without a scheme, e.g. 'registry.example.com'")
        if not value.strip():
            raise ValueError("must not be empty")
        return value.rstrip("/")

    @property
    def is_embedded(self) -> bool:
        return self.url == EMBEDDED

    @property
    def ecr_region(self) -> str | None:
        """The AWS region when the registry is ECR (credentials come from boto3)."""
        match = _ECR_HOST.match(self.url.split("/", 1)[0])
        return match.group(3) if match else None


class ClusterTarget(_Model):
    """The cluster an environment deploys to."""

    name: str = Field(default="default", description="embedded cluster name")
    kubeconfig: Path | None = Field(default=None, description="path of a kubeconfig file")
    context: str | None = Field(default=None, description="context in that kubeconfig")

    @property
    def is_embedded(self) -> bool:
        return self.kubeconfig is None and self.context is None


class Environment(_Model):
    registry: RegistryTarget = RegistryTarget()
    cluster: ClusterTarget = ClusterTarget()
    namespace: str | None = Field(default=None, description="defaults to the environment name")

    @field_validator("registry", mode="before")
    @classmethod
    def _registry_shorthand(cls, value: object) -> object:
        return {"url": value} if isinstance(value, str) else value

    @field_validator("cluster", mode="before")
    @classmethod
    def _cluster_shorthand(cls, value: object) -> object:
        if value == EMBEDDED:
            return {}
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace_is_label(cls, value: str | None) -> str | None:
        if value is not None and not is_dns1123_label(value):
            raise ValueError(f"{value!r} is not a valid namespace (a DNS-1123 label)")
        return value


def _default_environments() -> dict[str, Environment]:
    return {name: Environment() for name in DEFAULT_ENVIRONMENTS}


class Workspace(_Model):
    """The whole ``shiplane.yaml``."""

    version: Literal[1] = 1
    state_dir: Path = Field(default=Path(".shiplane"), description="embedded stack state")
    environments: dict[str, Environment] = Field(default_factory=_default_environments)

    @model_validator(mode="after")
    def _environment_names(self) -> Workspace:
        for name in self.environments:
            if not is_dns1123_label(name):
                raise ValueError(f"environment name {name!r} is not a DNS-1123 label")
        if not self.environments:
            raise ValueError("at least one environment is needed")
        return self

    def environment(self, name: str) -> Environment:
        """The named environment; ``KeyError`` names the known ones."""
        try:
            return self.environments[name]
        except KeyError:
            raise KeyError(name) from None

    def namespace_for(self, env: str) -> str:
        return self.environment(env).namespace or env
