"""Repository credentials from Secrets, as Argo CD reads them.

Argo CD keeps repositories in Secrets of its namespace labelled
``argocd.argoproj.io/secret-type`` (argo-cd ``util/db/repository_secrets.go``,
``docs/operator-manual/declarative-setup.md``):

* ``repository``: one repository; ``data.url`` is compared with the source's
  ``repoURL`` after normalising both (``git.SameURL``: lower case, no ``.git``
  suffix) — here also without a trailing ``/`` and without the ``oci://`` scheme, so
  a Helm OCI repository written ``registry.example.com/charts`` with ``enableOCI: "true"``
  (Argo CD's Helm-OCI form) matches ``repoURL: oci://registry.example.com/charts``.
  A Secret with a ``project`` is scoped to that AppProject and preferred for it; one
  without serves every project.
* ``repo-creds``: a credential template; its ``url`` is a prefix, the longest one
  that prefixes the repoURL wins (``getRepositoryCredentialIndex``). A ``repository``
  Secret without username/password takes its credentials from the template
  (``enrichCredsToRepo``).

Keys read: ``url``, ``username``, ``password``, ``type`` (git | helm | oci),
``name``, ``project``, ``enableOCI``, ``insecure`` (values base64 in ``data``, as the
API server returns them; ``stringData`` is accepted too). ``credentials_for`` is pure;
:class:`SecretRepositoryCredentials` lists the Secrets through ``shiplane.kube``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "REPO_CREDS",
    "REPOSITORY",
    "SECRET_TYPE_LABEL",
    "RepoCredentials",
    "SecretRepositoryCredentials",
    "credentials_for",
    "normalize_url",
    "parse_secret",
]

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
REPOSITORY, REPO_CREDS = "repository", "repo-creds"


@dataclass(frozen=True)
class RepoCredentials:
    """What one Secret says about a repository (``source``: which Secret, for messages)."""

    kind: str  # repository | repo-creds
    url: str
    username: str = ""
    password: str = ""
    type: str = ""
    name: str = ""
    project: str = ""
    enable_oci: bool = False
    insecure: bool = False
    source: str = ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.username or self.password)


def normalize_url(url: str) -> str:
    """The form two repository URLs are compared in (after argo-cd ``NormalizeGitURL``)."""
    text = url.strip().lower()
    text = text.removeprefix("oci://")
    text = text.removesuffix("/").removesuffix(".git")
    return text


def _decoded(secret: Mapping[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue  # not a value Argo CD could read either
    values.update({str(k): str(v) for k, v in (secret.get("stringData") or {}).items()})
    return values


def _true(text: str) -> bool:
    return text.strip().lower() == "true"  # strconv.ParseBool's true forms, in practice


def parse_secret(secret: Mapping[str, Any]) -> RepoCredentials | None:
    """The credentials a labelled Secret holds (None: not a repository Secret, no url)."""
    meta = secret.get("metadata") or {}
    kind = str((meta.get("labels") or {}).get(SECRET_TYPE_LABEL, ""))
    if kind not in (REPOSITORY, REPO_CREDS):
        return None
    data = _decoded(secret)
    if not data.get("url", "").strip():
        return None
    return RepoCredentials(
        kind=kind, url=data["url"].strip(), username=data.get("username", ""),
        password=data.get("password", ""), type=data.get("type", ""),
        name=data.get("name", ""), project=data.get("project", ""),
        enable_oci=_true(data.get("enableOCI", "")), insecure=_true(data.get("insecure", "")),
        source=f"Secret {meta.get('namespace', '')}/{meta.get('name', '')}".replace(" /", " "))


def _template_for(repo_url: str, templates: Sequence[RepoCredentials]) -> RepoCredentials | None:
    wanted, best = normalize_url(repo_url), None
    for template in templates:
        prefix = normalize_url(template.url)
        if prefix and wanted.startswith(prefix) and (best is None or
                                                     len(prefix) > len(normalize_url(best.url))):
            best = template
    return best


def credentials_for(repo_url: str, secrets: Sequence[RepoCredentials], *,
                    project: str = "") -> RepoCredentials | None:
    """The credentials to use for ``repo_url`` (None: go anonymous).

    A ``repository`` Secret of the same URL (of ``project``, else unscoped) first; if it
    has no username/password, or there is none, the ``repo-creds`` template with the
    longest matching URL prefix lends its credentials."""
    wanted = normalize_url(repo_url)
    repositories = [s for s in secrets if s.kind == REPOSITORY and normalize_url(s.url) == wanted]
    scoped = [s for s in repositories if project and s.project == project]
    repository = (scoped or [s for s in repositories if not s.project] or [None])[0]
    if repository is not None and repository.has_credentials:
        return repository
    template = _template_for(repo_url, [s for s in secrets if s.kind == REPO_CREDS])
    if template is None:
        return repository
    if repository is None:
        return replace(template, url=repo_url)
    return replace(repository, username=template.username, password=template.password,
                   source=f"{repository.source} + {template.source}")


class SecretRepositoryCredentials:
    """Repository credentials from the labelled Secrets in ``namespace`` (Argo CD's own,
    ``argocd`` by default) of the control cluster, listed at each lookup so a Secret
    added or rotated takes effect at the next refresh. A cluster that refuses the list
    (no RBAC, no namespace) gives no credentials."""

    def __init__(self, client: Any, namespace: str = "argocd") -> None:
        self.client, self.namespace = client, namespace

    def secrets(self) -> list[RepoCredentials]:
        from shiplane.kube import KubeError
        try:
            items = self.client.list("v1", "Secret", self.namespace,
                                     label_selector=f"{SECRET_TYPE_LABEL} in "
                                                    f"({REPOSITORY},{REPO_CREDS})")
        except KubeError:
            return []
        return [c for c in (parse_secret(s) for s in items) if c is not None]

    def __call__(self, repo_url: str, project: str = "") -> RepoCredentials | None:
        return credentials_for(repo_url, self.secrets(), project=project)
