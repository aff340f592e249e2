"""The local git server: smart HTTP over bare repositories, with push triggers.

``git clone/fetch/push http://127.0.0.1:PORT/<name>.git`` work with the real
``git`` CLI. Each request is handed to ``git http-backend`` (git's own CGI
program) by a small ASGI adapter; the app is an explicit route table with the
repositories and the push callback passed in.

Why ``git http-backend`` rather than dulwich's ``web.py``: it *is* git's server
side, so every client feature works as on any git host — protocol v2, gzip
request bodies, chunked pushes larger than ``http.postBuffer``, shallow and
partial clones, atomic pushes, and the same ref checks as ``git receive-pack``
(dulwich serves protocol v0/v1 only). The ``git`` binary is already required
(the builder and the tests use it), the adapter is ~100 lines, and a process
per request is cheap next to a pipeline run.

Pushes are seen by diffing the repository's refs before and after a
``git-receive-pack`` request (serialised per repository), not by a hook script
inside the repository: the server keeps working for repositories created by
hand, and the callback runs in this process, before the HTTP response ends —
so when ``git push`` returns, the run it triggered is already recorded.

``POST /hooks/push`` takes GitHub/Gitea push webhooks (:mod:`.webhook`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dulwich.repo import Repo
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from shiplane.pipeline.errors import GitServerError, WebhookRejected
from shiplane.pipeline.webhook import WebhookPush, parse_push_webhook

__all__ = [
    "PushEvent",
    "PushHandler",
    "RefUpdate",
    "RepositoryRoot",
    "WebhookHandler",
    "build_git_app",
    "diff_refs",
]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class RefUpdate:
    ref: str
    before: str | None  # None: the ref was created
    after: str | None  # None: the ref was deleted


@dataclass(frozen=True)
class PushEvent:
    repository: str  # the name, without ".git"
    path: Path  # the bare repository
    updates: tuple[RefUpdate, ...]


PushHandler = Callable[[PushEvent], Any]
WebhookHandler = Callable[[WebhookPush], Mapping[str, Any]]


def diff_refs(before: Mapping[str, str], after: Mapping[str, str]) -> list[RefUpdate]:
    """The ref changes between two snapshots, sorted by ref name."""
    updates = []
    for ref in sorted(set(before) | set(after)):
        old, new = before.get(ref), after.get(ref)
        if old != new:
            updates.append(RefUpdate(ref, old, new))
    return updates


class RepositoryRoot:
    """The bare repositories ``<root>/<name>.git`` that the server serves."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @staticmethod
    def check_name(name: str) -> str:
        if not _NAME.match(name) or name.endswith(".git") or ".." in name:
            raise GitServerError(
                f"{name!r} is not a repository name",
                hint="letters, digits, '.', '_' and '-', starting with a letter or digit",
            )
        return name

    def path(self, name: str) -> Path:
        return self.root / f"{self.check_name(name)}.git"

    def exists(self, name: str) -> bool:
        return (self.path(name) / "HEAD").is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name[:-4] for p in self.root.glob("*.git") if (p / "HEAD").is_file())

    def create(self, name: str) -> Path:
        """``git init --bare`` on branch ``main``; an existing repository is kept."""
        path = self.path(name)
        if self.exists(name):
            return path
        self.root.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise GitServerError(f"cannot create {path}: {proc.stderr.strip()}")
        return path

    def refs(self, name: str) -> dict[str, str]:
        with Repo(str(self.path(name))) as repo:
            return {
                ref.decode(): sha.decode()
                for ref, sha in repo.get_refs().items()
                if ref.startswith(b"refs/")
            }


def _backend_environment(
    root: Path, request: Request, path_info: str
) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path_info,
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.url.query,
        "REMOTE_ADDR": request.client.host if request.client else "127.0.0.1",
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        # http.receivepack is off for anonymous users by default (git-http-backend(1)).
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.receivepack",
        "GIT_CONFIG_VALUE_0": "true",
    }
    if "content-length" in request.headers:
        env["CONTENT_LENGTH"] = request.headers["content-length"]
    if "content-encoding" in request.headers:
        env["HTTP_CONTENT_ENCODING"] = request.headers["content-encoding"]
    if "git-protocol" in request.headers:  # protocol v2 (gitprotocol-http(5))
        env["GIT_PROTOCOL"] = request.headers["git-protocol"]
    return env


async def _run_backend(
    root: Path, request: Request, path_info: str,
    finished: Callable[[], Any] | None = None,
) -> Response:
    """Run ``git http-backend`` for one request and stream its CGI answer back."""
    try:
        process = await asyncio.create_subprocess_exec(
            "git", "http-backend", env=_backend_environment(root, request, path_info),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as error:
        if finished is not None:
            await finished()
        return PlainTextResponse(f"cannot run git http-backend: {error}", status_code=500)
    assert process.stdin and process.stdout and process.stderr

    # stdout is drained into a small queue from the start, so the backend never blocks
    # on a full pipe (receive-pack writes progress while it reads the pack), and the
    # request body is fed completely before the response starts: Starlette's
    # StreamingResponse calls receive() itself while streaming and would race us for it.
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=64)

    async def drain() -> None:
        while chunk := await process.stdout.read(65536):  # type: ignore[union-attr]
            await chunks.put(chunk)
        await chunks.put(None)

    async def feed() -> None:
        try:
            async for chunk in request.stream():
                process.stdin.write(chunk)  # type: ignore[union-attr]
                await process.stdin.drain()  # type: ignore[union-attr]
        except (BrokenPipeError, ConnectionResetError):
            pass  # the backend answered without reading everything (an error)
        finally:
            process.stdin.close()  # type: ignore[union-attr]

    async def cleanup() -> None:
        reader.cancel()
        if process.returncode is None:
            process.kill()
            await process.wait()
        if finished is not None:
            await finished()

    reader = asyncio.create_task(drain())
    errors = asyncio.create_task(process.stderr.read())
    try:
        await feed()
        head, rest, ended = b"", b"", False
        while not ended:  # CGI header block (RFC 3875 section 6), ended by an empty line
            match = re.search(rb"\r?\n\r?\n", head)
            if match:
                head, rest = head[:match.start()], head[match.end():]
                break
            chunk = await chunks.get()
            ended = chunk is None
            head += chunk or b""
    except BaseException:
        await cleanup()
        raise
    status, headers = 200, {}
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key.strip():
            headers[key.strip()] = value.strip()

    async def body() -> AsyncIterator[bytes]:
        try:
            if rest:
                yield rest
            while not ended and (chunk := await chunks.get()) is not None:
                yield chunk
            await process.wait()
            stderr = (await errors).decode(errors="replace").strip()
            if stderr:
                log.info("git http-backend %s: %s", path_info, stderr)
        finally:
            await cleanup()

    return StreamingResponse(body(), status_code=status, headers=headers)


def build_git_app(
    repositories: RepositoryRoot, *, on_push: PushHandler | None = None,
    on_webhook: WebhookHandler | None = None, webhook_secret: str | None = None,
) -> Starlette:
    """The server's ASGI app: smart-HTTP git routes and the push webhook."""
    locks: dict[str, asyncio.Lock] = {}

    def repository(request: Request, *, create: bool = False) -> str | Response:
        name = request.path_params["repo"]
        try:
            RepositoryRoot.check_name(name)
        except GitServerError as error:
            return PlainTextResponse(error.message, status_code=400)
        if not repositories.exists(name):
            if not create:
                return PlainTextResponse(f"repository {name}.git not found", status_code=404)
            repositories.create(name)  # push-to-create, as Gitea/GitLab offer
        return name

    async def info_refs(request: Request) -> Response:
        pushing = request.query_params.get("service") == "git-receive-pack"
        name = repository(request, create=pushing)
        if isinstance(name, Response):
            return name
        return await _run_backend(repositories.root, request, f"/{name}.git/info/refs")

    async def upload_pack(request: Request) -> Response:
        name = repository(request)
        if isinstance(name, Response):
            return name
        return await _run_backend(repositories.root, request, f"/{name}.git/git-upload-pack")

    async def receive_pack(request: Request) -> Response:
        name = repository(request)
        if isinstance(name, Response):
            return name
        lock = locks.setdefault(name, asyncio.Lock())
        await lock.acquire()
        before = await asyncio.to_thread(repositories.refs, name)

        async def finished() -> None:
            try:
                updates = diff_refs(before, await asyncio.to_thread(repositories.refs, name))
                if updates and on_push is not None:
                    event = PushEvent(name, repositories.path(name), tuple(updates))
                    await asyncio.to_thread(on_push, event)
            except Exception:  # noqa: BLE001 — the push itself succeeded; say why the trigger did not
                log.exception("push trigger for %s failed", name)
            finally:
                lock.release()

        return await _run_backend(
            repositories.root, request, f"/{name}.git/git-receive-pack", finished
        )

    async def index(request: Request) -> Response:
        return JSONResponse({"repositories": [
            {"name": name, "url": f"{str(request.base_url).rstrip('/')}/{name}.git"}
            for name in repositories.names()
        ]})

    async def webhook(request: Request) -> Response:
        if on_webhook is None:
            return JSONResponse({"error": "webhooks are not enabled"}, status_code=404)
        body = await request.body()
        try:
            push = parse_push_webhook(request.headers, body, secret=webhook_secret)
        except WebhookRejected as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        if push is None:
            return JSONResponse({"ok": True, "event": "ping"})
        try:
            answer = await asyncio.to_thread(on_webhook, push)
        except WebhookRejected as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        return JSONResponse(dict(answer), status_code=202 if "run" in answer else 200)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/hooks/push", webhook, methods=["POST"]),
        Route("/{repo}.git/info/refs", info_refs, methods=["GET"]),
        Route("/{repo}.git/git-upload-pack", upload_pack, methods=["POST"]),
        Route("/{repo}.git/git-receive-pack", receive_pack, methods=["POST"]),
    ]
    return Starlette(routes=routes)
