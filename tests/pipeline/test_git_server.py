"""The local git server with the real git CLI, and its routes in-process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess

import httpx
import pytest

from gitcli import git
from shiplane.pipeline import (
    GitServerError,
    MemoryRunStore,
    PipelineRunner,
    PushTrigger,
    RefUpdate,
    RepositoryRoot,
    RunQueue,
    RunStatus,
    StepStatus,
    Trigger,
    build_git_app,
    diff_refs,
    sign_body,
    triggering_updates,
)


def test_push_to_main_triggers_a_run_with_the_pushed_commit(service_repo, make_pipeline_server):
    ci = make_pipeline_server(until="test")
    url = ci.clone_url("payment-service")
    head = git(service_repo, "rev-parse", "HEAD")
    git(service_repo, "push", "-q", url, "main")
    # when `git push` returns, the run is already recorded
    [run] = ci.store.list()
    assert (run.trigger, run.commit, run.ref) == (Trigger.PUSH, head, "refs/heads/main")
    assert run.service == "payment-service" and run.model == 1
    assert ci.wait_idle(120)
    run = ci.store.get(run.id)
    assert run.status is RunStatus.SUCCEEDED, run.to_dict()
    assert run.step("checkout").summary == f"checked out {head[:7]}"
    assert run.step("test").status is StepStatus.SUCCEEDED
    assert " passed in " in run.step("test").log
    assert run.source == str(ci.state_dir / "git" / "payment-service.git")


@pytest.mark.parametrize("protocol", ["0", "2"])
def test_clone_gets_what_was_pushed(service_repo, git_server, tmp_path, protocol):
    url = git_server.clone_url("payment-service")
    git(service_repo, "push", "-q", url, "main")
    clone = tmp_path / "clone"
    subprocess.run(["git", "-c", f"protocol.version={protocol}", "clone", "-q", url, str(clone)],
                   check=True, capture_output=True, timeout=60)
    assert git(clone, "rev-parse", "HEAD") == git(service_repo, "rev-parse", "HEAD")
    assert (clone / "helm" / "Chart.yaml").read_bytes() == \
        (service_repo / "helm" / "Chart.yaml").read_bytes()
    assert git(clone, "status", "--porcelain") == ""


def test_only_main_of_a_service_repo_triggers(service_repo, make_pipeline_server, tmp_path):
    ci = make_pipeline_server(until="checkout")
    url = ci.clone_url("payment-service")
    git(service_repo, "push", "-q", url, "main")
    git(service_repo, "push", "-q", url, "main:feature/x")  # another branch: no run
    (service_repo / "README.md").write_text("# changed\n")
    git(service_repo, "commit", "-qam", "docs")
    git(service_repo, "push", "-q", url, "main")  # main moved: a second run
    assert ci.wait_idle(60)
    runs = ci.store.list()
    assert [r.commit for r in runs] == [git(service_repo, "rev-parse", "HEAD"),
                                        git(service_repo, "rev-parse", "HEAD~1")]
    assert all(r.status is RunStatus.SUCCEEDED for r in runs)
    # a repository without a chart (a platform repo, docs...) starts nothing
    other = tmp_path / "notes"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    (other / "a.txt").write_text("a\n")
    git(other, "add", "a.txt")
    git(other, "commit", "-qm", "a")
    git(other, "push", "-q", ci.clone_url("notes"), "main")
    assert len(ci.store.list()) == 2
    assert ci.git.repositories.names() == ["notes", "payment-service"]


def test_clone_of_an_unknown_repository_fails(git_server, tmp_path):
    proc = subprocess.run(["git", "clone", git_server.clone_url("nothing"), str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "not found" in proc.stderr
    assert not (tmp_path / "git" / "nothing.git").exists()


def test_pure_ref_decisions():
    a, b = "a" * 40, "b" * 40
    updates = diff_refs({"refs/heads/main": a, "refs/heads/old": a},
                        {"refs/heads/main": b, "refs/heads/new": b, "refs/tags/v1": a})
    assert updates == [RefUpdate("refs/heads/main", a, b), RefUpdate("refs/heads/new", None, b),
                       RefUpdate("refs/heads/old", a, None), RefUpdate("refs/tags/v1", None, a)]
    assert triggering_updates(tuple(updates), "main") == [updates[0]]
    assert triggering_updates((RefUpdate("refs/heads/main", a, None),), "main") == []
    assert diff_refs({"refs/heads/main": a}, {"refs/heads/main": a}) == []


@pytest.mark.parametrize("name", ["", "-x", "a/b", "..", "x.git", "a b", "é"])
def test_repository_names_are_checked(name, tmp_path):
    with pytest.raises(GitServerError, match="is not a repository name"):
        RepositoryRoot(tmp_path).path(name)


# --- the ASGI app in-process (httpx ASGI transport) -----------------------------------------


@pytest.fixture
def app_parts(tmp_path):
    store = MemoryRunStore()
    runner = PipelineRunner(store, state_dir=tmp_path / "state")
    queue = RunQueue(runner).start()
    repositories = RepositoryRoot(tmp_path / "ci-git")
    trigger = PushTrigger(queue.submit, repositories, until="checkout")
    app = build_git_app(repositories, on_push=trigger.on_push, on_webhook=trigger.on_webhook,
                        webhook_secret="s3cret")
    yield app, repositories, store, queue
    queue.stop()


def _call(app, method: str, path: str, **kwargs) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://git.test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def _webhook(app, payload: dict, *, secret: str = "s3cret", event: str = "push"):
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json",
               "X-Hub-Signature-256": "sha256=" + sign_body(secret, body)}
    return _call(app, "POST", "/hooks/push", content=body, headers=headers)


def test_routes(app_parts, service_repo):
    app, repositories, _, _ = app_parts
    assert _call(app, "GET", "/").json() == {"repositories": []}
    missing = _call(app, "GET", "/nothing.git/info/refs?service=git-upload-pack")
    assert missing.status_code == 404
    assert _call(app, "GET", "/-bad.git/info/refs?service=git-upload-pack").status_code == 400
    assert _call(app, "POST", "/nothing.git/git-receive-pack").status_code == 404
    # asking to push creates the repository (push-to-create)
    advert = _call(app, "GET", "/payment-service.git/info/refs?service=git-receive-pack")
    assert advert.status_code == 200
    assert advert.headers["content-type"] == "application/x-git-receive-pack-advertisement"
    assert b"# service=git-receive-pack" in advert.content
    assert repositories.names() == ["payment-service"]
    assert _call(app, "GET", "/").json()["repositories"] == [
        {"name": "payment-service", "url": "http://git.test/payment-service.git"}]


def test_webhook_for_a_local_repository_starts_a_run(app_parts, service_repo):
    app, repositories, store, queue = app_parts
    bare = repositories.create("payment-service")
    git(service_repo, "push", "-q", str(bare), "main")
    head = git(service_repo, "rev-parse", "HEAD")
    payload = {"ref": "refs/heads/main", "before": "0" * 40, "after": head,
               "repository": {"name": "payment-service", "clone_url": "https://x/y.git"}}
    answer = _webhook(app, payload)
    assert answer.status_code == 202
    assert answer.json() == {"run": 1, "service": "payment-service", "commit": head}
    assert queue.wait_idle(60)
    run = store.get(1)
    assert (run.trigger, run.source, run.status) == (Trigger.WEBHOOK, str(bare), RunStatus.SUCCEEDED)
    # other branches, deletions, pings and bad signatures start nothing
    other = _webhook(app, {**payload, "ref": "refs/heads/dev"})
    assert other.status_code == 200 and "is not refs/heads/main" in other.json()["ignored"]
    gone = _webhook(app, {**payload, "after": "0" * 40})
    assert gone.json() == {"ignored": "refs/heads/main was deleted"}
    assert _webhook(app, {}, event="ping").json() == {"ok": True, "event": "ping"}
    forged = _webhook(app, payload, secret="guess")
    assert forged.status_code == 401 and "does not match" in forged.json()["error"]
    assert len(store.list()) == 1


def test_webhook_for_a_remote_repository_clones_it(app_parts, service_repo, git_server):
    app, _, store, queue = app_parts
    remote = git_server.clone_url("payment-service")  # another git host, over HTTP
    git(service_repo, "push", "-q", remote, "main")
    head = git(service_repo, "rev-parse", "HEAD")
    answer = _webhook(app, {"ref": "refs/heads/main", "before": "0" * 40, "after": head,
                            "repository": {"name": "payment-service", "clone_url": remote}})
    assert answer.status_code == 202
    assert queue.wait_idle(60)
    run = store.get(answer.json()["run"])
    assert run.status is RunStatus.SUCCEEDED, run.to_dict()
    assert run.source == remote and run.commit == head
    assert remote in run.step("checkout").log
    no_url = _webhook(app, {"ref": "refs/heads/main", "after": head,
                            "repository": {"name": "elsewhere"}})
    assert no_url.status_code == 422


def test_a_large_push_with_progress_and_a_clone_of_it(git_server, tmp_path):
    """> http.postBuffer (1 MiB): git sends the pack chunked; --progress makes receive-pack
    write sideband progress while it still reads the pack."""
    repo = tmp_path / "big"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    git(repo, "add", "blob.bin")
    git(repo, "commit", "-qm", "big")
    url = git_server.clone_url("big")
    pushed = subprocess.run(["git", "-C", str(repo), "push", "--progress", url, "main"],
                            capture_output=True, text=True, timeout=60)
    assert pushed.returncode == 0, pushed.stderr
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", url, str(clone)], check=True, timeout=60)
    assert (clone / "blob.bin").read_bytes() == (repo / "blob.bin").read_bytes()
