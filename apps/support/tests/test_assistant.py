"""The help assistant: FAQ answers found by characters, pinyin, initials and English with typos;
answers about the customer's own money from their own data only; a ticket when it is not sure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.common.money import Money
from apps.common.principals import SYSTEM_ACTOR
from apps.portal.selectors import portal_accounts
from apps.support.assistant import (
    FAQ_THRESHOLD,
    HANDOVERS_PER_HOUR,
    INTENT_BALANCE,
    INTENT_EMPTY,
    INTENT_FAQ,
    INTENT_GREETING,
    INTENT_HANDOVER,
    INTENT_RECENT,
    assistant_reply,
    faq_match,
)
from apps.support.models import FaqEntry, Ticket, TicketKind, TicketStatus
from apps.support.services import faq_set_published
from apps.transactions.services import withdrawal_create

pytestmark = pytest.mark.django_db


def ask(person, question: str, language: str = "en", transcript=None, accounts=None):
    """Ask as the portal does: with the accounts the portal lets this login see."""
    return assistant_reply(
        actor=person.actor,
        portal_user=person.portal_user,
        accounts=portal_accounts(person.user) if accounts is None else accounts,
        question=question,
        language=language,
        transcript=transcript,
    )


@pytest.mark.parametrize(
    ("question", "via"),
    [
        ("zhuanzhang", "pinyin"),  # full pinyin
        ("zhuan zhang", "pinyin"),
        ("zz", "initials"),  # pinyin initials
        ("转帐", "pinyin"),  # a typo: 帐 for 账 (a homophone)
        ("我想转帐给朋友", "pinyin"),  # the typo inside a sentence
        ("转账", "text"),
    ],
)
def test_transfer_faq_is_found_by_pinyin_initials_and_homophone_typos(faq, make_person, question, via):
    person = make_person()
    answer = ask(person, question, "zh-hans")
    assert answer.intent == INTENT_FAQ, answer
    assert answer.entry is not None
    assert answer.entry.slug == "transfer"
    assert answer.score >= FAQ_THRESHOLD
    assert faq_match(question)[0].via == via
    assert answer.text == answer.entry.answer_zh
    assert answer.ticket is None
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("question", "slug"),
    [
        ("how do I transfer money", "transfer"),
        ("transfr money", "transfer"),  # typo
        ("pasword reset", "password-reset"),  # typo
        ("I forgot my password", "password-reset"),
        ("what are the fees", "fees"),
        ("daily limit", "limits"),
        ("why is my account frozen", "frozen-account"),
        ("where is my payment", "payment-status"),  # the longer alias wins over "payment"
        ("statement pdf", "statement"),
        ("忘记密码了", "password-reset"),
        ("wangjimima", "password-reset"),
        ("账户被冻结", "frozen-account"),
        ("转账手续费多少", "fees"),  # 手续费 says more than 转账
        ("dzd", "statement"),  # 对账单 in initials
    ],
)
def test_faq_answers_english_and_chinese_questions(faq, make_person, question, slug):
    answer = ask(make_person(), question)
    assert answer.intent == INTENT_FAQ, (question, answer.rule, answer.score)
    assert answer.entry is not None
    assert answer.entry.slug == slug
    assert answer.score >= FAQ_THRESHOLD


def test_the_answer_is_in_the_language_of_the_question(faq, make_person):
    person = make_person()
    english = ask(person, "how do I reset my password", "zh-hans")
    assert english.language == "zh-hans"  # the page's language when the question has no Chinese
    assert english.text == FaqEntry.objects.get(slug="password-reset").answer_zh
    assert ask(person, "how do I reset my password", "en").text == english.entry.answer_en
    assert ask(person, "忘记密码", "en").text == english.entry.answer_zh  # Chinese asked, Chinese answered


def test_an_unpublished_entry_is_never_answered(faq, make_person):
    entry = FaqEntry.objects.get(slug="transfer")
    faq_set_published(actor=SYSTEM_ACTOR, entry=entry, published=False)
    answer = ask(make_person(), "zhuanzhang")
    assert answer.entry is None or answer.entry.slug != "transfer"
    assert all(m.entry.slug != "transfer" for m in faq_match("zhuanzhang"))


@pytest.mark.parametrize("question", ["我的余额", "my balance", "How much money do I have?", "余额还有多少"])
def test_balance_answers_only_with_the_accounts_the_login_may_see(faq, make_person, make_account, question):
    company = make_person(balances=("1234.56", "77.10"), kind="corporate")  # mandates on both
    hidden = make_account(customer=company.portal_user.customer, balance="555.55")  # no right granted
    other = make_person(balances=("98765.43",))
    answer = ask(company, question)
    assert answer.intent == INTENT_BALANCE
    shown = "\n".join(answer.lines)
    assert "1234.56" in shown
    assert "77.10" in shown
    assert "98765.43" not in shown  # another customer's balance never appears
    assert "555.55" not in shown  # an account of the company this login holds no right on
    assert other.accounts[0].number[-4:] not in shown
    assert hidden.number[-4:] not in shown
    assert len(answer.lines) == 2
    # an individual's login sees every own account, and only those
    theirs = "\n".join(ask(other, question).lines)
    assert "98765.43" in theirs
    assert "1234.56" not in theirs


def test_accounts_of_another_customer_are_ignored_whatever_the_caller_passes(faq, make_person):
    me = make_person(balances=("10.00",))
    other = make_person(balances=("98765.43",))
    answer = ask(me, "my balance", accounts=[*me.accounts, *other.accounts])
    assert len(answer.lines) == 1
    assert "98765.43" not in answer.lines[0]
    assert "10.00" in answer.lines[0]


def _withdraw(account, amount: str, reference: str) -> None:
    withdrawal_create(
        actor=SYSTEM_ACTOR, account=account.public_id, money=Money(Decimal(amount), "CNY"), reference=reference
    )


def test_recent_payments_lists_own_money_out_newest_first(faq, make_person):
    me = make_person(balances=("1000", "1000"))
    other = make_person(balances=("1000",))
    for n in range(1, 8):
        _withdraw(me.accounts[n % 2], f"{n}.00", f"mine-{n}")
        _withdraw(other.accounts[0], f"{n}.00", f"theirs-{n}")
    answer = ask(me, "最近五笔付款", "zh-hans")
    assert answer.intent == INTENT_RECENT
    assert len(answer.lines) == 5
    assert [line.split("mine-")[1].split()[0] for line in answer.lines] == ["7", "6", "5", "4", "3"]
    assert all("-" in line.split("mine-")[1] for line in answer.lines)  # money out: negative amounts
    assert "theirs" not in "\n".join(answer.lines)
    assert "Opening" not in "\n".join(answer.lines)  # the deposits are not payments
    three = ask(me, "show my last 3 transactions")
    assert three.intent == INTENT_RECENT
    assert len(three.lines) == 3
    assert len(ask(me, "last five payments").lines) == 5
    assert len(ask(me, "最近三笔交易").lines) == 3


def test_recent_payments_without_any(faq, make_person):
    answer = ask(make_person(balances=()), "last five payments")
    assert answer.intent == INTENT_RECENT
    assert answer.lines == ()
    assert ask(make_person(balances=()), "my balance").lines == ()


@pytest.mark.parametrize(
    "question",
    [
        "How do I apply for a mortgage?",
        "我想买基金",
        "can I open an account in Singapore",
        "weather tomorrow",
        "one more about mortgages",  # "one" is not a typo of the keyword "phone"
    ],
)
def test_an_unsure_answer_hands_over_to_a_person_with_the_transcript(faq, make_person, question):
    me = make_person()
    earlier = [{"who": "customer", "text": "hello"}, {"who": "assistant", "text": "Hello!"}]
    answer = ask(me, question, transcript=earlier)
    assert answer.intent == INTENT_HANDOVER
    assert answer.score < FAQ_THRESHOLD
    ticket = answer.ticket
    assert ticket is not None
    assert Ticket.objects.get() == ticket
    assert ticket.kind == TicketKind.HANDOVER
    assert ticket.status == TicketStatus.OPEN
    assert ticket.customer_id == me.portal_user.customer_id
    assert ticket.portal_user == me.portal_user
    assert ticket.message == question
    assert [t["who"] for t in ticket.transcript] == ["customer", "assistant", "customer", "assistant"]
    assert ticket.transcript[2]["text"] == question
    assert ticket.transcript[3]["text"] == answer.text
    assert ("工作人员" if answer.language == "zh-hans" else "staff") in answer.text  # says a person answers


def test_asking_for_a_person_hands_over_at_once(faq, make_person):
    me = make_person()
    for question in ("转人工", "I want to talk to a real person"):
        answer = ask(me, question)
        assert answer.intent == INTENT_HANDOVER
        assert answer.ticket is not None
    assert Ticket.objects.filter(customer=me.portal_user.customer).count() == 2


def test_small_talk_and_odd_input_neither_fail_nor_open_tickets(faq, make_person):
    me = make_person()
    assert ask(me, "你好").intent == INTENT_GREETING
    assert ask(me, "   ").intent == INTENT_EMPTY
    assert ask(me, "!!!？？").intent == INTENT_EMPTY
    assert ask(me, "Thanks!").ticket is None
    assert not Ticket.objects.exists()
    long = ask(me, "转账" * 3000)  # cut to the first 500 characters, still answered
    assert long.intent == INTENT_FAQ
    assert long.entry.slug == "transfer"
    emoji = ask(me, "💸💸💸 🤔")
    assert emoji.intent in (INTENT_EMPTY, INTENT_HANDOVER)


def test_handovers_are_capped_per_hour(faq, make_person):
    me = make_person()
    for n in range(HANDOVERS_PER_HOUR):
        assert ask(me, f"question about mortgages number {n}").ticket is not None
    capped = ask(me, "one more about mortgages")
    assert capped.intent == INTENT_HANDOVER
    assert capped.ticket is None
    assert "send us a message" in capped.text
    assert Ticket.objects.count() == HANDOVERS_PER_HOUR
    assert ask(make_person(), "a mortgage question").ticket is not None  # another login is not capped
