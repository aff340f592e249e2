"""AppProject roles (pure): may this user sync (or roll back) this Application?

Argo CD project roles (``spec.roles[]``: ``name``, ``policies``, ``groups``) hold Casbin
policy lines in Argo CD's RBAC format (``docs/operator-manual/rbac.md``)::

    p, proj:<project>:<role>, applications, <action>, <project>/<app>, allow|deny

``action`` is ``get``, ``create``, ``update``, ``delete``, ``sync``, ``override``,
``action/...`` or ``*``; the object is ``<project>/<app>`` (or
``<project>/<namespace>/<app>``) with globs. A role's subjects are its ``groups``
(here: user names or group names). A request is allowed when a matching ``allow`` line
exists and no matching ``deny`` line does (deny wins). A rollback is a ``sync``.

Enforcement (``check``): a project without roles leaves syncs to everyone (as a local
Argo CD with only the admin account); with roles, the built-in ``admin`` user may do
everything (Argo CD's ``role:admin``) and anyone else needs a role that allows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from shiplane.gitops.application import AppProject, ProjectRole
from shiplane.gitops.errors import ApplicationInvalid

__all__ = ["ADMIN", "Policy", "allowed", "check", "parse_policy", "roles_of"]

ADMIN = "admin"
_ACTIONS = ("get", "create", "update", "delete", "sync", "override", "action", "*")


@dataclass(frozen=True)
class Policy:
    subject: str  # proj:<project>:<role>
    resource: str
    action: str
    obj: str
    effect: str  # allow | deny

    def matches(self, resource: str, action: str, obj: str) -> bool:
        return (fnmatchcase(resource, self.resource) and
                (self.action == "*" or fnmatchcase(action, self.action)) and
                fnmatchcase(obj, self.obj))


def parse_policy(line: str, project: str, role: str) -> Policy:
    """One ``p, ...`` line of role ``role`` in ``project``; bad lines name the problem."""
    parts = [p.strip() for p in line.split(",")]
    where = f"AppProject {project} role {role} policy {line!r}"
    if len(parts) != 6 or parts[0] != "p":
        raise ApplicationInvalid(f"{where}: expected 'p, proj:{project}:{role}, "
                                 "applications, ACTION, PROJECT/APP, allow|deny'")
    _, subject, resource, action, obj, effect = parts
    if subject != f"proj:{project}:{role}":
        raise ApplicationInvalid(f"{where}: the subject must be proj:{project}:{role}")
    if resource not in ("applications", "applicationsets", "logs", "exec", "*"):
        raise ApplicationInvalid(f"{where}: unknown resource {resource!r}")
    if action.split("/", 1)[0] not in _ACTIONS:
        raise ApplicationInvalid(f"{where}: unknown action {action!r}")
    if not obj.startswith(f"{project}/"):
        raise ApplicationInvalid(f"{where}: the object must be in the project ({project}/...)")
    if effect not in ("allow", "deny"):
        raise ApplicationInvalid(f"{where}: the effect must be allow or deny")
    return Policy(subject, resource, action, obj, effect)


def roles_of(project: AppProject, user: str, groups: Iterable[str] = ()) -> list[ProjectRole]:
    subjects = {user, *groups}
    return [r for r in project.roles if subjects & set(r.groups)]


def allowed(policies: Sequence[Policy], action: str, obj: str,
            resource: str = "applications") -> bool:
    hits = [p for p in policies if p.matches(resource, action, obj)]
    return any(p.effect == "allow" for p in hits) and not any(p.effect == "deny" for p in hits)


def check(project: AppProject, app_name: str, user: str, *, groups: Iterable[str] = (),
          action: str = "sync") -> str:
    """Why ``user`` may not do ``action`` on the app (empty: allowed)."""
    if not project.roles or user == ADMIN:
        return ""
    obj = f"{project.name}/{app_name}"
    roles = roles_of(project, user, groups)
    policies = [parse_policy(line, project.name, role.name) for role in roles
                for line in role.policies]
    if allowed(policies, action, obj):
        return ""
    held = ", ".join(r.name for r in roles) or "none"
    return (f"permission denied: {user} may not {action} applications {obj} "
            f"(project roles held: {held})")
