"""Actions only the bank itself may take: a customer-bound client is refused whatever its scopes."""

from apps.customers.models import Customer, KycStatus


def test_a_customer_bound_client_cannot_decide_its_own_kyc(make_api, make_customer):
    customer = make_customer(verified=False)
    bound = make_api(customer=customer)
    refused = bound.post(f"/api/v1/customers/{customer.public_id}/kyc/", {"decision": "verified"}, key=None)
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    customer.refresh_from_db()
    assert customer.kyc_status == KycStatus.PENDING


def test_a_customer_bound_client_cannot_register_customers(make_api, make_customer):
    bound = make_api(customer=make_customer())
    before = Customer.objects.count()
    refused = bound.post(
        "/api/v1/customers/",
        {"kind": "corporate", "full_name": "Shell Co", "national_id": "SHELL-0001", "country": "SG"},
        key=None,
    )
    assert refused.status_code == 403
    assert Customer.objects.count() == before


def test_a_customer_bound_client_cannot_reverse_even_its_own_transfer(make_api, make_customer, make_account):
    customer = make_customer()
    source = make_account(customer=customer, balance="50")
    target = make_account(customer=customer)
    bound = make_api(customer=customer)
    sent = bound.post(
        "/api/v1/transfers/",
        {"from_account": str(source.public_id), "to_account": str(target.public_id), "amount": "5", "currency": "CNY"},
    )
    assert sent.status_code == 201
    refused = bound.post(f"/api/v1/transactions/{sent.json()['id']}/reverse/", {"reason": "mine"})
    assert refused.status_code == 403
    source.refresh_from_db()
    assert str(source.balance) == "45.0000"
