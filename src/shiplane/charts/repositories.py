"""Charts from Helm repositories: ``helm pull`` (HTTP repository with ``index.yaml``, or an
``oci://`` registry), ``helm package``, ``helm push`` and ``helm repo index``, through the
Helm SDK (``_sdk``).

``pull_chart`` untars into ``destination/<name>`` and returns that directory with the
version Helm resolved (a constraint such as ``>=1.0`` or ``*`` picks the highest match,
as ``helm pull --version`` does). Plain HTTP is used for loopback registries (the
embedded registry), TLS elsewhere.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from shiplane.charts import _sdk
from shiplane.charts.errors import ChartNotFoundError

__all__ = ["index_repository", "package_chart", "pull_chart", "push_chart"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _loopback(reference: str) -> bool:
    host = urlsplit(reference if "://" in reference else f"oci://{reference}").hostname
    return host in _LOOPBACK


def pull_chart(repo_url: str, chart: str, version: str | None, destination: Path, *,
               username: str | None = None, password: str | None = None,
               insecure: bool = False) -> tuple[Path, str]:
    """Pull ``chart`` at ``version`` from ``repo_url`` (HTTP(S) repository or ``oci://``);
    returns (chart directory, resolved version). ``username``/``password``: basic auth
    on an HTTP repository, a registry login for ``oci://``."""
    destination.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pull-", dir=destination))
    try:
        if repo_url.startswith("oci://"):
            reference = f"{repo_url.rstrip('/')}/{chart}"
            _sdk.pull(reference, work, repo_url=None, version=version or None,
                      plain_http=_loopback(repo_url), username=username,
                      password=password, insecure=insecure)
        else:
            _sdk.pull(chart, work, repo_url=repo_url, version=version or None,
                      plain_http=False, username=username, password=password,
                      insecure=insecure)
        pulled = work / chart
        if not (pulled / "Chart.yaml").is_file():
            raise ChartNotFoundError(f"helm pull {chart} from {repo_url} gave no chart "
                                     f"directory {chart}/")
        resolved = str(yaml.safe_load((pulled / "Chart.yaml").read_text())["version"])
        target = destination / f"{chart}-{resolved}"
        if not target.exists():
            pulled.rename(target)
        return target, resolved
    finally:
        shutil.rmtree(work, ignore_errors=True)


def package_chart(chart_dir: Path, destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    return _sdk.package_chart(chart_dir, destination)


def push_chart(archive: Path, remote: str) -> None:
    """``helm push ARCHIVE oci://host/path``."""
    _sdk.push(archive, remote, plain_http=_loopback(remote))


def index_repository(directory: Path, base_url: str | None = None) -> Path:
    """Write ``directory/index.yaml`` for the ``.tgz`` archives in it."""
    _sdk.index_repository(directory, base_url)
    return directory / "index.yaml"
