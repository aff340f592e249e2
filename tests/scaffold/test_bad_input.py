"""Section 6: each bad input gets one clear error and nothing is half-written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import shiplane
from shiplane.testing import run_cli


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Payment-Service", "not a DNS-1123 label"),
        ("payment_service", "not a DNS-1123 label"),
        ("-payment", "not a DNS-1123 label"),
        ("payment-", "not a DNS-1123 label"),
        ("a" * 54, "54 characters long; at most 53"),
    ],
)
def test_bad_service_names(tmp_path, name, problem):
    # "--" so that "-payment" reaches the name check instead of the option parser
    result = run_cli(["init", "service", "--dir", str(tmp_path), "--", name])
    assert result.exit_code == 2
    assert problem in result.stderr and result.stderr.count("error:") == 1
    assert leftovers(tmp_path) == []


def test_a_53_character_name_is_accepted(tmp_path):
    name = "a" * 53
    result = run_cli(["init", "service", name, "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert leftovers(tmp_path) == [name]


def test_non_empty_target_is_refused_and_untouched(tmp_path):
    target = tmp_path / "payment-service"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    result = run_cli(["init", "service", "payment-service", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.stderr and "--force" in result.stderr
    assert leftovers(target) == ["notes.txt"] and leftovers(tmp_path) == ["payment-service"]


def test_empty_target_folder_is_used(tmp_path):
    (tmp_path / "payment-service").mkdir()
    result = run_cli(["init", "service", "payment-service", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "payment-service" / "helm" / "Chart.yaml").is_file()


def test_force_moves_the_existing_folder_aside_never_overwriting(tmp_path):
    target = tmp_path / "payment-service"
    target.mkdir()
    (target / "README.md").write_text("the user's own readme")
    result = run_cli(["init", "service", "payment-service", "--dir", str(tmp_path), "--force"])
    assert result.exit_code == 0, result.output
    backups = [p for p in tmp_path.iterdir() if p.name.startswith("payment-service.bak-")]
    assert len(backups) == 1 and "moved the previous folder" in result.stdout
    assert (backups[0] / "README.md").read_text() == "the user's own readme"
    assert "the user's own readme" not in (target / "README.md").read_text()


def test_target_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "payment-service").write_text("a file")
    result = run_cli(["init", "service", "payment-service", "--dir", str(tmp_path), "--force"])
    assert result.exit_code == 1 and "is not a folder" in result.stderr
    assert (tmp_path / "payment-service").read_text() == "a file"


def test_unknown_environment(tmp_path):
    result = run_cli(["init", "platform", "k8s-platform-config", "--envs", "dev,qa,prod",
                      "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown environment: qa" in result.stderr and "dev, staging, prod" in result.stderr
    assert leftovers(tmp_path) == []


def test_environments_come_from_shiplane_yaml(tmp_path):
    config = tmp_path / "shiplane.yaml"
    config.write_text("version: 1\nenvironments:\n  qa: {}\n  prod: {namespace: production}\n")
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli(["init", "platform", "plat", "--envs", "qa,prod", "--services", "svc",
                      "--dir", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "namespace: production" in (out / "plat/argocd-apps/svc.yaml").read_text()


def test_parent_that_is_not_a_folder(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    result = run_cli(["init", "service", "payment-service", "--dir", str(blocker)])
    assert result.exit_code == 1 and "is not a folder" in result.stderr
    assert leftovers(tmp_path) == ["blocker"]


def test_unwritable_directory_on_a_read_only_filesystem(tmp_path):
    """bubblewrap mounts the folder read-only (root ignores permission bits)."""
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    result = _readonly_run(readonly, ["init", "service", "payment-service", "--dir",
                                      str(readonly)])
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"cannot write in {readonly}: Read-only file system" in result.stderr
    assert leftovers(readonly) == []


def test_platform_add_service_bad_name_in_a_platform_repo(platform_repo, tmp_path):
    copy = tmp_path / "p"
    shutil.copytree(platform_repo.path, copy)
    result = run_cli(["platform", "add-service", "Bad_Name", "--dir", str(copy)])
    assert result.exit_code == 2 and "DNS-1123" in result.stderr


def _readonly_run(folder: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    bwrap = shutil.which("bwrap")
    assert bwrap, "bubblewrap is a system package of scripts/setup.sh"
    src = Path(shiplane.__file__).resolve().parent.parent
    return subprocess.run(
        [bwrap, "--bind", "/", "/", "--ro-bind", str(folder), str(folder),
         "--dev", "/dev", "--proc", "/proc", sys.executable, "-m", "shiplane", *args],
        env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True, text=True, timeout=120,
    )


def test_add_service_in_a_read_only_platform_repo_changes_nothing(platform_repo, tmp_path, git):
    copy = tmp_path / "p"
    shutil.copytree(platform_repo.path, copy)
    result = _readonly_run(copy, ["platform", "add-service", "orders", "--dir", str(copy)])
    assert result.returncode == 1 and "Read-only file system" in result.stderr
    assert git(copy, "status", "--porcelain", "--ignored") == ""
    assert git(copy, "rev-list", "--count", "HEAD").strip() == "1"


def test_unknown_model_is_a_usage_error(tmp_path):
    result = run_cli(["init", "service", "svc", "--model", "3", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and leftovers(tmp_path) == []
