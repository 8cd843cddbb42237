"""The happy path through the real API: a customer, two accounts, a deposit, a transfer."""

import datetime as dt
from decimal import Decimal

from apps.accounts.models import Account
from apps.customers.identity import china_resident_id_for


def test_customer_to_transfer_happy_path(api):
    customer = api.post(
        "/api/v1/customers/",
        {
            "kind": "individual",
            "full_name": "Zhang San",
            "national_id": china_resident_id_for(dt.date(1949, 12, 31), 2),
            "date_of_birth": "1949-12-31",
            "email": "z@example.com",
            "phone": "+8613800001234",
            "country": "CN",
        },
        key=None,
    )
    assert customer.status_code == 201, customer.content
    cid = customer.json()["id"]
    assert api.post(f"/api/v1/customers/{cid}/kyc/", {"decision": "verified"}, key=None).status_code == 200
    a = api.post("/api/v1/accounts/", {"customer": cid, "currency": "CNY"}, key=None).json()
    b = api.post("/api/v1/accounts/", {"customer": cid, "currency": "CNY"}, key=None).json()
    assert int(a["number"]) % 97 == 1
    assert (
        api.post("/api/v1/deposits/", {"account": a["id"], "amount": "1000.50", "currency": "CNY"}).status_code == 201
    )
    transfer = api.post(
        "/api/v1/transfers/", {"from_account": a["id"], "to_account": b["id"], "amount": "100.25", "currency": "CNY"}
    )
    assert transfer.status_code == 201, transfer.content
    assert transfer.json()["status"] == "posted"
    assert api.get(f"/api/v1/accounts/{a['id']}/").json()["balance"] == "900.25"
    assert api.get(f"/api/v1/accounts/{b['id']}/").json()["available"] == "100.25"
    assert Account.objects.get(public_id=b["id"]).balance == Decimal("100.25")
