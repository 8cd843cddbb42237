"""Whatever arrives, the API answers a 4xx problem+json and changes nothing (API.md "Errors")."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import AccessToken

from apps.accounts.models import Account
from apps.common.models import IdempotencyRecord
from apps.transactions.models import JournalEntry, Posting
from tests.support import assert_problem

LIMIT = settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def everything() -> tuple[Any, ...]:
    return (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        IdempotencyRecord.objects.count(),
        sorted(Account.objects.values_list("pk", "balance", "available", "status")),
    )


@pytest.fixture
def pair(make_account) -> tuple[Account, Account]:
    return make_account(balance="100"), make_account()


def transfer_json(pair: tuple[Account, Account], **extra: Any) -> dict[str, Any]:
    source, target = pair
    return {
        "from_account": str(source.public_id),
        "to_account": str(target.public_id),
        "amount": "1.00",
        "currency": "CNY",
        **extra,
    }


def raw_post(api: Any, path: str, data: Any, content_type: str, **extra: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api.token}", "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4()), **extra}
    return api.http.post(path, data, content_type=content_type, **headers)


def padded_transfer(pair: tuple[Account, Account], size: int) -> str:
    """A valid transfer document padded with trailing whitespace to exactly `size` bytes."""
    text = json.dumps(transfer_json(pair))
    return text + " " * (size - len(text.encode()))


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# (name, request, status, code): each request is refused with nothing changed.
Case = tuple[str, Callable[[Any, tuple[Account, Account]], Any], int, str]
CASES: list[Case] = [
    ("malformed json", lambda api, p: api.post("/api/v1/transfers/", raw="{not json"), 400, "malformed_json"),
    (
        "truncated json",
        lambda api, p: api.post("/api/v1/transfers/", raw=json.dumps(transfer_json(p))[:-1]),
        400,
        "malformed_json",
    ),
    (
        "trailing garbage",
        lambda api, p: api.post("/api/v1/transfers/", raw=json.dumps(transfer_json(p)) + "x"),
        400,
        "malformed_json",
    ),
    ("single quotes", lambda api, p: api.post("/api/v1/transfers/", raw="{'amount': '1'}"), 400, "malformed_json"),
    (
        "not utf-8",
        lambda api, p: raw_post(api, "/api/v1/transfers/", b'{"reference": "\xff\xfe"}', "application/json"),
        400,
        "malformed_json",
    ),
    (
        "NaN",
        lambda api, p: api.post("/api/v1/transfers/", raw=json.dumps(transfer_json(p)).replace('"1.00"', "NaN")),
        400,
        "malformed_json",
    ),
    (
        "Infinity",
        lambda api, p: api.post("/api/v1/transfers/", raw=json.dumps(transfer_json(p)).replace('"1.00"', "Infinity")),
        400,
        "malformed_json",
    ),
    (
        "-Infinity",
        lambda api, p: api.post("/api/v1/transfers/", raw=json.dumps(transfer_json(p)).replace('"1.00"', "-Infinity")),
        400,
        "malformed_json",
    ),
    ("100000 levels of [", lambda api, p: api.post("/api/v1/transfers/", raw="[" * 100_000), 400, "malformed_json"),
    (
        "100000 balanced levels",
        lambda api, p: api.post("/api/v1/transfers/", raw=nested(100_000)),
        400,
        "malformed_json",
    ),
    (
        "deep extra field under the recursion limit",
        lambda api, p: api.post(
            "/api/v1/transfers/", raw=json.dumps(transfer_json(p))[:-1] + ', "x": ' + nested(500) + "}"
        ),
        400,
        "malformed_json",
    ),
    (
        "deep objects in an extra field",
        lambda api, p: api.post(
            "/api/v1/transfers/",
            raw=json.dumps(transfer_json(p))[:-1] + ', "x": ' + '{"a":' * 700 + "1" + "}" * 700 + "}",
        ),
        400,
        "malformed_json",
    ),
    (
        "deep amount",
        lambda api, p: api.post("/api/v1/transfers/", transfer_json(p, amount=json.loads(nested(60)))),
        400,
        "validation_error",
    ),
    (
        "NUL in a value",
        lambda api, p: api.post("/api/v1/transfers/", transfer_json(p, reference="a\u0000b")),
        400,
        "validation_error",
    ),
    (
        "NUL in the amount",
        lambda api, p: api.post("/api/v1/transfers/", transfer_json(p, amount="1\u0000")),
        400,
        "validation_error",
    ),
    (
        "NUL in a key",
        lambda api, p: api.post("/api/v1/transfers/", {**transfer_json(p), "x\u0000": "1"}),
        400,
        "validation_error",
    ),
    (
        "NUL in a nested string",
        lambda api, p: api.post("/api/v1/transfers/", transfer_json(p, extra={"a": ["\u0000"]})),
        400,
        "validation_error",
    ),
    (
        "lone surrogate",
        lambda api, p: api.post("/api/v1/transfers/", raw=json.dumps(transfer_json(p, reference="\ud800"))),
        400,
        "validation_error",
    ),
    (
        "lone surrogate in an unknown field of a valid transfer",
        lambda api, p: api.post("/api/v1/transfers/", raw=json.dumps({**transfer_json(p), "note": "\ud800"})),
        400,
        "validation_error",
    ),
    (
        "lone surrogate in a key",
        lambda api, p: api.post("/api/v1/transfers/", raw=json.dumps({**transfer_json(p), "\udfff": "1"})),
        400,
        "validation_error",
    ),
    (
        "%00 in the query string",
        lambda api, p: api.get("/api/v1/accounts/", customer="\u0000"),
        400,
        "validation_error",
    ),
    (
        "%00 in a POST's query string",
        lambda api, p: api.post("/api/v1/transfers/?x=%00", transfer_json(p)),
        400,
        "validation_error",
    ),
    ("%00 in the path", lambda api, p: api.get("/api/v1/accounts/%00/"), 400, "validation_error"),
    (
        "body over 1 MiB",
        lambda api, p: api.post("/api/v1/transfers/", raw=padded_transfer(p, LIMIT + 1)),
        413,
        "payload_too_large",
    ),
    (
        "body of 5 MiB",
        lambda api, p: api.post("/api/v1/transfers/", transfer_json(p, reference="r" * (5 * LIMIT))),
        413,
        "payload_too_large",
    ),
    (
        "body over 1 MiB without an Idempotency-Key",
        lambda api, p: api.post("/api/v1/transfers/", raw=padded_transfer(p, LIMIT + 1), key=None),
        413,
        "payload_too_large",
    ),
    (
        "Content-Length that is not a number",
        lambda api, p: raw_post(
            api, "/api/v1/transfers/", json.dumps(transfer_json(p)), "application/json", CONTENT_LENGTH="ten"
        ),
        400,
        "validation_error",
    ),
    (
        "text/plain",
        lambda api, p: raw_post(api, "/api/v1/transfers/", json.dumps(transfer_json(p)), "text/plain"),
        415,
        "unsupported_media_type",
    ),
    (
        "url-encoded form",
        lambda api, p: raw_post(
            api,
            "/api/v1/transfers/",
            "&".join(f"{k}={v}" for k, v in transfer_json(p).items()),
            "application/x-www-form-urlencoded",
        ),
        415,
        "unsupported_media_type",
    ),
    (
        "multipart form",
        lambda api, p: api.http.post(
            "/api/v1/transfers/",
            transfer_json(p),
            HTTP_AUTHORIZATION=f"Bearer {api.token}",
            HTTP_IDEMPOTENCY_KEY="multipart",
        ),
        415,
        "unsupported_media_type",
    ),
    (
        "application/xml",
        lambda api, p: raw_post(api, "/api/v1/transfers/", "<transfer/>", "application/xml"),
        415,
        "unsupported_media_type",
    ),
    ("GET on transfers", lambda api, p: api.get("/api/v1/transfers/"), 405, "method_not_allowed"),
    ("GET on deposits", lambda api, p: api.get("/api/v1/deposits/"), 405, "method_not_allowed"),
    (
        "PUT on transfers",
        lambda api, p: api.http.put(
            "/api/v1/transfers/", "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}"
        ),
        405,
        "method_not_allowed",
    ),
    (
        "DELETE on an account",
        lambda api, p: api.http.delete(f"/api/v1/accounts/{p[0].public_id}/", HTTP_AUTHORIZATION=f"Bearer {api.token}"),
        405,
        "method_not_allowed",
    ),
    (
        "PATCH on an account",
        lambda api, p: api.http.patch(
            f"/api/v1/accounts/{p[0].public_id}/",
            '{"balance": "1000000"}',
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {api.token}",
        ),
        405,
        "method_not_allowed",
    ),
    ("unknown path", lambda api, p: api.get("/api/v1/nothing/"), 404, "not_found"),
    ("unknown path without a token", lambda api, p: api.http.get("/api/v1/nothing/"), 404, "not_found"),
    ("POST to an unknown path", lambda api, p: api.post("/api/v1/nothing/", transfer_json(p)), 404, "not_found"),
    ("transaction id that is not a uuid", lambda api, p: api.get("/api/v1/transactions/not-a-uuid/"), 404, "not_found"),
    (
        "no token",
        lambda api, p: api.http.post(
            "/api/v1/transfers/",
            json.dumps(transfer_json(p)),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="k",
        ),
        401,
        "not_authenticated",
    ),
    (
        "bad token",
        lambda api, p: raw_post(
            api,
            "/api/v1/transfers/",
            json.dumps(transfer_json(p)),
            "application/json",
            HTTP_AUTHORIZATION="Bearer not-a-token",
        ),
        401,
        "not_authenticated",
    ),
    (
        "token of another scheme",
        lambda api, p: raw_post(
            api,
            "/api/v1/transfers/",
            json.dumps(transfer_json(p)),
            "application/json",
            HTTP_AUTHORIZATION=f"Basic {api.token}",
        ),
        401,
        "not_authenticated",
    ),
    (
        "empty bearer",
        lambda api, p: raw_post(
            api, "/api/v1/transfers/", json.dumps(transfer_json(p)), "application/json", HTTP_AUTHORIZATION="Bearer "
        ),
        401,
        "not_authenticated",
    ),
    (
        "bearer with a NUL",
        lambda api, p: raw_post(
            api,
            "/api/v1/transfers/",
            json.dumps(transfer_json(p)),
            "application/json",
            HTTP_AUTHORIZATION="Bearer a\u0000b",
        ),
        401,
        "not_authenticated",
    ),
    (
        "non-ascii bearer",
        lambda api, p: raw_post(
            api,
            "/api/v1/transfers/",
            json.dumps(transfer_json(p)),
            "application/json",
            HTTP_AUTHORIZATION="Bearer токен",
        ),
        401,
        "not_authenticated",
    ),
    ("a JSON list body", lambda api, p: api.post("/api/v1/transfers/", [transfer_json(p)]), 400, "validation_error"),
    ("a JSON null body", lambda api, p: api.post("/api/v1/transfers/", raw="null"), 400, "validation_error"),
    ("a JSON number body", lambda api, p: api.post("/api/v1/transfers/", raw="1e999999"), 400, "validation_error"),
    ("an empty body", lambda api, p: api.post("/api/v1/transfers/", raw=""), 400, "validation_error"),
]


@pytest.mark.parametrize(("name", "send", "status", "code"), CASES, ids=[case[0] for case in CASES])
def test_a_refused_request_answers_problem_json_and_changes_nothing(api, pair, name, send, status, code):
    before = everything()
    assert_problem(send(api, pair), status, code)
    assert everything() == before


def test_a_validation_error_lists_the_fields_to_fix(api, pair):
    body = assert_problem(
        api.post("/api/v1/transfers/", transfer_json(pair, amount="1.001", currency="XXX")), 400, "validation_error"
    )
    assert set(body["errors"]) >= {"currency"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())


def test_an_unauthenticated_answer_names_the_bearer_scheme(api, pair):
    response = api.http.get("/api/v1/accounts/")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(api, pair):
    assert api.get("/api/v1/accounts/").status_code == 200
    AccessToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    before = everything()
    assert_problem(api.get("/api/v1/accounts/"), 401, "not_authenticated")
    assert_problem(api.post("/api/v1/transfers/", transfer_json(pair)), 401, "not_authenticated")
    assert everything() == before


def test_a_body_of_exactly_1_mib_is_read(api, pair):
    response = api.post("/api/v1/transfers/", raw=padded_transfer(pair, LIMIT))
    assert response.status_code == 201, response.content[:500]


def test_json_with_a_charset_parameter_is_json(api, pair):
    response = raw_post(api, "/api/v1/transfers/", json.dumps(transfer_json(pair)), "application/json; charset=utf-8")
    assert response.status_code == 201, response.content


def test_unknown_fields_nested_a_little_are_ignored(api, pair):
    response = api.post("/api/v1/transfers/", transfer_json(pair, extra={"a": [[{"b": [1, 2.5, None]}]]}))
    assert response.status_code == 201, response.content


def test_the_api_does_not_answer_html_for_an_unknown_address(api):
    response = api.http.get("/api/v1/nothing/at/all")
    assert_problem(response, 404, "not_found")
    assert b"<html" not in response.content.lower()
