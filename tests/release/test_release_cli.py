"""The deploy/history/diff/rollback commands against ``shiplane cluster up``'s embedded cluster
(the ``cluster: embedded`` path of shiplane.yaml: TLS + client-certificate kubeconfig)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shiplane.cluster import cluster_down, cluster_up
from shiplane.scaffold import init_service
from shiplane.testing.cli import run_cli

pytestmark = pytest.mark.slow
SERVICE = "payment-service"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cli")
    state = root / ".shiplane"
    (root / "shiplane.yaml").write_text(
        "version: 1\nenvironments:\n  dev:\n    cluster: embedded\n    namespace: payments-dev\n")
    init_service(SERVICE, directory=root)
    cluster_up(state)
    try:
        yield root
    finally:
        cluster_down(state)


@pytest.fixture(autouse=True)
def _state_dir(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPLANE_STATE_DIR", raising=False)


def test_deploy_history_diff_rollback_commands(workspace: Path) -> None:
    repo = workspace / SERVICE
    first = run_cli(["deploy", SERVICE, "--env", "dev", "--tag", "0123456", "--no-wait",
                     "--output", "json"], cwd=repo)
    assert first.exit_code == 0, first.output
    records = [json.loads(line) for line in first.stdout.splitlines()]
    assert records[0] == {"step": "namespace", "subject": "namespace/payments-dev",
                          "detail": "created namespace payments-dev"}
    assert records[-1]["step"] == "done"
    assert (records[-1]["revision"], records[-1]["action"]) == (1, "install")

    second = run_cli(["deploy", str(repo), "--env", "dev", "--tag", "v2", "--no-wait"],
                     cwd=workspace)
    assert second.exit_code == 0, second.output
    assert "payment-service: revision 2 deployed in namespace payments-dev" in second.stdout

    diff = run_cli(["diff", ".", "--env", "dev", "--tag", "v3", "--exit-code"], cwd=repo)
    assert diff.exit_code == 1, diff.output
    assert f"--- live/Deployment/payments-dev/{SERVICE}" in diff.stdout
    assert "1 object(s) would change" in diff.stdout
    same = run_cli(["diff", ".", "--env", "dev", "--tag", "v2"], cwd=repo)
    assert same.exit_code == 0 and "no changes" in same.stdout, same.output

    back = run_cli(["rollback", SERVICE, "1", "--env", "dev", "--no-wait"], cwd=workspace)
    assert back.exit_code == 0, back.output
    assert "revision 3 deployed (Rollback to 1)" in back.stdout

    history = run_cli(["history", SERVICE, "--env", "dev", "--output", "json"], cwd=workspace)
    assert history.exit_code == 0, history.output
    assert [(r["revision"], r["status"]) for r in json.loads(history.stdout)] == [
        (1, "superseded"), (2, "superseded"), (3, "deployed")]
    table = run_cli(["history", SERVICE, "--env", "dev"], cwd=workspace)
    assert "REVISION" in table.stdout and "Rollback to 1" in table.stdout


def test_command_errors_are_clear(workspace: Path) -> None:
    missing = run_cli(["rollback", SERVICE, "42", "--env", "dev"], cwd=workspace)
    assert missing.exit_code == 1
    assert "has no revision 42" in missing.output
    unknown_env = run_cli(["history", SERVICE, "--env", "qa"], cwd=workspace)
    assert unknown_env.exit_code == 1 and "no environment 'qa'" in unknown_env.output
    bad_output = run_cli(["deploy", SERVICE, "--env", "dev", "--output", "xml"],
                         cwd=workspace / SERVICE)
    assert bad_output.exit_code == 2 and "--output 'xml'" in bad_output.output
    not_repo = run_cli(["deploy", "nothing-here", "--env", "dev"], cwd=workspace)
    assert not_repo.exit_code == 1 and "not a service repository" in not_repo.output
