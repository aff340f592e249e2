"""The root of every error shiplane shows to a user.

Each package defines its own subtree under :class:`ShiplaneError` and converts
errors from libraries at its boundary, so callers only ever catch ours::

    ShiplaneError                     what / why / hint, exit code 1
    ├── UsageError                    bad flags or arguments, exit code 2
    ├── ConfigError                   shiplane.yaml is invalid (config/)
    ├── ScaffoldError                 a repository cannot be generated (scaffold/)
    ├── ChartError                    Helm refused a chart or values (charts/)
    ├── RegistryError                 OCI registry client/server (registry/)
    ├── BuildError                    Dockerfile → image (build/)
    ├── PipelineError                 CI runs, local git server, webhooks (pipeline/)
    ├── ReleaseError                  Model 1 deploy / rollback / history (release/)
    └── ClusterError                  embedded cluster / Kubernetes API (cluster/, kube/)

Packages add their own leaves (``class ManifestInvalid(RegistryError)``) in
their own ``errors`` module; the CLI maps the whole tree to exit codes in one
place (``shiplane.cli.main``).
"""

from __future__ import annotations

__all__ = [
    "BuildError",
    "ChartError",
    "ClusterError",
    "ConfigError",
    "PipelineError",
    "RegistryError",
    "ReleaseError",
    "ScaffoldError",
    "ShiplaneError",
    "UsageError",
]


class ShiplaneError(Exception):
    """An error meant for a person: what went wrong, why, and what to do.

    ``str(error)`` is the one-line message; ``hint`` is optional advice.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(ShiplaneError):
    """The command was called wrongly (bad name, unknown environment, ...)."""

    exit_code = 2


class ConfigError(ShiplaneError):
    """The workspace configuration is invalid."""


class ScaffoldError(ShiplaneError):
    """A repository could not be generated; nothing was written."""


class ChartError(ShiplaneError):
    """Helm refused a chart, a values file or a ``--set`` expression."""


class RegistryError(ShiplaneError):
    """An OCI registry operation failed."""


class BuildError(ShiplaneError):
    """A Dockerfile could not be built into an image."""


class PipelineError(ShiplaneError):
    """A pipeline run, the local git server or a webhook failed."""


class ReleaseError(ShiplaneError):
    """A deploy, rollback or history request for a release failed."""


class ClusterError(ShiplaneError):
    """The embedded cluster or a Kubernetes API call failed."""
