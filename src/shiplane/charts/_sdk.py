"""The boundary to Helm: the only module of shiplane that imports ``helm_python``.

``helm_python`` binds Helm 4's Go SDK (``libhelm_c``) with ctypes, so the same
code Helm runs parses ``--set`` expressions, coalesces values, lints and renders.
Every call goes through :func:`converted`, which turns ``HelmError`` into the
``ChartError`` subtree with the file or expression at fault in the message.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm

from shiplane.charts.errors import (
    ChartError,
    ChartInvalidError,
    ChartNotFoundError,
    ClusterUnreachableError,
    ReleaseCancelledError,
    ReleaseFailedError,
    ReleaseNotFoundError,
    RenderError,
    SetExpressionError,
    ValuesFileError,
)

__all__ = [
    "cancel_context",
    "cluster_config",
    "index_repository",
    "package_chart",
    "pull",
    "push",
    "converted",
    "helm_version",
    "lint",
    "load_chart",
    "parse_set",
    "parse_values_yaml",
    "release_errors",
    "render",
]

# --set flavour -> the helm_python parser that implements it (pkg/strvals/parser.go).
_SET_PARSERS = {
    "set": helm.parse_set_string,
    "set-string": helm.parse_set_string_values,
    "set-json": helm.parse_set_json,
    "set-file": helm.parse_set_file,
    "set-literal": helm.parse_set_literal,
}


@contextlib.contextmanager
def converted(what: str, *, default: type[ChartError] = ChartError) -> Iterator[None]:
    """Convert Helm's errors raised inside the block; ``what`` names the culprit."""
    try:
        yield
    except helm.HelmChartLoadError as error:
        raise ChartNotFoundError(
            f"{what}: not a loadable chart: {error.detail}",
            hint="point at a directory holding Chart.yaml (or a .tgz chart archive)",
        ) from error
    except helm.HelmChartInvalidError as error:
        raise ChartInvalidError(f"{what}: invalid chart: {error.detail}") from error
    except helm.HelmRenderError as error:
        raise RenderError(f"{what}: template failed to render: {error.detail}") from error
    except helm.HelmError as error:
        raise default(f"{what}: {error.detail}") from error


def helm_version() -> str:
    """The version of the Helm Go SDK linked in (e.g. ``v4.2.3``)."""
    return str(helm.helm_sdk_version())


def parse_set(flavour: str, expression: str) -> dict[str, Any]:
    """Parse one ``--<flavour>`` expression with Helm's own strvals parser."""
    parser = _SET_PARSERS[flavour]
    with converted(f"--{flavour} {expression!r}", default=SetExpressionError):
        return parser(expression)


def parse_values_yaml(text: str, source: str) -> dict[str, Any]:
    """Parse a values document as ``-f`` does; ``source`` names it in errors."""
    with converted(source, default=ValuesFileError):
        values = helm.values_from_yaml(text)
    if not isinstance(values, dict):  # pragma: no cover - helm only returns maps
        raise ValuesFileError(f"{source}: a values file must be a YAML mapping")
    return values


def load_chart(path: Path) -> helm.Chart:
    """Load a chart directory or archive (the caller closes it)."""
    if not path.exists():
        raise ChartNotFoundError(f"{path}: no such chart directory or archive")
    with converted(str(path)):
        return helm.Chart.load(path)


def render(
    path: Path, values: dict[str, Any], *, release_name: str, namespace: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """Render offline; returns (template path -> text, coalesced values)."""
    chart = load_chart(path)
    with chart, converted(str(path), default=RenderError):
        effective = chart.merge_values(values)
        rendered = chart.render(values, name=release_name, namespace=namespace)
    return rendered, effective


def lint(path: Path, values: dict[str, Any], *, strict: bool, namespace: str) -> dict[str, Any]:
    """Run ``helm lint`` and return Helm's raw report."""
    if not path.exists():
        raise ChartNotFoundError(f"{path}: no such chart directory")
    with converted(str(path)):
        return helm.lint(path, values, strict=strict, namespace=namespace)


def cluster_config(
    kubeconfig: Path, namespace: str, context: str | None
) -> helm.Config:
    """Helm's action configuration for one cluster and namespace (a context manager)."""
    return helm.Config(kubeconfig_path=kubeconfig, kube_context=context, namespace=namespace)


def cancel_context() -> helm.HelmContext:
    """A cancellation token for install/upgrade (``cancel()`` is thread-safe)."""
    return helm.HelmContext()


@contextlib.contextmanager
def release_errors(what: str) -> Iterator[None]:
    """Convert Helm's errors from release actions into the ReleaseFailedError subtree."""
    try:
        with converted(what, default=ReleaseFailedError):
            yield
    except ReleaseFailedError as error:
        cause = error.__cause__
        if isinstance(cause, helm.HelmNotFoundError):
            raise ReleaseNotFoundError(str(error)) from cause
        # A wait that times out surfaces as a cancelled context ("context deadline exceeded").
        if isinstance(cause, helm.HelmCancelledError) and "deadline exceeded" not in str(error):
            raise ReleaseCancelledError(str(error)) from cause
        if isinstance(cause, helm.HelmKubeError):
            raise ClusterUnreachableError(
                str(error), hint="check the environment's cluster (shiplane cluster status)"
            ) from cause
        raise


def pull(reference: str, destination: Path, *, repo_url: str | None, version: str | None,
         plain_http: bool, username: str | None = None, password: str | None = None,
         insecure: bool = False) -> None:
    """``helm pull --untar``: a chart from an HTTP repository or an ``oci://`` reference.

    Credentials: basic auth on an HTTP repository's ``index.yaml`` and chart archive
    (``helm pull --username --password``); for ``oci://`` a ``helm registry login`` on a
    client of its own (a throw-away credentials file: nothing is written to the user's
    Helm configuration), so the registry's token flow runs with them."""
    with converted(f"helm pull {reference}", default=ChartNotFoundError):
        if reference.startswith("oci://") and (username or password):
            with tempfile.TemporaryDirectory(prefix="helm-registry-") as work, \
                    helm.RegistryClient(plain_http=plain_http,
                                        credentials_file=Path(work) / "config.json") as client:
                host = reference.removeprefix("oci://").split("/", 1)[0]
                client.login(host, username or "", password or "", insecure=insecure,
                             plain_http=plain_http)
                helm.pull(reference, client=client, version=version, untar=True,
                          untar_dir=destination, destination=destination,
                          plain_http=plain_http, insecure_skip_tls_verify=insecure)
            return
        helm.pull(reference, repo_url=repo_url, version=version, untar=True,
                  untar_dir=destination, destination=destination, plain_http=plain_http,
                  insecure_skip_tls_verify=insecure, username=username or None,
                  password=password or None)


def package_chart(path: Path, destination: Path) -> Path:
    """``helm package``: returns the archive path."""
    with converted(f"helm package {path}"):
        return Path(helm.package(path, destination=destination))


def push(archive: Path, remote: str, *, plain_http: bool) -> dict[str, Any]:
    """``helm push ARCHIVE oci://...``."""
    with converted(f"helm push {archive} {remote}"):
        return helm.push(archive, remote, plain_http=plain_http)


def index_repository(directory: Path, base_url: str | None = None) -> dict[str, Any]:
    """``helm repo index``: writes ``directory/index.yaml``."""
    with converted(f"helm repo index {directory}"):
        return helm.repo_index_generate(directory, base_url=base_url)
