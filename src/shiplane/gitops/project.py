"""AppProject permission checks (pure): may this Application use this source and destination?

Argo CD matches ``sourceRepos`` and ``destinations`` entries as globs, and an entry
starting with ``!`` denies what it matches (argo-cd ``pkg/apis/application/v1alpha1``
``AppProject.IsSourcePermitted`` / ``IsDestinationPermitted``, ``util/glob``).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from shiplane.gitops.application import Application, AppProject

__all__ = ["project_problems", "resource_permitted"]


def _permitted(value: str, patterns: tuple[str, ...] | list[str]) -> bool:
    allowed = any(not p.startswith("!") and fnmatchcase(value, p) for p in patterns)
    denied = any(p.startswith("!") and fnmatchcase(value, p[1:]) for p in patterns)
    return allowed and not denied


def project_problems(app: Application, project: AppProject) -> list[str]:
    """Why ``project`` refuses ``app`` (empty: permitted)."""
    problems = []
    if app.project != project.name:
        problems.append(f"{app.name} belongs to project {app.project!r}, not {project.name!r}")
    for source in app.sources:
        if not _permitted(source.repo_url, project.source_repos):
            problems.append(
                f"source repo {source.repo_url} is not permitted in project {project.name} "
                f"(sourceRepos: {', '.join(project.source_repos) or 'none'})")
    dest = app.destination
    ok = False
    for allowed in project.destinations:
        if dest.server is not None and (allowed.server is None
                                        or not fnmatchcase(dest.server, allowed.server)):
            continue
        if dest.name is not None and (allowed.name is None
                                      or not fnmatchcase(dest.name, allowed.name)):
            continue
        if fnmatchcase(dest.namespace, allowed.namespace):
            ok = True
            break
    if not ok:
        target = dest.server or dest.name
        problems.append(f"destination {target} namespace {dest.namespace!r} is not permitted "
                        f"in project {project.name}")
    return problems


def _listed(group: str, kind: str, entries: tuple[tuple[str, str], ...]) -> bool:
    return any(fnmatchcase(group, g) and fnmatchcase(kind, k) for g, k in entries)


def resource_permitted(project: AppProject, group: str, kind: str, *, namespaced: bool) -> bool:
    """Whether a resource kind may be deployed (``AppProject.IsGroupKindPermitted``):
    whitelisted (namespaced kinds: all when no namespace whitelist is given; cluster kinds
    only through the cluster whitelist) and not blacklisted."""
    if namespaced:
        return _listed(group, kind, project.namespace_resource_whitelist) and \
            not _listed(group, kind, project.namespace_resource_blacklist)
    return _listed(group, kind, project.cluster_resource_whitelist) and \
        not _listed(group, kind, project.cluster_resource_blacklist)
