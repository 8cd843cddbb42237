"""No log line carries a secret, a token, a password or unmasked personal data.

A full scenario (staff login with password and TOTP, a customer with national id, phone and
address, KYC, an account, a deposit, a transfer, token requests including failing ones and a
lockout, refused requests) runs with every logger at DEBUG; every captured record, its
arguments and any extra fields are searched for each sensitive value.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.api.services import api_client_create
from apps.customers.identity import china_resident_id_for

NATIONAL_ID = china_resident_id_for(dt.date(1987, 6, 5), 4242)
PHONE = "+8613912345678"
ADDRESS = "88 Jianguo Road, Chaoyang District, Beijing"
PASSWORD = "Staff-Password-9f3k2"
WRONG_PASSWORD = "Wrong-Password-7x1q"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def every_log_record() -> Iterator[list[logging.LogRecord]]:
    """Every logger at DEBUG, including those that do not propagate to the root."""
    capture = _Capture()
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.Logger.manager.loggerDict) if not name.startswith("asyncio")
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if logger is logging.getLogger() or not logger.propagate:
            logger.addHandler(capture)
    try:
        yield capture.records
    finally:
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled
            if capture in logger.handlers:
                logger.removeHandler(capture)


def _text(record: logging.LogRecord) -> str:
    """Everything a formatter or a JSON log handler could write for this record."""
    parts = [str(record.msg)]
    try:
        parts.append(record.getMessage())
    except (TypeError, ValueError):
        parts.append(repr(record.args))
    parts.append(repr(record.args))
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    standard = set(vars(logging.makeLogRecord({})))
    parts.extend(repr(value) for key, value in vars(record).items() if key not in standard)
    return "\n".join(parts)


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():06d}"


@pytest.mark.django_db
def test_a_full_scenario_logs_no_secret_token_password_or_personal_data(
    every_log_record: list[logging.LogRecord],
) -> None:
    issued = api_client_create(
        name="hygiene",
        scopes=[
            "customers:read",
            "customers:write",
            "kyc:write",
            "pii:read",
            "accounts:read",
            "accounts:write",
            "cash:write",
            "payments:write",
        ],
    )
    http = Client()
    refused = http.post(
        "/api/v1/oauth/token/",
        {
            "grant_type": "client_credentials",
            "client_id": issued.client_id,
            "client_secret": "not-" + issued.client_secret,
        },
    )
    assert refused.status_code == 401
    granted = http.post(
        "/api/v1/oauth/token/",
        {"grant_type": "client_credentials", "client_id": issued.client_id, "client_secret": issued.client_secret},
    )
    assert granted.status_code == 200
    token = granted.json()["access_token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def post(path: str, body: dict[str, Any], **headers: str) -> Any:
        import json

        return http.post(
            path, json.dumps(body), content_type="application/json", **auth, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )

    person = {
        "kind": "individual",
        "full_name": "Li Hygiene",
        "national_id": NATIONAL_ID,
        "date_of_birth": "1987-06-05",
        "email": "li.hygiene@example.com",
        "phone": PHONE,
        "address": ADDRESS,
        "country": "CN",
    }
    customer = post("/api/v1/customers/", person)
    assert customer.status_code == 201, customer.content
    customer_id = customer.json()["id"]
    assert post("/api/v1/customers/", {**person, "country": "XX"}).status_code == 400
    assert post("/api/v1/customers/", {**person, "national_id": NATIONAL_ID[:-1] + "X"}).status_code == 400
    assert http.get(f"/api/v1/customers/{customer_id}/", **auth).status_code == 200
    assert http.get("/api/v1/customers/", {"search": NATIONAL_ID}, **auth).status_code == 200
    assert post(f"/api/v1/customers/{customer_id}/kyc/", {"decision": "verified", "note": "ok"}).status_code == 200
    accounts = [post("/api/v1/accounts/", {"customer": customer_id, "currency": "CNY"}).json()["id"] for _ in range(2)]
    assert post("/api/v1/deposits/", {"account": accounts[0], "amount": "500.00", "currency": "CNY"}).status_code == 201
    transfer = {"from_account": accounts[0], "to_account": accounts[1], "amount": "120.50", "currency": "CNY"}
    assert post("/api/v1/transfers/", transfer).status_code == 201
    assert post("/api/v1/transfers/", {**transfer, "amount": "99999.00"}).status_code == 422
    assert http.get(f"/api/v1/accounts/{accounts[0]}/transactions/", **auth).status_code == 200
    assert http.get("/api/v1/accounts/", HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
    for _ in range(5):
        http.post(
            "/api/v1/oauth/token/",
            HTTP_AUTHORIZATION="Basic "
            + __import__("base64").b64encode(f"{issued.client_id}:bad-secret".encode()).decode(),
            data={"grant_type": "client_credentials"},
        )

    staff = User.objects.create_user("hygiene_staff", password=PASSWORD, is_staff=True)
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    browser = Client()
    browser.post("/staff/login/", {"username": "hygiene_staff", "password": WRONG_PASSWORD})
    assert browser.post("/staff/login/", {"username": "hygiene_staff", "password": PASSWORD}).status_code == 302
    code = _code(device)
    assert browser.post("/staff/otp/", {"otp_token": code}).status_code == 302

    texts = [_text(record) for record in every_log_record]
    assert texts, "nothing was logged: the capture is broken"
    sensitive = {
        "client secret": issued.client_secret,
        "access token": token,
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "national id": NATIONAL_ID,
        "phone": PHONE,
        "phone digits": PHONE.lstrip("+"),
        "address": ADDRESS,
        "TOTP secret": device.key,
    }
    leaks = [
        f"{what} in {record.name}: {text[:200]}"
        for record, text in zip(every_log_record, texts, strict=True)
        for what, value in sensitive.items()
        if value in text
    ]
    assert leaks == []
