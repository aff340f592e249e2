"""One call per request: who is asking (authentication) and may they (RBAC).

``guard`` composes :func:`authenticate`, :func:`request_attributes` and the RBAC authorizer
the way kube-apiserver's filter chain orders them (``WithAuthentication`` then
``WithAuthorization``): bad credentials → :class:`Unauthenticated` (401), a denied request →
:class:`Forbidden` (403, upstream message). The API server's middleware turns those into
Status responses; a handler gets the :class:`UserInfo` back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from shiplane.cluster.auth.authn import RequestCredentials, TokenFile, authenticate
from shiplane.cluster.auth.rbac import RBACAuthorizer
from shiplane.cluster.auth.requestinfo import Attributes, request_attributes
from shiplane.cluster.auth.serviceaccount import ServiceAccountTokens
from shiplane.cluster.auth.user import UserInfo

__all__ = ["Authenticators", "guard"]


@dataclass(frozen=True)
class Authenticators:
    ca: x509.Certificate | None = None
    token_file: TokenFile | None = None
    service_accounts: ServiceAccountTokens | None = None
    service_account_exists: Callable[[str, str, str], bool] | None = None


def guard(method: str, path: str, query: str, credentials: RequestCredentials,
          authenticators: Authenticators, authorizer: RBACAuthorizer,
          *, now: dt.datetime | None = None) -> tuple[UserInfo, Attributes]:
    user = authenticate(credentials, ca=authenticators.ca, token_file=authenticators.token_file,
                        service_accounts=authenticators.service_accounts,
                        service_account_exists=authenticators.service_account_exists, now=now)
    attrs = request_attributes(method, path, query, user)
    authorizer.check(attrs)
    return user, attrs
