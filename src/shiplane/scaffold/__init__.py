"""Repository scaffolds: the guide's service repo (Model 1/2) and platform repo (Model 2).

Templates are real files under ``templates/`` rendered by ``template_tree``;
repositories are written atomically by ``output`` and committed with dulwich
(``git``). Errors are the ``ScaffoldError`` subtree of ``errors``.
"""

from shiplane.scaffold.argocd import app_project, application, application_problems
from shiplane.scaffold.errors import (
    InvalidNameError,
    NotAPlatformRepoError,
    ScaffoldError,
    ServiceExistsError,
    TargetNotEmptyError,
    TargetNotWritableError,
    UnknownEnvironmentError,
)
from shiplane.scaffold.names import MAX_SERVICE_NAME, validate_environments, validate_name
from shiplane.scaffold.platform import (
    MANIFEST,
    PlatformSpec,
    add_service,
    find_platform_root,
    init_platform,
    load_platform,
    set_image,
)
from shiplane.scaffold.output import WrittenRepository
from shiplane.scaffold.service import MODELS, ServiceSpec, init_service, service_files
from shiplane.scaffold.template_tree import RepoFile, render_tree, substitute

__all__ = [
    "MANIFEST",
    "MAX_SERVICE_NAME",
    "MODELS",
    "InvalidNameError",
    "NotAPlatformRepoError",
    "PlatformSpec",
    "RepoFile",
    "ScaffoldError",
    "ServiceExistsError",
    "ServiceSpec",
    "TargetNotEmptyError",
    "TargetNotWritableError",
    "UnknownEnvironmentError",
    "WrittenRepository",
    "add_service",
    "app_project",
    "application",
    "application_problems",
    "find_platform_root",
    "init_platform",
    "init_service",
    "load_platform",
    "render_tree",
    "service_files",
    "set_image",
    "substitute",
    "validate_environments",
    "validate_name",
]
