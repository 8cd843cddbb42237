"""Requests that race on the same thing: one wins, the others get a stable, truthful answer.

Every worker thread starts at the same barrier, with its own HTTP client and database connection.
"""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from apps.accounts.models import AccountStatus
from apps.audit.models import AuditEvent
from apps.common.models import IdempotencyRecord
from apps.compliance.models import Approval, ApprovalStatus
from apps.transactions.models import EntryKind, JournalEntry
from tests.concurrency import ThreadClient, run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _answer(response: Any) -> tuple[int, Any, bool]:
    return response.status_code, response.json(), response.get("Idempotent-Replayed") == "true"


def _same_request_at_once(token: str, path: str, bodies: list[dict[str, Any]], key: str) -> list[tuple[int, Any, bool]]:
    clients = [ThreadClient(token) for _ in bodies]
    return run_in_threads(
        [lambda c=c, b=b: _answer(c.post(path, b, key=key)) for c, b in zip(clients, bodies, strict=True)]
    )


def test_ten_simultaneous_sends_of_one_transfer_with_one_key_move_money_once_and_answer_identically(api, make_account):
    source, target = make_account(balance="1000.00"), make_account()
    body = {
        "from_account": str(source.public_id),
        "to_account": str(target.public_id),
        "amount": "123.45",
        "currency": "CNY",
    }
    key = str(uuid.uuid4())

    answers = _same_request_at_once(api.token, "/api/v1/transfers/", [body] * 10, key)

    assert {status for status, _body, _replayed in answers} == {201}
    assert all(answer_body == answers[0][1] for _status, answer_body, _replayed in answers)
    assert sum(not replayed for _status, _body, replayed in answers) == 1  # one ran, nine replayed it
    entries = JournalEntry.objects.filter(kind=EntryKind.TRANSFER)
    assert [str(entry.public_id) for entry in entries] == [answers[0][1]["id"]]
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.balance, target.balance) == (Decimal("876.55"), Decimal("123.45"))
    assert IdempotencyRecord.objects.filter(key=key).count() == 1


def test_ten_simultaneous_sends_of_one_refused_transfer_all_get_the_same_refusal_and_nothing_moves(api, make_account):
    source, target = make_account(balance="10.00"), make_account()
    body = {
        "from_account": str(source.public_id),
        "to_account": str(target.public_id),
        "amount": "10.01",
        "currency": "CNY",
    }

    answers = _same_request_at_once(api.token, "/api/v1/transfers/", [body] * 10, str(uuid.uuid4()))

    assert {status for status, _body, _replayed in answers} == {422}
    assert answers[0][1]["code"] == "insufficient_funds"
    assert all(answer_body == answers[0][1] for _status, answer_body, _replayed in answers)
    assert not JournalEntry.objects.filter(kind=EntryKind.TRANSFER).exists()
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.balance, target.balance) == (Decimal("10.00"), Decimal("0"))


def test_one_key_sent_at_once_with_ten_different_bodies_moves_money_once_and_refuses_the_others(api, make_account):
    source, target = make_account(balance="1000.00"), make_account()
    bodies = [
        {
            "from_account": str(source.public_id),
            "to_account": str(target.public_id),
            "amount": f"{n}.00",
            "currency": "CNY",
        }
        for n in range(1, 11)
    ]

    answers = _same_request_at_once(api.token, "/api/v1/transfers/", bodies, str(uuid.uuid4()))

    statuses = Counter(status for status, _body, _replayed in answers)
    assert statuses == {201: 1, 409: 9}, statuses
    assert {body["code"] for status, body, _replayed in answers if status == 409} == {"idempotency_conflict"}
    (winner,) = [body for status, body, _replayed in answers if status == 201]
    entries = JournalEntry.objects.filter(kind=EntryKind.TRANSFER)
    assert [str(entry.public_id) for entry in entries] == [winner["id"]]
    target.refresh_from_db()
    assert target.balance == Decimal(winner["amount"])


def test_two_simultaneous_reversals_of_one_transaction_reverse_it_once_and_refuse_the_other(api, make_account):
    source, target = make_account(balance="500.00"), make_account()
    for _round in range(5):  # several races, so a lucky ordering cannot hide a lost check
        transfer = api.post(
            "/api/v1/transfers/",
            {
                "from_account": str(source.public_id),
                "to_account": str(target.public_id),
                "amount": "100.00",
                "currency": "CNY",
            },
        )
        assert transfer.status_code == 201, transfer.content
        path = f"/api/v1/transactions/{transfer.json()['id']}/reverse/"
        clients = [ThreadClient(api.token) for _ in range(2)]

        answers = run_in_threads(
            [lambda c=c, p=path: _answer(c.post(p, {"reason": "race"}, key=str(uuid.uuid4()))) for c in clients]
        )

        statuses = sorted(status for status, _body, _replayed in answers)
        assert statuses == [201, 409], answers
        assert [body["code"] for status, body, _r in answers if status == 409] == ["already_reversed"]
        (reversal,) = [body for status, body, _r in answers if status == 201]
        original = JournalEntry.objects.get(public_id=transfer.json()["id"])
        assert [str(e.public_id) for e in JournalEntry.objects.filter(reverses=original)] == [reversal["id"]]
        source.refresh_from_db()
        target.refresh_from_db()
        assert (source.balance, target.balance) == (Decimal("500.00"), Decimal("0"))


def _frozen_account_with_pending_unfreeze(api: Any, make_account: Any) -> tuple[Any, str]:
    account = make_account(balance="1.00")
    assert api.post(f"/api/v1/accounts/{account.public_id}/freeze/", {"reason": "check"}, key=None).status_code == 200
    asked = api.post(f"/api/v1/accounts/{account.public_id}/unfreeze/", {"reason": "cleared"}, key=None)
    assert asked.status_code == 202, asked.content
    return account, asked.json()["approval"]


def test_two_approvers_approving_one_approval_at_once_run_its_action_once_and_one_is_refused(
    api, make_api, make_account
):
    approvers = [make_api(name="checker one"), make_api(name="checker two")]
    for _round in range(5):  # several races, so a lucky ordering cannot hide a missing lock
        account, approval_id = _frozen_account_with_pending_unfreeze(api, make_account)
        path = f"/api/v1/approvals/{approval_id}/approve/"

        answers = run_in_threads(
            [lambda a=a, p=path: _answer(ThreadClient(a.token).post(p, {"reason": "ok"}, key=None)) for a in approvers]
        )

        statuses = sorted(status for status, _body, _replayed in answers)
        assert statuses == [200, 409], answers
        assert [body["code"] for status, body, _r in answers if status == 409] == ["approval_not_pending"]
        (decided,) = [body for status, body, _r in answers if status == 200]
        assert decided["status"] == "approved"
        assert Approval.objects.get(public_id=approval_id).status == ApprovalStatus.APPROVED
        account.refresh_from_db()
        assert account.status == AccountStatus.ACTIVE
        unfreezes = AuditEvent.objects.filter(object_id=str(account.public_id), action="account.unfreeze")
        assert unfreezes.count() == 1
        assert AuditEvent.objects.filter(object_id=approval_id, action="approval.approve").count() == 1


def test_an_approve_and_a_reject_racing_on_one_approval_decide_it_once_and_consistently(api, make_api, make_account):
    checkers = [make_api(name="approver"), make_api(name="rejecter")]
    decisions = ["approve", "reject"]
    for _round in range(5):
        account, approval_id = _frozen_account_with_pending_unfreeze(api, make_account)

        answers = run_in_threads(
            [
                lambda c=c, d=d, a=approval_id: _answer(
                    ThreadClient(c.token).post(f"/api/v1/approvals/{a}/{d}/", {"reason": d}, key=None)
                )
                for c, d in zip(checkers, decisions, strict=True)
            ]
        )

        statuses = [status for status, _body, _replayed in answers]
        assert sorted(statuses) == [200, 409], answers
        assert [body["code"] for status, body, _r in answers if status == 409] == ["approval_not_pending"]
        winner = decisions[statuses.index(200)]
        approval = Approval.objects.get(public_id=approval_id)
        account.refresh_from_db()
        unfreezes = AuditEvent.objects.filter(object_id=str(account.public_id), action="account.unfreeze").count()
        if winner == "approve":
            assert (approval.status, account.status, unfreezes) == (ApprovalStatus.APPROVED, AccountStatus.ACTIVE, 1)
        else:
            assert (approval.status, account.status, unfreezes) == (ApprovalStatus.REJECTED, AccountStatus.FROZEN, 0)
