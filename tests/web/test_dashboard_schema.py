"""The JSON API against its own OpenAPI spec with schemathesis (a quick run: a few generated
requests per operation, in-process). Every answer must be documented (status code, content
type, body schema) and no request may cause a server error. The SSE stream never ends by
design and is excluded here; the browser tests watch it.

schemathesis' pytest loader (``from_fixture``) relies on a pytest internal that pytest 9
removed, so the operations are walked here and each gets its own hypothesis run."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.slow


def test_api_conforms_to_its_openapi_spec(delivered):
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", delivered.app()).exclude(
        operation_id="streamRollout")
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=2, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def conforms(case):
            case.call_and_validate()

        conforms()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) == 15, checked
