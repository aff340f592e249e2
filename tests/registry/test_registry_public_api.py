"""The package's public names exist, are unique, and the docstring's example names are real."""

import importlib

import shiplane.registry as registry


def test_public_names_exist_and_are_unique():
    assert [name for name in registry.__all__ if not hasattr(registry, name)] == []
    assert len(registry.__all__) == len(set(registry.__all__))


def test_documented_client_api_exists():
    for name in ["push_blob", "pull_blob", "push_manifest", "get_manifest", "manifest_exists",
                 "delete_manifest", "delete_blob", "list_tags", "referrers", "blob_exists", "catalog", "ping"]:
        assert callable(getattr(registry.RegistryClient, name))
    for name in ["push_oci_layout", "pull_to_oci_layout", "copy_image"]:
        assert callable(getattr(registry, name))
    assert importlib.import_module("shiplane.registry.client").RegistryClient is registry.RegistryClient
