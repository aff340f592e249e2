"""Docker token auth for the server: challenge, token endpoint, per-request checks.

Flow (distribution ``docs/spec/auth/token.md``):

1. A request without a valid token gets ``401`` and
   ``WWW-Authenticate: Bearer realm="<base>/token",service="<service>",scope="repository:<name>:<actions>"``.
2. The client calls ``GET /token?service=&scope=…`` with basic auth: either a
   configured user's password, or user ``AWS`` with a 12-hour login password
   (:func:`issue_login_password`). No credentials = the anonymous principal.
3. The token endpoint evaluates the ECR-style policies (``policy.py``) for each
   requested scope and signs a 5-minute token granting only what is allowed.
4. Each API request presents ``Authorization: Bearer <token>``; the endpoint's
   required scope action must be in the token's ``access`` for that repository.
   A token that names the repository but lacks the action gets ``403 DENIED``
   (with a challenge, so a client holding a narrower token can refresh it);
   one that does not name it gets a new ``401`` challenge for that scope.

Anonymous pull is off unless ``AuthConfig.anonymous_pull``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Callable
from urllib.parse import parse_qs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shiplane.registry.errors import CredentialsError, RegistryApiError
from shiplane.registry.policy import (
    ALL_ACTIONS,
    ENDPOINT_ACTIONS,
    GET_AUTHORIZATION_TOKEN,
    Effect,
    Principal,
    PrincipalKind,
    RepositoryPolicy,
    Statement,
    evaluate,
    granted_scope_actions,
)
from shiplane.registry.reference import is_valid_name
from shiplane.registry.tokens import (
    ACCESS_TOKEN_TTL,
    LOGIN_PASSWORD_TTL,
    SigningKey,
    TokenClaims,
    TokenInvalid,
)

__all__ = ["AuthConfig", "BasicAuth", "TokenAuth", "User", "issue_login_password", "load_auth_config"]

LOGIN_USER = "AWS"  # like ECR: docker login -u AWS -p "$(aws ecr get-login-password)"


@dataclass(frozen=True)
class User:
    name: str
    password: str
    kind: PrincipalKind = PrincipalKind.USER


@dataclass(frozen=True)
class AuthConfig:
    service: str = "shiplane-registry"
    users: tuple[User, ...] = ()
    policies: tuple[RepositoryPolicy, ...] = ()
    anonymous_pull: bool = False
    token_ttl: int = ACCESS_TOKEN_TTL
    principal_kinds: dict[str, PrincipalKind] = field(default_factory=dict)

    def effective_policies(self) -> tuple[RepositoryPolicy, ...]:
        if not self.anonymous_pull:
            return self.policies
        anonymous = RepositoryPolicy("*", (Statement(Effect.ALLOW, ("anonymous",), frozenset(
            {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
             "ecr:ListImages"})),))
        return self.policies + (anonymous,)

    def kind_of(self, name: str) -> PrincipalKind:
        for user in self.users:
            if user.name == name:
                return user.kind
        return self.principal_kinds.get(name, PrincipalKind.USER)


def issue_login_password(key: SigningKey, principal: str, *, service: str = "shiplane-registry",
                         now: float | None = None, kind: PrincipalKind = PrincipalKind.USER,
                         ttl: int = LOGIN_PASSWORD_TTL) -> str:
    """A 12-hour password for user ``AWS`` (the ``aws ecr get-login-password`` analogue)."""
    return key.issue(principal, audience=service, now=time.time() if now is None else now,
                     ttl=ttl, kind="login", principal_kind=kind.value)


def _parse_scopes(values: list[str]) -> list[tuple[str, str, list[str]]]:
    """``repository:team/app:pull,push`` (several, space- or repeat-separated)."""
    scopes = []
    for value in values:
        for item in value.split():
            type_, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            if type_ and name and actions:
                scopes.append((type_, name, [a for a in actions.split(",") if a]))
    return scopes


class TokenAuth:
    """The server's :class:`~shiplane.registry.server.Authorizer` with a /token endpoint."""

    def __init__(self, config: AuthConfig, key: SigningKey, *,
                 clock: Callable[[], float] = time.time, realm: str | None = None) -> None:
        self.config = config
        self.key = key
        self.clock = clock
        self.realm = realm
        self._policies = config.effective_policies()
        self._cache: dict[str, TokenClaims] = {}

    # ---- token endpoint -----------------------------------------------------------------
    def _principal_from_basic(self, header: str | None) -> Principal:
        if not header:
            return Principal.anonymous()
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise RegistryApiError("UNAUTHORIZED", "the token endpoint takes basic auth")
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryApiError("UNAUTHORIZED", "malformed basic credentials") from None
        if username == LOGIN_USER:
            try:
                claims = self.key.verify(password, audience=self.config.service, now=self.clock(),
                                         kind="login")
            except TokenInvalid as error:
                raise RegistryApiError("UNAUTHORIZED", f"login password refused: {error.message}") from None
            return Principal(claims.subject, PrincipalKind(claims.principal_kind))
        for user in self.config.users:
            if user.name == username and hmac.compare_digest(user.password.encode(), password.encode()):
                return Principal(user.name, user.kind)
        raise RegistryApiError("UNAUTHORIZED", f"wrong username or password for {username!r}")

    async def token_endpoint(self, request: Request) -> Response:
        """GET with basic auth (distribution token.md) or POST an OAuth2 form (oauth.md)."""
        authorization = request.headers.get("authorization")
        if request.method == "POST":
            form = parse_qs((await request.body()).decode("utf-8", "replace"))
            scope_values = form.get("scope", [])
            service = form.get("service", [self.config.service])[0]
            if form.get("grant_type", [""])[0] == "password":  # oras-go / Helm send the password here
                basic = f"{form.get('username', [''])[0]}:{form.get('password', [''])[0]}"
                authorization = "Basic " + base64.b64encode(basic.encode()).decode()
        else:
            scope_values = request.query_params.getlist("scope")
            service = request.query_params.get("service", self.config.service)
        try:
            principal = self._principal_from_basic(authorization)
        except RegistryApiError as error:
            return JSONResponse(error.body(), status_code=401,
                                headers={"WWW-Authenticate": f'Basic realm="{self.config.service}"'})
        if service != self.config.service:
            return JSONResponse(RegistryApiError("UNAUTHORIZED", f"unknown service {service!r}").body(),
                                status_code=401)
        if principal.kind is not PrincipalKind.ANONYMOUS and not evaluate(
                self._policies, principal, None, GET_AUTHORIZATION_TOKEN).allowed:
            error = RegistryApiError("DENIED", f"{principal.name} may not call {GET_AUTHORIZATION_TOKEN}")
            return JSONResponse(error.body(), status_code=403)
        access = []
        for type_, name, actions in _parse_scopes(scope_values):
            if type_ == "repository" and is_valid_name(name):
                granted = granted_scope_actions(self._policies, principal, name, actions)
                access.append({"type": "repository", "name": name, "actions": granted})
            elif type_ == "registry" and name == "catalog":
                allowed = principal.kind is not PrincipalKind.ANONYMOUS
                access.append({"type": "registry", "name": "catalog", "actions": ["*"] if allowed else []})
        now = self.clock()
        token = self.key.issue(principal.name, audience=self.config.service, now=now,
                               ttl=self.config.token_ttl, kind="access", access=access,
                               principal_kind=principal.kind.value)
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return JSONResponse({"token": token, "access_token": token,
                             "expires_in": self.config.token_ttl, "issued_at": issued})

    def routes(self) -> list[BaseRoute]:
        return [Route("/token", self.token_endpoint, methods=["GET", "POST"])]

    # ---- per-request checks ---------------------------------------------------------------
    def _realm(self, request: Request) -> str:
        return self.realm or str(request.base_url).rstrip("/") + "/token"

    def _challenge(self, request: Request, scope: str | None, error: str | None = None) -> dict[str, str]:
        value = f'Bearer realm="{self._realm(request)}",service="{self.config.service}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return {"WWW-Authenticate": value}

    def _claims(self, request: Request) -> TokenClaims | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        cached = self._cache.get(token)
        now = self.clock()
        if cached is not None and now < cached.expires_at:
            return cached
        claims = self.key.verify(token, audience=self.config.service, now=now, kind="access")
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[token] = claims
        return claims

    def _decide(self, request: Request, repository: str | None, endpoint: str) -> RegistryApiError | None:
        if endpoint == "catalog":
            type_, name, needed, scope = "registry", "catalog", "*", "registry:catalog:*"
        elif repository is None:
            type_, name, needed, scope = "", "", "", None
        else:
            _, needed = ENDPOINT_ACTIONS[endpoint]
            type_, name = "repository", repository
            actions = "pull,push" if needed == "push" else needed
            scope = f"repository:{repository}:{actions}"
        try:
            claims = self._claims(request)
        except TokenInvalid as error:
            return RegistryApiError("UNAUTHORIZED", error.message,
                                    headers=self._challenge(request, scope, "invalid_token"))
        if claims is None:
            return RegistryApiError("UNAUTHORIZED", "authentication required",
                                    headers=self._challenge(request, scope))
        if not type_:
            return None  # /v2/ only needs a valid token
        granted = claims.actions_for(type_, name)
        if granted is None:
            return RegistryApiError("UNAUTHORIZED", f"token does not cover {type_} {name}",
                                    headers=self._challenge(request, scope, "insufficient_scope"))
        if needed not in granted and "*" not in granted:
            # 403, but with a challenge: clients that hold a narrower token (oras-py
            # fetches a pull-only token on its first HEAD) refresh it for this scope.
            return RegistryApiError("DENIED", f"{claims.subject} may not {needed} {name}",
                                    detail={"repository": name, "action": needed},
                                    headers=self._challenge(request, scope, "insufficient_scope"))
        return None

    def authorize(self, request: Request, repository: str | None, endpoint: str) -> None:
        error = self._decide(request, repository, endpoint)
        if error is not None:
            raise error

    def allows(self, request: Request, repository: str, endpoint: str) -> bool:
        return self._decide(request, repository, endpoint) is None


def load_auth_config(path: Path) -> AuthConfig:
    """Read an auth config (YAML)::

        service: shiplane-registry
        anonymous_pull: false
        users: [{name: alice, password: s3cret, kind: user}]
        principals: [{name: ci, kind: ci}, {name: eks-node, kind: node}]
        policies:
          - repository: "team-a/*"
            statements:
              - {effect: Allow, principals: [ci], actions: ["ecr:*"]}
              - {effect: Allow, principals: ["kind:node"], actions: [ecr:BatchGetImage, ...]}
    """
    try:
        doc: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise CredentialsError(f"cannot read auth config {path}: {error}") from None
    try:
        users = tuple(User(str(u["name"]), str(u["password"]), PrincipalKind(u.get("kind", "user")))
                      for u in doc.get("users") or [])
        kinds = {str(p["name"]): PrincipalKind(p.get("kind", "user")) for p in doc.get("principals") or []}
        policies = []
        for p in doc.get("policies") or []:
            statements = []
            for s in p.get("statements") or []:
                actions = frozenset(str(a) for a in s.get("actions") or [])
                unknown = actions - ALL_ACTIONS - {"ecr:*"}
                if unknown:
                    raise CredentialsError(f"{path}: unknown action(s) {sorted(unknown)}")
                statements.append(Statement(Effect(s.get("effect", "Allow")),
                                            tuple(str(x) for x in s.get("principals") or []), actions))
            policies.append(RepositoryPolicy(str(p["repository"]), tuple(statements)))
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        raise CredentialsError(f"{path}: invalid auth config ({error})") from None
    return AuthConfig(service=str(doc.get("service", "shiplane-registry")), users=users,
                      policies=tuple(policies), anonymous_pull=bool(doc.get("anonymous_pull", False)),
                      principal_kinds=kinds)


class BasicAuth:
    """ECR's own scheme: ``WWW-Authenticate: Basic`` and credentials on every request.

    ``docker login -u AWS -p <login-password>`` then each request carries basic
    auth; each endpoint's ECR action is evaluated against the policies directly
    (no token step). Verified credentials are cached until they expire.
    """

    def __init__(self, config: AuthConfig, key: SigningKey, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._tokens = TokenAuth(config, key, clock=clock)  # shares credential checking
        self._policies = config.effective_policies()
        self.clock = clock
        self._cache: dict[str, tuple[Principal, float]] = {}

    def routes(self) -> list[BaseRoute]:
        return []

    def _principal(self, request: Request) -> Principal:
        header = request.headers.get("authorization")
        if not header:
            return Principal.anonymous()
        cached = self._cache.get(header)
        now = self.clock()
        if cached is not None and now < cached[1]:
            return cached[0]
        principal = self._tokens._principal_from_basic(header)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[header] = (principal, now + 60)
        return principal

    def _decide(self, request: Request, repository: str | None, endpoint: str) -> RegistryApiError | None:
        challenge = {"WWW-Authenticate": f'Basic realm="{str(request.base_url).rstrip("/")}/",'
                                         f'service="{self.config.service}"'}
        try:
            principal = self._principal(request)
        except RegistryApiError as error:
            return RegistryApiError("UNAUTHORIZED", error.reason, headers=challenge)
        if repository is None:
            if principal.kind is PrincipalKind.ANONYMOUS and not self.config.anonymous_pull:
                return RegistryApiError("UNAUTHORIZED", "authentication required", headers=challenge)
            return None
        action, _ = ENDPOINT_ACTIONS[endpoint]
        decision = evaluate(self._policies, principal, repository, action)
        if decision.allowed:
            return None
        if principal.kind is PrincipalKind.ANONYMOUS:
            return RegistryApiError("UNAUTHORIZED", "authentication required", headers=challenge)
        return RegistryApiError("DENIED", f"{principal.name} is not authorized to perform {action} "
                                f"on {repository}: {decision.reason}",
                                detail={"repository": repository, "action": action})

    def authorize(self, request: Request, repository: str | None, endpoint: str) -> None:
        error = self._decide(request, repository, endpoint)
        if error is not None:
            raise error

    def allows(self, request: Request, repository: str, endpoint: str) -> bool:
        return self._decide(request, repository, endpoint) is None
