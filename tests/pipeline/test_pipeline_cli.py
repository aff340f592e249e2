"""``shiplane pipeline …`` and ``shiplane git serve`` as a person uses them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import shiplane
from gitcli import git
from shiplane.testing import run_cli


def test_run_list_show_logs(service_repo, break_a_test, workspace_dir):
    ok = run_cli(["pipeline", "run", "--repo", str(service_repo), "--until", "test",
                  "--output", "json"])
    assert ok.exit_code == 0, ok.output
    first = json.loads(ok.stdout)
    assert first["id"] == 1 and first["status"] == "succeeded"
    assert [s["status"] for s in first["steps"]] == ["succeeded"] + ["skipped"] * 4

    break_a_test(service_repo)
    failed = run_cli(["pipeline", "run", "--repo", str(service_repo)])
    assert failed.exit_code == 1
    assert "refund rounding is off" in failed.stdout  # the log tail of the failing step
    assert "failed at test: tests failed (exit status 1)" in failed.stdout
    assert "shiplane pipeline logs 2 --step test" in failed.stdout

    listing = json.loads(run_cli(["pipeline", "list", "--output", "json"]).stdout)
    assert (listing[1]["id"], listing[1]["status"]) == (1, "succeeded")
    assert listing[0]["id"] == 2 and listing[0]["status"] == "failed"
    assert listing[0]["commit"] == git(service_repo, "rev-parse", "HEAD")
    assert "log" not in listing[0]["steps"][0]
    table = run_cli(["pipeline", "list"]).stdout
    assert re.search(r"2 .*payment-service.*manual.*failed", table)

    shown = run_cli(["pipeline", "show", "2"])
    assert shown.exit_code == 0
    assert "trigger   manual" in shown.stdout and "refund rounding is off" in shown.stdout
    assert json.loads(run_cli(["pipeline", "show", "2", "-o", "json"]).stdout)["error"] == \
        "test: tests failed (exit status 1)"

    log = run_cli(["pipeline", "logs", "2", "--step", "test"])
    assert log.stdout.startswith("$ ") and "1 failed" in log.stdout
    every = run_cli(["pipeline", "logs", "2"]).stdout
    assert re.search(r"^test ─", every, re.M) and re.search(r"^deploy ─", every, re.M)


def test_bad_input(workspace_dir, service_repo):
    missing = run_cli(["pipeline", "show", "42"])
    assert missing.exit_code == 2 and "no pipeline run 42" in missing.stderr
    assert run_cli(["pipeline", "list", "-o", "yaml"]).exit_code == 2
    not_service = run_cli(["pipeline", "run", "--repo", str(workspace_dir)])
    assert not_service.exit_code == 2 and "not a service repository" in not_service.stderr
    env = run_cli(["pipeline", "run", "--repo", str(service_repo), "--env", "qa"])
    assert env.exit_code == 2 and "unknown environment 'qa'" in env.stderr
    until = run_cli(["pipeline", "run", "--repo", str(service_repo), "--until", "bump"])
    assert until.exit_code == 2 and "no such step" in until.stderr
    assert "no pipeline runs yet" in run_cli(["pipeline", "list"]).stdout
    step = run_cli(["pipeline", "logs", "1", "--step", "x"])
    assert step.exit_code == 2


def test_git_serve_runs_the_pipeline_on_push(service_repo, tmp_path):
    src = str(Path(shiplane.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": src, "SHIPLANE_STATE_DIR": str(tmp_path / "state"),
           "COLUMNS": "200"}
    server = subprocess.Popen(
        [sys.executable, "-m", "shiplane", "git", "serve", "--port", "0", "--until", "checkout"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        first = server.stdout.readline()
        match = re.search(r"git server: (http://127\.0\.0\.1:\d+)", first)
        assert match, first + server.stdout.read()
        url = match.group(1)
        git(service_repo, "push", "-q", f"{url}/payment-service.git", "main")
        deadline = time.monotonic() + 60
        while True:
            listing = subprocess.run(
                [sys.executable, "-m", "shiplane", "pipeline", "list", "-o", "json"],
                cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
            runs = json.loads(listing.stdout)
            if runs and runs[0]["status"] in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline, runs
            time.sleep(0.2)
        assert runs[0]["trigger"] == "push" and runs[0]["status"] == "succeeded"
        assert runs[0]["commit"] == git(service_repo, "rev-parse", "HEAD")
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert "▶ checkout" in output and "✓ checkout" in output  # the live view of the run


def test_logs_follow_a_run_until_it_ends(service_repo, workspace_dir):
    import threading

    from shiplane.pipeline import PipelineRunner, RunRequest, StepContext, StepRegistry
    from shiplane.pipeline import open_run_store

    release = threading.Event()

    def slow(context: StepContext) -> None:
        context.log.write("compiling")
        release.wait(10)
        context.log.write("done")

    store = open_run_store(workspace_dir / ".shiplane")
    runner = PipelineRunner(store, state_dir=workspace_dir / ".shiplane",
                            steps=StepRegistry({"test": slow}))
    runner.log_save_interval = 0.0
    request = RunRequest(source=str(service_repo), service="payment-service", model=1,
                         until="test")
    run = runner.create(request)
    worker = threading.Thread(target=runner.execute, args=(run, request))
    worker.start()
    threading.Timer(0.5, release.set).start()
    followed = run_cli(["pipeline", "logs", str(run.id), "--follow"])
    worker.join()
    store.close()
    assert followed.exit_code == 0
    assert "compiling\ndone\n" in followed.stdout and re.search(r"^test ─", followed.stdout, re.M)
    assert "build" not in followed.stdout  # skipped steps have no log
