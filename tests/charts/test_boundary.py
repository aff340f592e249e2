"""Only shiplane.charts._sdk imports helm_python; public names are really exported."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import shiplane

SRC = Path(shiplane.__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_helm_python_is_imported_only_by_the_charts_boundary():
    importers = {
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if any(name.split(".")[0] == "helm_python" for name in imported_modules(path))
    }
    assert importers == {"charts/_sdk.py"}


@pytest.mark.parametrize("package", ["shiplane.charts", "shiplane.scaffold",
                                     "shiplane.quickstart"])
def test_public_names_exist(package):
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
    assert sorted(module.__all__) == sorted(set(module.__all__))
