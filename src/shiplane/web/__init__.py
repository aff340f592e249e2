"""The web dashboard: services × environments, pipeline runs, releases and rollbacks,
live rollouts, promotions with their gates, cluster and registry, audit.

Pure cores: ``views`` (overview cells, audit rows), ``rollout_view`` (a Deployment's
rollout from its objects), ``auth`` (users file, :func:`authorise`, CSRF). Adapters:
``backend`` (the libraries below), ``rollout_feed`` (watches → Server-Sent Events),
``action_log`` (who did what here: memory or file). ``app`` is the route table,
``openapi`` the JSON API's table and spec, ``server`` runs it (``shiplane ui``,
``shiplane up``).
"""

from shiplane.web.action_log import ActionLog, FileActionLog, MemoryActionLog
from shiplane.web.app import COOKIE, Dashboard, build_app
from shiplane.web.auth import Action, User, Users, add_user, authorise, users_file
from shiplane.web.backend import WorkspaceBackend
from shiplane.web.errors import (
    CsrfRejected,
    NotAllowed,
    NotFound,
    NotSignedIn,
    UsersFileInvalid,
    WebError,
)
from shiplane.web.openapi import API_OPERATIONS, openapi_document
from shiplane.web.rollout_view import pod_path, rollout_view
from shiplane.web.server import WebServer, open_dashboard

__all__ = [
    "API_OPERATIONS",
    "COOKIE",
    "Action",
    "ActionLog",
    "CsrfRejected",
    "Dashboard",
    "FileActionLog",
    "MemoryActionLog",
    "NotAllowed",
    "NotFound",
    "NotSignedIn",
    "User",
    "Users",
    "UsersFileInvalid",
    "WebError",
    "WebServer",
    "WorkspaceBackend",
    "add_user",
    "authorise",
    "build_app",
    "open_dashboard",
    "openapi_document",
    "pod_path",
    "rollout_view",
    "users_file",
]
