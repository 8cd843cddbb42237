"""Property-based tests generated from our own OpenAPI document (schemathesis): every operation,
with generated valid and invalid input, never answers 5xx and answers as documented."""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from finsys.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
# External payments answer 501 by design until the settlement issue lands.
operations = schema.exclude(path_regex="payments")


@operations.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_and_never_5xx(case: Any, api: Any) -> None:
    headers = {"Authorization": f"Bearer {api.token}", "Idempotency-Key": str(uuid.uuid4())}
    case.call_and_validate(
        headers=headers, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
    )
