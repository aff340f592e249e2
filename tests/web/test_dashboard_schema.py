"""The JSON API against its own OpenAPI spec with schemathesis (a quick run: a few generated
requests per operation, in-process). Every answer must be documented (status code, content
type, body schema) and no request may cause a server error. The SSE stream never ends by
design and is excluded here; the browser tests watch it."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def web_schema(delivered):
    return schemathesis.openapi.from_asgi("/api/openapi.json", delivered.app()).exclude(
        operation_id="streamRollout")


schema = schemathesis.pytest.from_fixture("web_schema")


@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_spec(case):
    case.call_and_validate()
