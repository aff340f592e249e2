import shiplane
from shiplane.testing import run_cli, shiplane_command


def test_version():
    result = run_cli(["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"shiplane {shiplane.__version__}"


def test_help_lists_command_groups():
    result = run_cli(["--help"])
    assert result.exit_code == 0
    assert "config" in result.stdout


def test_unknown_command_is_a_usage_error_exit_2():
    result = run_cli(["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_user_error_is_one_line_and_exit_1_without_traceback(workspace_dir):
    (workspace_dir / "shiplane.yaml").write_text("environments:\n  dev:\n    namespace: BAD\n")
    result = run_cli(["config", "check", "shiplane.yaml"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: shiplane.yaml:3: environments.dev.namespace")
    assert "Traceback" not in result.stderr


def test_debug_shows_traceback(workspace_dir):
    (workspace_dir / "shiplane.yaml").write_text("version: 7\n")
    result = run_cli(["--debug", "config", "check", "shiplane.yaml"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_console_entry_point_runs_as_a_process(tmp_path):
    proc = shiplane_command(["config", "show"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "dev" in proc.stdout and "embedded" in proc.stdout


def test_only_the_named_group_is_imported():
    # A command pays only for its own group's imports (e.g. `config` never loads Helm's SDK).
    proc = shiplane_command(["config", "show"], env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "helm_python" not in proc.stderr
    assert "shiplane.cli.build_cmd" not in proc.stderr


def test_help_still_lists_every_group():
    from shiplane.cli.app import COMMAND_GROUPS

    result = run_cli(["--help"])
    for name, _, _ in COMMAND_GROUPS:
        assert name in result.stdout
