"""shiplane.pipeline's __all__ is honest: every name exists and submodules' names are there."""

from __future__ import annotations

import importlib
import pkgutil

import shiplane.pipeline as pipeline


def test_every_exported_name_exists_and_is_sorted():
    for name in pipeline.__all__:
        assert hasattr(pipeline, name), name
    assert list(pipeline.__all__) == sorted(pipeline.__all__, key=lambda n: (not n.isupper(), n))


def test_submodule_public_names_are_exported():
    missing = []
    for module in pkgutil.iter_modules(pipeline.__path__):
        loaded = importlib.import_module(f"shiplane.pipeline.{module.name}")
        for name in getattr(loaded, "__all__", ()):
            if name not in pipeline.__all__:
                missing.append(f"{module.name}.{name}")
    assert missing == []
