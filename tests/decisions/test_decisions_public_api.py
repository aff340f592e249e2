"""Every name the decisions package (and each of its modules) exports exists."""

import importlib
import pkgutil

import shiplane.cluster.decisions as decisions


def test_package_all_is_honest_and_sorted():
    assert decisions.__all__ == sorted(decisions.__all__)
    for name in decisions.__all__:
        assert getattr(decisions, name) is not None


def test_module_all_lists_exist():
    for info in pkgutil.iter_modules(decisions.__path__):
        module = importlib.import_module(f"shiplane.cluster.decisions.{info.name}")
        for name in getattr(module, "__all__", []):
            assert hasattr(module, name), f"{info.name}.{name}"
