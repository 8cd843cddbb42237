"""Property-based tests generated from our own OpenAPI document (schemathesis): every operation,
with generated valid and invalid input, never answers 5xx and answers as documented.

Each case is counted in the reliability report (tests/reliability/report.py): the cases sent,
those generated in negative mode (input that breaks the schema: the bad inputs tried), and the
operations covered."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from finsys.wsgi import application
from tests.reliability.report import Section


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """Calls straight into the WSGI app would close the test's connection at request end;
    Django's test Client suppresses that the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
operations = schema


@operations.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_and_never_5xx(
    case: Any, api: Any, in_test_transaction: None, reliability: Callable[[str], Section]
) -> None:
    fuzz = reliability("schema fuzz (schemathesis)")
    operation = case.operation.label  # the documented one (a negative case may send another method)
    fuzz.details["operations in the schema"] = len(schema)
    fuzz.requests += 1
    fuzz.operations.add(operation)
    if case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE:
        fuzz.bad_inputs += 1
    headers = {"Authorization": f"Bearer {api.token}", "Idempotency-Key": str(uuid.uuid4())}
    with fuzz.timed(), fuzz.check(f"{operation}: never 5xx, documented status and body"):
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
        )
