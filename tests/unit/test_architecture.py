"""The declared layers (pyproject [tool.importlinter]) hold: checked by import-linter."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_layers_are_respected():
    proc = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=ROOT, capture_output=True, text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "KEPT" in proc.stdout


def test_test_module_names_are_unique():
    # pytest's default (prepend) import mode cannot collect two test modules with one basename.
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_every_test_folder_is_collected():
    # pytest skips folders named like build/, dist/ or venv/ (default norecursedirs).
    import re
    skipped = re.compile(r"^(build|dist|venv|node_modules|CVS|_darcs|.*\.egg|\..*)$")
    folders = [p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert [name for name in folders if skipped.match(name)] == []
