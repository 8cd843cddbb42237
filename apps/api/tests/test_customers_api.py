"""Customers and KYC through the REST API (API.md): registration, validation, masking, search.

Every refused request proves that nothing changed: no customer, no audit event.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.common.models import IdempotencyRecord
from apps.customers.identity import china_resident_id_for
from apps.customers.models import Customer, KycStatus
from tests.support import assert_problem

BIRTH = dt.date(1990, 5, 17)
RESIDENT_ID = china_resident_id_for(BIRTH, 123)
USCC = "91110000600037341L"  # a well-formed unified social credit code (check character L)


def customers_state() -> tuple[Any, ...]:
    """Everything registering a customer or deciding KYC could change."""
    return (
        sorted(Customer.objects.values_list("pk", "kyc_status", "kyc_decided_by", "kyc_decided_at", "kyc_note")),
        AuditEvent.objects.count(),
    )


def individual(**overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "individual",
        "full_name": "Wang Fang",
        "national_id": RESIDENT_ID,
        "date_of_birth": BIRTH.isoformat(),
        "email": "wang.fang@example.com",
        "phone": "+8613800138000",
        "address": "1 Chang'an Avenue, Beijing",
        "country": "CN",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def corporate(**overrides: Any) -> dict[str, Any]:
    body = {"kind": "corporate", "full_name": "Beijing Example Trading Co., Ltd.", "national_id": USCC, "country": "CN"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def resident_id_with_birth(birth_digits: str, serial: str = "123") -> str:
    """A resident id whose check digit is right for whatever 8 birth digits it carries."""
    from stdnum.cn import ric

    body = f"110105{birth_digits}{serial}"
    return body + ric.calc_check_digit(body + "0")


def wrong_check_digit(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last != "0" else "1")


def masked(national_id: str) -> str:
    return national_id[:4] + "*" * (len(national_id) - 8) + national_id[-4:]


# --- registration ----------------------------------------------------------------------------


def test_registering_an_individual_answers_201_with_kyc_pending(api):
    response = api.post("/api/v1/customers/", individual())
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(public_id=body["id"])
    assert body["kind"] == "individual"
    assert body["full_name"] == "Wang Fang"
    assert body["national_id"] == RESIDENT_ID  # the bank-wide test client holds pii:read
    assert body["date_of_birth"] == "1990-05-17"
    assert body["email"] == "wang.fang@example.com"
    assert body["phone"] == "+8613800138000"
    assert body["country"] == "CN"
    assert body["kyc_status"] == "pending"
    assert body["kyc_decided_by"] is None
    assert body["kyc_decided_at"] is None
    assert customer.kyc_status == KycStatus.PENDING
    assert customer.national_id == RESIDENT_ID
    assert customer.created_by == f"client:{api.client_id}"
    assert AuditEvent.objects.filter(action="customer.create", object_id=body["id"]).count() == 1


def test_registering_a_chinese_company_with_a_unified_social_credit_code(api):
    response = api.post("/api/v1/customers/", corporate())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "corporate"
    assert body["national_id"] == USCC
    assert body["date_of_birth"] is None
    assert Customer.objects.get(public_id=body["id"]).kind == "corporate"


def test_a_company_of_another_country_is_checked_by_the_generic_rule_and_kept_canonical(api):
    response = api.post("/api/v1/customers/", corporate(country="sg", national_id="uen 2019-0001x"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["country"] == "SG"
    assert body["national_id"] == "UEN2019-0001X"


def test_an_individual_of_another_country_needs_no_chinese_id(api):
    response = api.post("/api/v1/customers/", individual(country="DE", national_id="T22000129"))
    assert response.status_code == 201, response.content
    assert response.json()["national_id"] == "T22000129"


def test_the_name_is_stored_with_its_whitespace_collapsed(api):
    response = api.post("/api/v1/customers/", individual(full_name="  Wang   Fang "))
    assert response.status_code == 201, response.content
    assert response.json()["full_name"] == "Wang Fang"


INVALID_REGISTRATIONS = [
    pytest.param(individual(national_id=wrong_check_digit(RESIDENT_ID)), "national_id", id="bad-check-digit"),
    pytest.param(
        individual(national_id=resident_id_with_birth("19900230"), date_of_birth="1990-02-28"),
        "national_id",
        id="impossible-birth-date-in-id",
    ),
    pytest.param(individual(national_id="11010519900517"), "national_id", id="resident-id-too-short"),
    pytest.param(individual(date_of_birth="1990-05-18"), "date_of_birth", id="dob-does-not-match-id"),
    pytest.param(individual(date_of_birth=...), "date_of_birth", id="individual-without-dob"),
    pytest.param(individual(date_of_birth="17/05/1990"), "date_of_birth", id="dob-not-iso"),
    pytest.param(individual(date_of_birth="1990-02-30"), "date_of_birth", id="dob-impossible"),
    pytest.param(
        individual(country="DE", national_id="T22000129", date_of_birth="2999-01-01"), "date_of_birth", id="dob-future"
    ),
    pytest.param(corporate(national_id=USCC[:-1] + "M"), "national_id", id="bad-uscc-check-character"),
    pytest.param(corporate(national_id="9111000060003734"), "national_id", id="uscc-too-short"),
    pytest.param(corporate(date_of_birth="1990-05-17"), "date_of_birth", id="corporate-with-dob"),
    pytest.param(corporate(country="SG", national_id="A1"), "national_id", id="generic-too-short"),
    pytest.param(corporate(country="SG", national_id="UEN$2019"), "national_id", id="generic-bad-character"),
    pytest.param(corporate(country="SG", national_id="X" * 33), "national_id", id="generic-too-long"),
    pytest.param(individual(country="XX"), "country", id="unknown-country"),
    pytest.param(individual(country="CHN"), "country", id="alpha-3-country"),
    pytest.param(individual(country="C"), "country", id="one-letter-country"),
    pytest.param(individual(email="not-an-email"), "email", id="bad-email"),
    pytest.param(individual(email="a@b"), "email", id="email-without-domain"),
    pytest.param(individual(phone="12ab34"), "phone", id="bad-phone"),
    pytest.param(individual(kind="person"), "kind", id="wrong-kind"),
    pytest.param(individual(kind=...), "kind", id="missing-kind"),
    pytest.param(individual(full_name=...), "full_name", id="missing-name"),
    pytest.param(individual(full_name="   "), "full_name", id="blank-name"),
    pytest.param(individual(national_id=...), "national_id", id="missing-national-id"),
    pytest.param(individual(country=...), "country", id="missing-country"),
    pytest.param(individual(full_name="N" * 201), "full_name", id="name-too-long"),
    pytest.param(individual(national_id="1" * 65), "national_id", id="national-id-too-long"),
    pytest.param(individual(email="a" * 250 + "@x.cn"), "email", id="email-too-long"),
    pytest.param(individual(phone="1" * 33), "phone", id="phone-too-long"),
    pytest.param(individual(address="A" * 501), "address", id="address-too-long"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_REGISTRATIONS)
def test_invalid_registration_answers_400_naming_the_field_and_registers_nothing(api, body, field):
    before = customers_state()
    response = api.post("/api/v1/customers/", body, key=None)
    problem = assert_problem(response, 400, "validation_error")
    assert field in problem["errors"], problem
    assert all(isinstance(m, str) and m for m in problem["errors"][field])
    assert customers_state() == before


def test_every_problem_of_a_registration_is_named_at_once(api):
    before = customers_state()
    body = individual(email="nope", phone="x", date_of_birth=..., country="ZZ")
    problem = assert_problem(api.post("/api/v1/customers/", body, key=None), 400, "validation_error")
    assert {"email", "phone", "date_of_birth", "country"} <= set(problem["errors"])
    assert customers_state() == before


@pytest.mark.parametrize("field", ["full_name", "national_id", "email", "phone", "address"])
def test_a_nul_character_in_any_string_is_refused(api, field):
    before = customers_state()
    body = individual()
    body[field] = body[field][:3] + "\x00" + body[field][3:]
    problem = assert_problem(api.post("/api/v1/customers/", body, key=None), 400, "validation_error")
    assert field in problem["errors"]
    assert customers_state() == before


def test_a_refused_registration_sent_with_a_key_is_not_stored_and_the_key_works_once_fixed(api):
    before = customers_state()
    bad = individual(national_id=wrong_check_digit(RESIDENT_ID))
    assert_problem(api.post("/api/v1/customers/", bad, key="register-1"), 400, "validation_error")
    assert customers_state() == before
    assert not IdempotencyRecord.objects.filter(key="register-1").exists()
    fixed = api.post("/api/v1/customers/", individual(), key="register-1")
    assert fixed.status_code == 201, fixed.content


def test_a_body_that_is_not_json_is_refused(api):
    before = customers_state()
    assert_problem(api.post("/api/v1/customers/", raw='{"kind": "individual",', key=None), 400, "malformed_json")
    assert customers_state() == before


def test_a_json_list_instead_of_an_object_is_refused(api):
    before = customers_state()
    assert_problem(api.post("/api/v1/customers/", [individual()], key=None), 400, "validation_error")
    assert customers_state() == before


# --- masking and PII --------------------------------------------------------------------------


def test_national_id_is_masked_without_pii_read_and_no_pii_view_is_recorded(api, make_api):
    created = api.post("/api/v1/customers/", individual()).json()
    reader = make_api(scopes=["customers:read"])
    views_before = AuditEvent.objects.filter(action="customer.pii_view").count()

    body = reader.get(f"/api/v1/customers/{created['id']}/").json()

    assert body["national_id"] == masked(RESIDENT_ID)
    assert re.fullmatch(r"1101\*{10}[0-9X]{4}", body["national_id"])
    assert RESIDENT_ID not in str(body)
    assert body["phone"] != "+8613800138000"
    assert body["phone"].endswith("8000")
    assert "*" in body["phone"]
    assert body["date_of_birth"] == "****-**-**"
    assert body["address"] == "***"
    assert AuditEvent.objects.filter(action="customer.pii_view").count() == views_before


def test_the_customer_list_is_masked_without_pii_read(api, make_api):
    api.post("/api/v1/customers/", individual())
    page = make_api(scopes=["customers:read"]).get("/api/v1/customers/").json()
    assert [c["national_id"] for c in page["results"]] == [masked(RESIDENT_ID)]


def test_national_id_is_shown_with_pii_read_and_the_view_is_audited(api, make_api):
    created = api.post("/api/v1/customers/", individual()).json()
    reader = make_api(scopes=["customers:read", "pii:read"])

    body = reader.get(f"/api/v1/customers/{created['id']}/").json()

    assert body["national_id"] == RESIDENT_ID
    assert body["phone"] == "+8613800138000"
    assert body["date_of_birth"] == "1990-05-17"
    event = AuditEvent.objects.filter(action="customer.pii_view").order_by("-id").first()
    assert event is not None
    assert event.actor == f"client:{reader.client_id}"
    assert event.object_type == "customer"
    assert event.object_id == created["id"]


def test_every_unmasked_customer_in_a_list_is_audited(api, make_api, make_customer):
    first, second = make_customer(), make_customer()
    reader = make_api(scopes=["customers:read", "pii:read"])
    reader.get("/api/v1/customers/")
    viewed = set(
        AuditEvent.objects.filter(action="customer.pii_view", actor=f"client:{reader.client_id}").values_list(
            "object_id", flat=True
        )
    )
    assert viewed == {str(first.public_id), str(second.public_id)}


def test_personal_data_is_encrypted_at_rest(api):
    created = api.post("/api/v1/customers/", individual()).json()
    customer = Customer.objects.get(public_id=created["id"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT national_id, phone, date_of_birth, address, national_id_index FROM customers_customer WHERE id = %s",
            [customer.pk],
        )
        raw_national_id, raw_phone, raw_dob, raw_address, index = cursor.fetchone()
        cursor.execute("SELECT * FROM customers_customer WHERE id = %s", [customer.pk])
        whole_row = " ".join(str(value) for value in cursor.fetchone())
    for plaintext in (RESIDENT_ID, "13800138000", "1990-05-17", "19900517", "Chang'an"):
        assert plaintext not in whole_row
    for stored in (raw_national_id, raw_phone, raw_dob, raw_address):
        assert re.fullmatch(r"[^$]+\$[A-Za-z0-9+/=]+", stored), stored
    assert index != RESIDENT_ID
    assert len(index) == 64
    # ... and the application still reads the plaintext.
    assert customer.national_id == RESIDENT_ID
    assert customer.phone == "+8613800138000"


# --- list and search --------------------------------------------------------------------------


def ids(page: dict[str, Any]) -> list[str]:
    return [c["id"] for c in page["results"]]


def test_search_by_part_of_the_name_ignores_case(api, make_customer):
    li_lei = make_customer(name="Li Lei")
    lei_feng = make_customer(name="Lei Feng")
    make_customer(name="Han Meimei")
    page = api.get("/api/v1/customers/", search="lEi").json()
    assert set(ids(page)) == {str(li_lei.public_id), str(lei_feng.public_id)}


def test_search_by_the_exact_national_id_finds_the_customer_through_the_blind_index(api, make_customer):
    wanted = make_customer()
    make_customer()
    page = api.get("/api/v1/customers/", search=wanted.national_id).json()
    assert ids(page) == [str(wanted.public_id)]
    assert page["results"][0]["national_id"] == wanted.national_id


def test_search_by_part_of_a_national_id_finds_nothing(api, make_customer):
    wanted = make_customer()
    page = api.get("/api/v1/customers/", search=wanted.national_id[:10]).json()
    assert page == {"results": [], "next": None}


def test_search_for_nothing_known_answers_an_empty_page(api, make_customer):
    make_customer(name="Li Lei")
    assert api.get("/api/v1/customers/", search="Zhang").json() == {"results": [], "next": None}


def test_the_customer_list_is_a_cursor_page_newest_first(api, make_customer):
    made = [make_customer() for _ in range(5)]
    first = api.get("/api/v1/customers/", page_size=2)
    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"results", "next"}
    assert len(page["results"]) == 2
    assert page["next"].startswith("http://testserver/api/v1/customers/?")
    seen = ids(page)
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += ids(page)
    assert seen == [str(c.public_id) for c in reversed(made)]


def test_a_short_list_has_no_next_page(api, make_customer):
    make_customer()
    page = api.get("/api/v1/customers/").json()
    assert len(page["results"]) == 1
    assert page["next"] is None


def test_get_an_unknown_customer_answers_404(api):
    assert_problem(api.get(f"/api/v1/customers/{uuid.uuid4()}/"), 404, "not_found")


# --- KYC --------------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["verified", "rejected"])
def test_a_kyc_decision_records_who_decided_and_when(api, make_customer, decision):
    customer = make_customer(verified=False)
    before = timezone.now()
    response = api.post(
        f"/api/v1/customers/{customer.public_id}/kyc/", {"decision": decision, "note": "documents seen"}, key=None
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == str(customer.public_id)
    assert body["kyc_status"] == decision
    assert body["kyc_decided_by"] == f"client:{api.client_id}"
    decided_at = dt.datetime.fromisoformat(body["kyc_decided_at"].replace("Z", "+00:00"))
    assert before <= decided_at <= timezone.now()
    customer.refresh_from_db()
    assert customer.kyc_status == decision
    assert customer.kyc_decided_by == f"client:{api.client_id}"
    assert customer.kyc_decided_at == decided_at
    assert customer.kyc_note == "documents seen"
    assert AuditEvent.objects.filter(action="customer.kyc_decide", object_id=str(customer.public_id)).exists()


def test_a_kyc_decision_can_be_sent_with_an_idempotency_key_and_replayed(api, make_customer):
    customer = make_customer(verified=False)
    path = f"/api/v1/customers/{customer.public_id}/kyc/"
    first = api.post(path, {"decision": "verified"}, key="kyc-1")
    decided_at = Customer.objects.get(pk=customer.pk).kyc_decided_at
    again = api.post(path, {"decision": "verified"}, key="kyc-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert Customer.objects.get(pk=customer.pk).kyc_decided_at == decided_at


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"decision": "approved"}, id="unknown-decision"),
        pytest.param({"decision": "pending"}, id="pending-is-no-decision"),
        pytest.param({"decision": ""}, id="blank"),
        pytest.param({}, id="missing"),
        pytest.param({"decision": "verified", "note": "n" * 1001}, id="note-too-long"),
        pytest.param({"decision": "verified", "note": "a\x00b"}, id="nul-in-note"),
    ],
)
def test_an_invalid_kyc_decision_answers_400_and_changes_nothing(api, make_customer, body):
    customer = make_customer(verified=False)
    before = customers_state()
    problem = assert_problem(
        api.post(f"/api/v1/customers/{customer.public_id}/kyc/", body, key=None), 400, "validation_error"
    )
    assert set(problem["errors"]) & {"decision", "note"}
    assert customers_state() == before


def test_a_kyc_decision_on_an_unknown_customer_answers_404(api):
    before = customers_state()
    assert_problem(api.post(f"/api/v1/customers/{uuid.uuid4()}/kyc/", {"decision": "verified"}), 404, "not_found")
    assert customers_state() == before
