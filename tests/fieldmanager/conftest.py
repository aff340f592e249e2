import pytest

from shiplane.cluster.openapi import SchemaCatalog


@pytest.fixture(scope="session")
def catalog() -> SchemaCatalog:
    return SchemaCatalog()


@pytest.fixture(scope="session")
def deployment_type(catalog):
    return catalog.type_for("apps/v1", "Deployment")


@pytest.fixture(scope="session")
def configmap_type(catalog):
    return catalog.type_for("v1", "ConfigMap")
