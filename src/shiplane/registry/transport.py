"""The client's transport seam: every registry request goes through :meth:`RegistryTransport._send`.

``_send`` adds credentials, answers auth challenges, retries 5xx/429 and
connection errors with exponential backoff (honouring ``Retry-After``) and
turns library errors into ours (``RegistryUnreachable``, ``RegistryApiError``
with the spec code). Request building is shared; sending is this one method
(cf. httpx ``_transports/base.py``; lightkube ``generic_client.py``).

Auth follows distribution ``docs/spec/auth/token.md``: on ``401`` with
``WWW-Authenticate: Bearer realm=…,service=…,scope=…`` the client asks the realm
for a token (basic auth with its credentials, or an OAuth2 refresh token), keeps
it per repository scope and retries; a ``Basic`` challenge (ECR) is answered
with basic auth. A token that expires in the middle of a long push is simply
fetched again on the next 401 (moby #33558).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator

import httpx

from shiplane.registry.credentials import Credentials, resolve_credentials
from shiplane.registry.errors import RegistryApiError, RegistryUnreachable

__all__ = ["RegistryTransport", "parse_challenge"]

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="…",service="…"`` → ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest))


class RegistryTransport:
    """Connection, credentials, auth and retries for one registry host.

    ``registry`` is ``host[:port]`` or a URL; plain HTTP is used for loopback
    hosts or with ``plain_http=True``. ``credentials=None`` resolves them from
    ECR/``~/.docker/config.json`` (see ``credentials.resolve_credentials``);
    ``resolve=False`` stays anonymous. ``transport`` replaces httpx's.
    """

    def __init__(
        self,
        registry: str,
        *,
        credentials: Credentials | None = None,
        resolve: bool = True,
        plain_http: bool | None = None,
        verify_tls: bool = True,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.25,
    ) -> None:
        if "://" in registry:
            url = httpx.URL(registry)
            host = url.netloc.decode()
            plain_http = url.scheme == "http" if plain_http is None else plain_http
        else:
            host = registry.rstrip("/")
        if plain_http is None:
            plain_http = host.split(":")[0] in _LOCAL_HOSTS or host.startswith("[::1]")
        self.host = host
        self.base_url = f"{'http' if plain_http else 'https'}://{host}"
        self._credentials = credentials
        self._resolve = resolve and credentials is None
        self._retries = retries
        self._backoff = backoff
        self._http = httpx.Client(
            transport=transport, verify=verify_tls, timeout=timeout, follow_redirects=True,
            limits=httpx.Limits(max_keepalive_connections=16, max_connections=32),
        )
        self._auth: dict[str, str] = {}  # scope key → Authorization header value
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _creds(self) -> Credentials | None:
        if self._credentials is None and self._resolve:
            self._credentials = resolve_credentials(self.host)
            self._resolve = False
        return self._credentials

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + path_or_url

    def _send(
        self,
        method: str,
        url: str,
        *,
        scope: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        content: bytes | Callable[[], Iterator[bytes]] | None = None,
        stream: bool = False,
        ok: tuple[int, ...] = (200,),
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send one API request; returns a response whose status is in ``ok`` or ``allow``.

        ``scope`` is the token scope this request needs (``repository:x:pull``).
        ``content`` may be a factory so bodies can be re-sent on retry.
        """
        attempt = 0
        auth_rounds = 0
        key = scope or "registry"
        while True:
            request_headers = dict(headers or {})
            with self._lock:
                authorization = self._auth.get(key) or self._auth.get("*basic*")
            if authorization:
                request_headers["Authorization"] = authorization
            body = content() if callable(content) else content
            try:
                request = self._http.build_request(method, self._url(url), headers=request_headers,
                                                   params=params, content=body)
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as error:
                if attempt >= self._retries:
                    raise RegistryUnreachable(
                        f"{method} {self.base_url}: {type(error).__name__}: {error}",
                        hint="is the registry running and the address right?") from None
                self._sleep(attempt, None)
                attempt += 1
                continue
            status = response.status_code
            if status == 401 and auth_rounds < 2:
                challenge = response.headers.get("www-authenticate", "")
                response.close()
                auth_rounds += 1
                if self._answer_challenge(challenge, key, scope):
                    continue
                raise self._api_error(response, method, url)
            if status in _RETRY_STATUSES and attempt < self._retries:
                retry_after = response.headers.get("retry-after")
                response.close()
                self._sleep(attempt, retry_after)
                attempt += 1
                continue
            if status in ok or status in allow:
                return response
            if stream:
                response.read()
            raise self._api_error(response, method, url)

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self._backoff * (2 ** attempt) * (0.5 + random.random() / 2)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        time.sleep(delay)

    def _answer_challenge(self, header: str, key: str, scope: str | None) -> bool:
        scheme, params = parse_challenge(header)
        creds = self._creds()
        if scheme == "basic":
            if creds is None or creds.password is None:
                return False
            value = httpx.BasicAuth(creds.username or "", creds.password)._auth_header
            with self._lock:
                self._auth["*basic*"] = value
            return True
        if scheme != "bearer" or "realm" not in params:
            return False
        scopes = [s for s in {params.get("scope"), scope} if s]
        token = self._fetch_token(params["realm"], params.get("service"), scopes, creds)
        with self._lock:
            self._auth[key] = f"Bearer {token}"
        return True

    def _fetch_token(self, realm: str, service: str | None, scopes: list[str],
                     creds: Credentials | None) -> str:
        query: list[tuple[str, str]] = []
        if service:
            query.append(("service", service))
        query += [("scope", s) for s in scopes]
        try:
            if creds is not None and creds.identity_token:
                form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                        "client_id": "shiplane", "service": service or "", "scope": " ".join(scopes)}
                response = self._http.post(realm, data=form)
            else:
                auth = (httpx.BasicAuth(creds.username or "", creds.password)
                        if creds is not None and creds.password is not None else None)
                response = self._http.get(realm, params=query, auth=auth)
        except httpx.TransportError as error:
            raise RegistryUnreachable(f"token endpoint {realm}: {error}") from None
        if response.status_code != 200:
            error = self._api_error(response, "GET", realm)
            raise RegistryApiError("UNAUTHORIZED", f"token endpoint refused: {error.reason}",
                                   status=response.status_code,
                                   hint="check the username/password (shiplane registry login-password)")
        doc = response.json()
        token = doc.get("token") or doc.get("access_token")
        if not token:
            raise RegistryApiError("UNAUTHORIZED", "token endpoint answered without a token")
        return str(token)

    @staticmethod
    def _api_error(response: httpx.Response, method: str, url: str) -> RegistryApiError:
        try:
            errors = response.json().get("errors") or []
            first = errors[0]
            code, message, detail = first.get("code", "UNKNOWN"), first.get("message", ""), first.get("detail")
        except Exception:  # noqa: BLE001 — any non-spec body
            code = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NAME_UNKNOWN", 429: "TOOMANYREQUESTS",
                    413: "SIZE_INVALID", 416: "BLOB_UPLOAD_INVALID"}.get(response.status_code, "UNKNOWN")
            message, detail = response.text[:200] or response.reason_phrase, None
        return RegistryApiError(code, f"{message} ({method} {url} → {response.status_code})",
                                status=response.status_code, detail=detail)
