"""Once only, under real concurrency (PostgreSQL): the same confirmation submitted from two
requests at the same moment pays once, and two approvers approving one corporate payment at the
same moment make one payment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import override_settings

from apps.accounts.services import mandate_grant
from apps.common.errors import DomainError
from apps.common.principals import SYSTEM_ACTOR
from apps.portal.services_payments import (
    Draft,
    instruction_approve,
    instruction_create,
    movement_confirm,
    movement_quote,
)
from apps.portal.tests import payments_support as support
from apps.transactions.models import Payment, PaymentInstruction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except DomainError as refusal:
            results[index] = refusal
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_one_confirmation_submitted_twice_at_once_pays_once():
    owner = support.customer()
    source = support.account(owner, "1000")
    user = support.login(owner, "twice")
    payee = support.beneficiary(owner)
    draft = Draft(kind="external", from_account=str(source.public_id), amount="10.00", currency="CNY",
                  beneficiary=str(payee.public_id))  # fmt: skip
    with override_settings(**support.SIMULATOR):
        outcomes = _at_once([lambda: movement_confirm(user=user, draft=draft, token="same-token")] * 2)
    assert Payment.objects.count() == 1
    assert {outcome.id for outcome in outcomes} == {str(Payment.objects.get().public_id)}
    assert sorted(outcome.replayed for outcome in outcomes) == [False, True]


def test_two_approvers_at_once_make_one_payment():
    company = support.company()
    second = support.login(company.customer, f"second{company.customer.pk}")
    mandate_grant(
        actor=SYSTEM_ACTOR, portal_user=second.portal_user, account=company.account, rights={"approve_payment"}
    )
    payee = support.beneficiary(company.customer)
    draft = Draft(kind="external", from_account=str(company.account.public_id), amount="10.00", currency="CNY",
                  beneficiary=str(payee.public_id))  # fmt: skip
    quote = movement_quote(user=company.clerk, draft=draft)
    from apps.portal.services_payments import portal_movement_actor

    instruction = instruction_create(actor=portal_movement_actor(company.clerk), user=company.clerk, quote=quote)
    approvers = [company.director, User.objects.get(pk=second.pk)]
    with override_settings(**support.SIMULATOR):
        results = _at_once(
            [lambda u=u: instruction_approve(user=u, public_id=instruction.public_id) for u in approvers]
        )
    assert Payment.objects.count() == 1
    assert sum(isinstance(result, PaymentInstruction) for result in results) == 1
    assert sum(isinstance(result, DomainError) and result.code == "approval_not_pending" for result in results) == 1
