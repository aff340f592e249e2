"""The public API of the part-2 packages is explicit and importable (httpx test_exported_members)."""

import importlib

import pytest


@pytest.mark.parametrize("package", ["shiplane.cluster.fieldmanager", "shiplane.cluster.openapi",
                                     "shiplane.cluster.crd", "shiplane.cluster.auth"])
def test_all_names_exist_and_are_sorted_uniquely(package):
    module = importlib.import_module(package)
    names = module.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(module, name), f"{package}.{name}"
