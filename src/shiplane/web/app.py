"""The dashboard's Starlette app: an explicit route table over a backend passed in.

Pages (server-rendered Jinja2, htmx for expanding logs and swapping live views):

    GET  /                                          overview: services × environments
    GET  /services/{service}                        runs, releases, Applications, promotions
    GET  /runs/{run_id}                             one run's steps and logs (a fragment
                                                    when htmx asks)
    GET  /services/{service}/rollouts/{env}         live rollout; its SSE at .../events
    GET  /cluster                                   nodes, pods, cached images; registry
    GET  /audit                                     who did what, filterable
    GET  /login, POST /login, POST /logout          token sign-in (HttpOnly cookie)
    POST /services/{service}/rollouts/{env}/rollback, /applications/{app}/sync,
         /applications/{app}/rollback, /promotions/approve, /promotions/reject
                                                    form actions (cookie + CSRF)

The JSON API (``/api/...``) is built from ``openapi.API_OPERATIONS``; its actions take
``Authorization: Bearer``. Backend calls are blocking, so they run in a thread.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from shiplane.errors import ShiplaneError
from shiplane.web.auth import (
    Action,
    User,
    Users,
    authorise,
    check_form,
    csrf_token,
    same_origin,
)
from shiplane.web.backend import WorkspaceBackend
from shiplane.web.errors import NotSignedIn, WebError
from shiplane.web.openapi import API_OPERATIONS, openapi_document
from shiplane.web.rollout_feed import RolloutFeed, stream_views
from shiplane.web.rollout_view import rollout_view

__all__ = ["COOKIE", "Dashboard", "build_app"]

HERE = Path(__file__).parent
COOKIE = "shiplane_token"


def _hint(error: Exception) -> str | None:
    return getattr(error, "hint", None)


class Dashboard:
    """Handlers bound to one backend and users file; :meth:`routes` is the table."""

    def __init__(self, backend: WorkspaceBackend, users: Users | Callable[[], Users],
                 *, secret: bytes | None = None, watch_seconds: int = 10) -> None:
        self.backend = backend
        self._users = users
        self.secret = secret or secrets.token_bytes(32)
        self.watch_seconds = watch_seconds
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters["short"] = lambda text, n=7: (text or "")[:n]
        self.templates.env.filters["digest"] = lambda d: (d or "").split(":")[-1][:12]
        self.templates.env.filters["size"] = _human_size
        self.templates.env.filters["urlpart"] = lambda text: quote(str(text), safe="")

    # -- identity -----------------------------------------------------------------------------
    def users(self) -> Users:
        return self._users() if callable(self._users) else self._users

    def _bearer(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def page_user(self, request: Request) -> User | None:
        return self.users().identify(request.cookies.get(COOKIE))

    def api_user(self, request: Request) -> User | None:
        token = self._bearer(request)
        if token is not None and self.users().identify(token) is None:
            raise NotSignedIn("the bearer token is not known",
                              hint="ask for a token: shiplane ui add-user NAME")
        return self.users().identify(token)

    # -- rendering ----------------------------------------------------------------------------
    def render(self, request: Request, template: str, context: dict[str, Any],
               status_code: int = 200) -> Response:
        user = self.page_user(request)
        token = request.cookies.get(COOKIE)
        base = {"user": user, "csrf": csrf_token(self.secret, token) if user and token else "",
                "path": request.url.path}
        return self.templates.TemplateResponse(request, template, {**base, **context},
                                               status_code=status_code)

    def page_error(self, request: Request, error: ShiplaneError) -> Response:
        status = error.status_code if isinstance(error, WebError) else 409
        return self.render(request, "error.html", {"error": str(error),
                                                   "hint": _hint(error)}, status)

    async def _page(self, request: Request, template: str, load: Callable[[], dict[str, Any]],
                    **extra: Any) -> Response:
        try:
            data = await run_in_threadpool(load)
        except ShiplaneError as error:
            return self.page_error(request, error)
        return self.render(request, template, {"data": data, **extra})

    # -- pages --------------------------------------------------------------------------------
    async def overview(self, request: Request) -> Response:
        return await self._page(request, "overview.html", self.backend.overview)

    async def service(self, request: Request) -> Response:
        name = request.path_params["service"]
        return await self._page(request, "service.html", lambda: self.backend.service(name))

    async def run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        template = "run_fragment.html" if request.headers.get("hx-request") else "run.html"
        return await self._page(request, template, lambda: self.backend.run(run_id))

    async def rollout(self, request: Request) -> Response:
        service, env = request.path_params["service"], request.path_params["env"]
        return await self._page(request, "rollout.html",
                                lambda: self.backend.rollout(service, env), env=env)

    async def cluster(self, request: Request) -> Response:
        return await self._page(request, "cluster.html", self.backend.cluster)

    async def audit(self, request: Request) -> Response:
        query = {k: request.query_params.get(k) or None for k in ("service", "env", "by",
                                                                    "action")}
        return await self._page(request, "audit.html", lambda: self.backend.audit(**query))

    async def rollout_events(self, request: Request) -> Response:
        service, env = request.path_params["service"], request.path_params["env"]
        api = request.url.path.startswith("/api/")
        try:
            kubeconfig, context, namespace = await run_in_threadpool(
                self.backend.rollout_target, env)
        except ShiplaneError as error:
            return self._error_response(request, error, api)

        def render(objects: dict[str, list[dict]]) -> str:
            view = rollout_view(
                next((d for d in objects["Deployment"]
                      if (d.get("metadata") or {}).get("name") == service), None),
                objects["ReplicaSet"], objects["Pod"], objects["Event"], objects["Endpoints"],
                service=service, namespace=namespace)
            if api:
                return json.dumps(view)
            return self.templates.get_template("rollout_live.html").render(
                data=view, env=env)

        feed = RolloutFeed(kubeconfig, context, namespace, watch_seconds=self.watch_seconds)
        return StreamingResponse(stream_views(feed, render), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})

    # -- sign-in ------------------------------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        return self.render(request, "login.html", {"next": request.query_params.get("next", "/"),
                                                   "failed": False})

    async def login(self, request: Request) -> Response:
        form = await request.form()
        token = str(form.get("token") or "").strip()
        target = _local(str(form.get("next") or "/"))
        if not same_origin(request.headers, request.url.netloc):
            return self.page_error(request, WebError("sign-in posted from another origin"))
        if self.users().identify(token) is None:
            return self.render(request, "login.html", {"next": target, "failed": True}, 401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- form actions -------------------------------------------------------------------------
    async def _form_action(self, request: Request, action: Action,
                           perform: Callable[[User, Any], Any], redirect: str,
                           author: Callable[[Any], str | None] | None = None) -> Response:
        form = await request.form()
        token = request.cookies.get(COOKIE) or ""
        try:
            user = self.page_user(request)
            if user is None:
                raise NotSignedIn(f"{action.value} needs a signed-in user",
                                  hint="sign in with your token first")
            check_form(request.headers, request.url.netloc, str(form.get("csrf") or ""),
                       self.secret, token)
            who = await run_in_threadpool(author, form) if author else None
            authorise(user, action, author=who)
            await run_in_threadpool(perform, user, form)
        except ShiplaneError as error:
            return self.page_error(request, error)
        return RedirectResponse(_local(redirect), status_code=303)

    async def rollback_form(self, request: Request) -> Response:
        service, env = request.path_params["service"], request.path_params["env"]

        def perform(user: User, form: Any) -> dict[str, Any]:
            revision = _revision(form.get("revision"))
            return self.backend.rollback(service, env, revision, user=user.name)

        return await self._form_action(request, Action.ROLLBACK, perform,
                                       f"/services/{quote(service)}/rollouts/{quote(env)}")

    async def sync_form(self, request: Request) -> Response:
        app_name = request.path_params["application"]

        def perform(user: User, form: Any) -> dict[str, Any]:
            return self.backend.sync(app_name, user=user.name)

        service = str((await request.form()).get("service") or "")
        return await self._form_action(request, Action.SYNC, perform,
                                       f"/services/{quote(service)}" if service else "/")

    async def app_rollback_form(self, request: Request) -> Response:
        app_name = request.path_params["application"]

        def perform(user: User, form: Any) -> dict[str, Any]:
            return self.backend.rollback_application(
                app_name, _history_id(form.get("history_id")), user=user.name,
                disable_auto_sync=form.get("disable_auto_sync") in ("on", "true", "1"))

        service = str((await request.form()).get("service") or "")
        return await self._form_action(request, Action.ROLLBACK, perform,
                                       f"/services/{quote(service)}" if service else "/")

    async def approve_form(self, request: Request) -> Response:
        return await self._form_action(
            request, Action.APPROVE,
            lambda user, form: self.backend.approve(str(form.get("branch")), user=user.name),
            str((await request.form()).get("back") or "/audit"),
            author=lambda form: self.backend.pending_author(str(form.get("branch"))))

    async def reject_form(self, request: Request) -> Response:
        return await self._form_action(
            request, Action.REJECT,
            lambda user, form: self.backend.reject(str(form.get("branch")), user=user.name),
            str((await request.form()).get("back") or "/audit"))

    # -- JSON API -----------------------------------------------------------------------------
    def _error_response(self, request: Request, error: ShiplaneError, api: bool = True
                        ) -> Response:
        if not api:
            return self.page_error(request, error)
        status = error.status_code if isinstance(error, WebError) else 409
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"error": str(error), "hint": _hint(error)}, status_code=status,
                            headers=headers)

    async def _api(self, request: Request, load: Callable[[], Any]) -> Response:
        try:
            return JSONResponse(await run_in_threadpool(load))
        except ShiplaneError as error:
            return self._error_response(request, error)

    async def _api_action(self, request: Request, action: Action,
                          perform: Callable[[User, dict[str, Any]], Any],
                          author: Callable[[dict[str, Any]], str | None] | None = None
                          ) -> Response:
        try:
            user = self.api_user(request)
            body = await _json_body(request)
            if user is None:
                authorise(None, action)
            who = await run_in_threadpool(author, body) if author else None
            authorise(user, action, author=who)
            assert user is not None
            return JSONResponse(await run_in_threadpool(perform, user, body))
        except ShiplaneError as error:
            return self._error_response(request, error)

    async def getOverview(self, request: Request) -> Response:  # noqa: N802 - operationId
        return await self._api(request, self.backend.overview)

    async def getService(self, request: Request) -> Response:  # noqa: N802
        return await self._api(request, lambda: self.backend.service(
            request.path_params["service"]))

    async def listRuns(self, request: Request) -> Response:  # noqa: N802
        try:
            limit = _int_param(request.query_params.get("limit"), 50, 1, 500, "limit")
        except WebError as error:
            return self._error_response(request, error)
        service = request.query_params.get("service") or None
        return await self._api(request, lambda: self.backend.runs(service=service, limit=limit))

    async def getRun(self, request: Request) -> Response:  # noqa: N802
        return await self._api(request, lambda: self.backend.run(request.path_params["run_id"]))

    async def getRollout(self, request: Request) -> Response:  # noqa: N802
        return await self._api(request, lambda: self.backend.rollout(
            request.path_params["service"], request.path_params["env"]))

    async def streamRollout(self, request: Request) -> Response:  # noqa: N802
        return await self.rollout_events(request)

    async def getCluster(self, request: Request) -> Response:  # noqa: N802
        return await self._api(request, self.backend.cluster)

    async def getRegistry(self, request: Request) -> Response:  # noqa: N802
        return await self._api(request, self.backend.registry)

    async def listPromotions(self, request: Request) -> Response:  # noqa: N802
        return await self._api(request, self.backend.promotions)

    async def getAudit(self, request: Request) -> Response:  # noqa: N802
        query = {k: request.query_params.get(k) or None for k in ("service", "env", "by",
                                                                    "action")}
        return await self._api(request, lambda: self.backend.audit(**query))

    async def whoami(self, request: Request) -> Response:
        try:
            user = self.api_user(request)
        except ShiplaneError as error:
            return self._error_response(request, error)
        return JSONResponse({"user": user.name if user else None,
                             "actions": sorted(a.value for a in user.actions) if user else []})

    async def rollback(self, request: Request) -> Response:
        service, env = request.path_params["service"], request.path_params["env"]
        return await self._api_action(request, Action.ROLLBACK, lambda user, body: (
            self.backend.rollback(service, env, _revision(body.get("revision")),
                                  user=user.name)))

    async def syncApplication(self, request: Request) -> Response:  # noqa: N802
        app_name = request.path_params["application"]
        return await self._api_action(request, Action.SYNC, lambda user, body: (
            self.backend.sync(app_name, user=user.name)))

    async def rollbackApplication(self, request: Request) -> Response:  # noqa: N802
        app_name = request.path_params["application"]
        return await self._api_action(request, Action.ROLLBACK, lambda user, body: (
            self.backend.rollback_application(
                app_name, _history_id(body.get("id")), user=user.name,
                disable_auto_sync=_flag(body.get("disable_auto_sync"),
                                        "disable_auto_sync"))))

    async def approvePromotion(self, request: Request) -> Response:  # noqa: N802
        return await self._api_action(
            request, Action.APPROVE,
            lambda user, body: self.backend.approve(_branch(body), user=user.name),
            author=lambda body: self.backend.pending_author(_branch(body)))

    async def rejectPromotion(self, request: Request) -> Response:  # noqa: N802
        return await self._api_action(
            request, Action.REJECT,
            lambda user, body: self.backend.reject(_branch(body), user=user.name))

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    # -- the table ----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        pages: list[BaseRoute] = [
            Route("/", self.overview, methods=["GET"]),
            Route("/services/{service}", self.service, methods=["GET"]),
            Route("/runs/{run_id:int}", self.run, methods=["GET"]),
            Route("/services/{service}/rollouts/{env}", self.rollout, methods=["GET"]),
            Route("/services/{service}/rollouts/{env}/events", self.rollout_events,
                  methods=["GET"]),
            Route("/services/{service}/rollouts/{env}/rollback", self.rollback_form,
                  methods=["POST"]),
            Route("/applications/{application}/sync", self.sync_form, methods=["POST"]),
            Route("/applications/{application}/rollback", self.app_rollback_form,
                  methods=["POST"]),
            Route("/promotions/approve", self.approve_form, methods=["POST"]),
            Route("/promotions/reject", self.reject_form, methods=["POST"]),
            Route("/cluster", self.cluster, methods=["GET"]),
            Route("/audit", self.audit, methods=["GET"]),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/api/openapi.json", self.openapi, methods=["GET"]),
        ]
        api: list[BaseRoute] = []
        for op in API_OPERATIONS:
            path = op.path.replace("{run_id}", "{run_id:int}")
            api.append(Route(path, getattr(self, op.operation_id), methods=[op.method]))
        return [*pages, *api, Mount("/static", StaticFiles(directory=str(HERE / "static")),
                                    name="static")]


def _local(target: str) -> str:
    """Only redirect within this site (no open redirect through ?next=)."""
    local = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if local else "/"


def _revision(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise WebError(f"revision {value!r} is not a number") from None
    if number < 1:
        raise WebError(f"revision {number} must be 1 or more")
    return number


def _history_id(value: Any) -> int:
    """An Application history id (``shiplane gitops history``): a whole number >= 0."""
    if value in (None, ""):
        raise WebError("a rollback needs the history id of the deployment to return to",
                       hint="see the Application's history (shiplane gitops history APP)")
    if isinstance(value, bool):
        raise WebError(f"history id {value!r} is not a number")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise WebError(f"history id {value!r} is not a number") from None
    if number < 0:
        raise WebError(f"history id {number} must be 0 or more")
    return number


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise WebError(f"{name} must be true or false, not {value!r}")
    return value


def _branch(body: dict[str, Any]) -> str:
    branch = body.get("branch")
    if not isinstance(branch, str) or not branch:
        raise WebError("the request body needs a 'branch' (a pending promotion branch)")
    return branch


def _int_param(value: str | None, default: int, low: int, high: int, name: str) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise WebError(f"{name} must be a number, not {value!r}") from None
    if not low <= number <= high:
        raise WebError(f"{name} must be between {low} and {high}")
    return number


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise WebError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise WebError("the request body must be a JSON object")
    return body


def _human_size(size: Any) -> str:
    if size is None:
        return "–"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 as our JSON error (keeping ``Allow`` on a 405)."""
    detail = getattr(exc, "detail", "not found")
    code = getattr(exc, "status_code", 404)
    return JSONResponse({"error": str(detail), "hint": None}, status_code=code,
                        headers=getattr(exc, "headers", None))


def build_app(backend: WorkspaceBackend, users: Users | Callable[[], Users] | None = None,
              *, secret: bytes | None = None, watch_seconds: int = 10) -> Starlette:
    """The dashboard over ``backend``; ``users`` (or a function re-reading the users file)
    decides who may act — none by default."""
    dashboard = Dashboard(backend, users if users is not None else Users.empty(),
                          secret=secret, watch_seconds=watch_seconds)
    app = Starlette(routes=dashboard.routes(),
                    exception_handlers={HTTPException: _http_error})
    app.state.dashboard = dashboard
    return app

