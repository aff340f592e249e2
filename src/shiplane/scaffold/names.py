"""Checks on user-given names and environments (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from shiplane.scaffold.errors import InvalidNameError, UnknownEnvironmentError

__all__ = ["MAX_SERVICE_NAME", "parse_csv", "validate_environments", "validate_name"]

# Helm release names are at most 53 characters (helm pkg/chartutil
# ValidateReleaseName: 63 minus room for suffixes such as "-xxxxx").
MAX_SERVICE_NAME = 53
# k8s.io/apimachinery/pkg/util/validation IsDNS1123Label
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RESERVED_NAMES = frozenset({"appproject", "argocd-apps"})


def validate_name(name: str, *, what: str = "service name") -> str:
    """Return ``name`` if it can name a repo, chart, release and Kubernetes objects."""
    if len(name) > MAX_SERVICE_NAME:
        raise InvalidNameError(
            f"{what} {name!r} is {len(name)} characters long; at most {MAX_SERVICE_NAME} "
            "are allowed (Helm release names)",
            hint="choose a shorter name",
        )
    if not _DNS1123_LABEL.match(name):
        raise InvalidNameError(
            f"{what} {name!r} is not a DNS-1123 label",
            hint="use lowercase letters, digits and '-', starting and ending with a letter "
            "or digit, e.g. 'payment-service'",
        )
    if name in RESERVED_NAMES:
        raise InvalidNameError(f"{what} {name!r} is reserved by shiplane", hint="pick another")
    return name


def parse_csv(value: str | Sequence[str]) -> list[str]:
    """``"dev, staging"`` or ``["dev", "staging"]`` -> ``["dev", "staging"]`` (no blanks)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item.strip()]


def validate_environments(requested: Iterable[str], known: Sequence[str]) -> list[str]:
    """The requested environments, each checked against the workspace's list."""
    envs = list(dict.fromkeys(requested))  # keep order, drop duplicates
    if not envs:
        raise UnknownEnvironmentError(
            "no environment given", hint=f"pass --envs, e.g. --envs {','.join(known)}"
        )
    unknown = [env for env in envs if env not in known]
    if unknown:
        raise UnknownEnvironmentError(
            f"unknown environment{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            hint=f"known environments: {', '.join(known)} (define more in shiplane.yaml)",
        )
    return envs
