"""Property-based fuzzing: the amount parser, and POST /api/v1/transfers/ under arbitrary input.

The API must never answer 5xx, every refusal is problem+json, and the ledger stays balanced:
after every example the postings of each currency sum to zero, every cached balance equals its
postings, and the customers' money in total is what it was (a transfer only moves it).
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Account
from apps.accounts.services import account_freeze
from apps.common.money import CURRENCY_EXPONENTS, MoneyError, parse_amount
from apps.common.principals import SYSTEM_ACTOR
from apps.transactions.ledger_check import ledger_check
from apps.transactions.models import JournalEntry, Posting

API_AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]+)?", re.ASCII)  # API.md, "Money"
CURRENCIES = [*CURRENCY_EXPONENTS, "XYZ", "cny", "", "JPYY", "\u0000"]

amount_like = st.from_regex(r"\A[-+ ]?[0-9\uff10-\uff19]{0,17}(\.[0-9]{0,5})?([eE][-+]?[0-9]{1,3})?\Z")
amount_texts = st.one_of(amount_like, st.text(max_size=25), st.sampled_from(["0", "0.00", "1e3", "NaN", "-0", "1_0"]))


@settings(max_examples=200, deadline=None)
@given(text=amount_texts, currency=st.sampled_from(CURRENCIES))
def test_parse_amount_raises_only_money_error_and_keeps_the_exact_text(text, currency):
    try:
        parsed = parse_amount(text, currency)
    except MoneyError:
        accepted = False
    else:
        accepted = True
        assert isinstance(parsed, Decimal)
        assert parsed == Decimal(text)
        assert parsed.as_tuple() == Decimal(text).as_tuple()  # not rounded, not re-scaled
    # The oracle: API.md's rule, written independently.
    exponent = CURRENCY_EXPONENTS.get(currency)
    expected = (
        exponent is not None
        and API_AMOUNT.fullmatch(text) is not None
        and len(text.partition(".")[2]) <= exponent
        and Decimal(text) != 0
    )
    assert accepted == expected, (text, currency)


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(st.integers(), st.floats(), st.none(), st.binary(), st.lists(st.text(max_size=3), max_size=2)))
def test_parse_amount_refuses_every_non_text_value_with_money_error(value):
    try:
        parse_amount(value, "CNY")
    except MoneyError:
        return
    raise AssertionError(f"{value!r} was accepted")


# --- the transfer endpoint -----------------------------------------------------------------

HUGE = "9" * (1024 * 1024 + 10)
strings = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(["\u0000", "a\u0000", "\ud800", "\uffff", "\u202e", "💰", " ", "1" * 141, "x" * 5000, HUGE]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    strings,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
valid_amounts = st.one_of(
    st.integers(min_value=1, max_value=50_000).map(lambda cents: f"{cents // 100}.{cents % 100:02d}"),
    st.integers(min_value=1, max_value=500).map(str),
    st.sampled_from(["0.01", "0.1", "99.99", "100000", "999999999999999"]),
)
idempotency_keys = st.one_of(
    st.none(),
    st.sampled_from(["k1", "k2", "k3"]),  # reused across examples: replays and conflicts
    st.uuids().map(str),
    st.text(alphabet=st.characters(max_codepoint=255), max_size=300),
)
content_types = st.one_of(
    st.just("application/json"),
    st.sampled_from(
        [
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "application/problem+json",
            "",
            "*/*",
            "application/json; boundary=",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
latin1 = st.text(alphabet=st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=60)
extra_headers = st.dictionaries(
    st.sampled_from(
        [
            "HTTP_ACCEPT",
            "HTTP_ACCEPT_LANGUAGE",
            "HTTP_X_FORWARDED_FOR",
            "HTTP_USER_AGENT",
            "HTTP_IF_MATCH",
            "HTTP_X_REQUEST_ID",
            "HTTP_ACCEPT_ENCODING",
        ]
    ),
    latin1,
    max_size=3,
)


MODES = ["valid", "valid", "valid", "one_field", "one_header", "raw", "deep", "chaos"]


@st.composite
def transfer_requests(draw: Any, accounts: dict[str, str]) -> dict[str, Any]:
    """Mostly well-formed transfers (which post or are refused by a business rule), some with
    one field or header spoiled, some with the raw text mangled, some garbage throughout."""
    mode = draw(st.sampled_from(MODES))
    garbage_ids = st.one_of(st.uuids().map(str), json_values)
    ids = list(accounts)
    source, target = draw(st.permutations(ids))[:2]
    # (hypothesis favours 0 when it draws integers: "rare" events are the top value)
    rare = st.integers(min_value=0, max_value=9).map(lambda n: n == 9)
    currency = draw(st.sampled_from(["CNY", "USD"])) if draw(rare) else accounts[source]
    usual: dict[str, Any] = {
        "from_account": st.just(source),
        "to_account": st.just(target),
        "amount": valid_amounts,
        "currency": st.just(currency),
        "reference": st.text(max_size=20),
    }
    unusual: dict[str, Any] = {
        "from_account": garbage_ids,
        "to_account": garbage_ids,
        "amount": st.one_of(amount_texts, json_values),
        "currency": st.one_of(st.sampled_from(CURRENCIES), json_values),
        "reference": json_values,
    }
    spoiled = draw(st.sampled_from(sorted(usual))) if mode == "one_field" else None
    body: Any = {}
    for name in usual:
        if mode == "chaos" and draw(st.booleans()):
            if draw(st.booleans()):
                body[name] = draw(unusual[name])
            # else: the field is left out
        elif name == spoiled:
            body[name] = draw(unusual[name])
        else:
            body[name] = draw(usual[name])
    if mode in ("one_field", "chaos") and draw(st.booleans()):
        body.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    # A numeric amount sometimes goes on the wire as a bare JSON number, as integrators send it.
    number_amount = isinstance(body.get("amount"), str) and draw(st.booleans())
    raw = json.dumps(body, ensure_ascii=draw(st.booleans()))
    if number_amount:
        raw = raw.replace(json.dumps(body["amount"]), body["amount"], 1)
    if mode in ("raw", "chaos"):
        raw = mangle(draw, raw)
    elif mode == "deep":  # a valid transfer carrying a deeply nested extra field
        depth = draw(depths)
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        raw = raw[:-1] + ', "deep": ' + opener * depth + "0" + closer * depth + "}"

    headers = {"HTTP_AUTHORIZATION": "good", "HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    content_type = "application/json"
    if draw(rare):
        headers["HTTP_IDEMPOTENCY_KEY"] = draw(st.sampled_from(["k1", "k2", "k3"]))  # replays, conflicts
    spoiled_header = draw(st.sampled_from(["auth", "key", "type", "extra"])) if mode == "one_header" else None
    if spoiled_header == "auth" or (mode == "chaos" and draw(st.booleans())):
        headers["HTTP_AUTHORIZATION"] = draw(
            st.one_of(st.sampled_from(["Bearer nope", "", "Basic x", "Bearer"]), latin1)
        )
    if spoiled_header == "key" or (mode == "chaos" and draw(st.booleans())):
        key = draw(idempotency_keys)
        if key is None:
            del headers["HTTP_IDEMPOTENCY_KEY"]
        else:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
    if spoiled_header == "type" or (mode == "chaos" and draw(st.booleans())):
        content_type = draw(content_types)
    if spoiled_header == "extra" or (mode == "chaos" and draw(st.booleans())):
        headers.update(draw(extra_headers))
    return {"raw": raw, "content_type": content_type, "headers": headers, "mode": mode}


# Around the parser's nesting limit, and where a recursive walk of the document would overflow.
depths = st.one_of(st.sampled_from([63, 64, 65, 400, 600, 800, 950, 2000]), st.integers(min_value=1, max_value=3000))


def mangle(draw: Any, raw: str) -> str:
    mutation = draw(st.sampled_from(["truncate", "nan", "wrap", "deep", "garbage"]))
    if mutation == "truncate":
        return raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
    if mutation == "nan":
        return raw.replace("null", draw(st.sampled_from(["NaN", "Infinity", "-Infinity"])), 1)
    if mutation == "wrap":
        depth = draw(depths)
        return "[" * depth + raw + "]" * depth
    if mutation == "deep" and raw.endswith("}") and len(raw) > 2:
        depth = draw(depths)
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return raw[:-1] + ', "deep": ' + opener * depth + "0" + closer * depth + "}"
    return raw + draw(st.text(max_size=5))


def customer_money() -> dict[str, Decimal]:
    rows = Account.objects.filter(is_internal=False).values("currency").annotate(total=Sum("balance"))
    return {row["currency"]: row["total"] for row in rows}


def test_transfers_never_answer_5xx_and_the_ledger_stays_balanced(api, make_account):
    cny_a = make_account(balance="100000")
    cny_b = make_account(balance="100000")
    usd_a = make_account(currency="USD", balance="5000")
    usd_b = make_account(currency="USD", balance="50")
    frozen = make_account(balance="20")
    account_freeze(actor=SYSTEM_ACTOR, account=frozen, reason="fuzz")
    accounts = {str(a.public_id): a.currency for a in (cny_a, cny_b, usd_a, usd_b, frozen)}
    money_before = customer_money()

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=transfer_requests(accounts))
    def fuzz(request: dict[str, Any]) -> None:
        headers = dict(request["headers"])
        if headers["HTTP_AUTHORIZATION"] == "good":
            headers["HTTP_AUTHORIZATION"] = f"Bearer {api.token}"
        response = api.http.generic(
            # Bytes on the wire, as sent (post() would re-encode them by the content type's charset).
            "POST",
            "/api/v1/transfers/",
            request["raw"].encode("utf-8", "surrogatepass"),
            content_type=request["content_type"],
            **headers,
        )
        assert response.status_code < 500, response.content[:300]
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/problem+json"
            problem = json.loads(response.content)
            assert {"type", "title", "status", "detail", "code"} <= set(problem)
            assert problem["status"] == response.status_code
        else:
            assert response.status_code == 201, response.content[:300]
            moved = json.loads(response.content)
            assert moved["kind"] == "transfer"
            assert sum(Decimal(p["amount"]) for p in moved["postings"]) == 0
        sums = Posting.objects.values("currency").annotate(total=Sum("amount"))
        assert all(row["total"] == 0 for row in sums), list(sums)
        assert customer_money() == money_before
        report = ledger_check()
        assert report.ok, report

    fuzz()
    # The examples reached the ledger: some transfers posted (each one checked above).
    assert JournalEntry.objects.filter(kind="transfer").exists()
    frozen.refresh_from_db()
    assert frozen.balance == Decimal("20")  # nothing reached the frozen account
