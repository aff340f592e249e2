"""Errors of the scaffold package. Whenever one is raised nothing was written.

::

    ScaffoldError                   (shiplane.errors) a repository cannot be generated
    ├── InvalidNameError            not a DNS-1123 label, or longer than 53 characters (exit 2)
    ├── UnknownEnvironmentError     an environment the workspace does not define (exit 2)
    ├── TargetNotEmptyError         the target folder exists and holds files (use --force)
    ├── TargetNotWritableError      the target's parent folder cannot be written
    ├── NotAPlatformRepoError       `platform ...` run outside a platform repo
    └── ServiceExistsError          `platform add-service` for a service already there
"""

from __future__ import annotations

from shiplane.errors import ScaffoldError

__all__ = [
    "InvalidNameError",
    "NotAPlatformRepoError",
    "ScaffoldError",
    "ServiceExistsError",
    "TargetNotEmptyError",
    "TargetNotWritableError",
    "UnknownEnvironmentError",
]


class InvalidNameError(ScaffoldError):
    exit_code = 2


class UnknownEnvironmentError(ScaffoldError):
    exit_code = 2


class TargetNotEmptyError(ScaffoldError):
    pass


class TargetNotWritableError(ScaffoldError):
    pass


class NotAPlatformRepoError(ScaffoldError):
    pass


class ServiceExistsError(ScaffoldError):
    pass
