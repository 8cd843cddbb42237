"""Money: exact arithmetic in one currency, largest-remainder splits, and the strict amount parser."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.common.money import CurrencyMismatch, Money, MoneyError, format_amount, parse_amount

REPO = Path(__file__).resolve().parents[3]


def cny(text: str) -> Money:
    return Money(Decimal(text), "CNY")


def test_money_adds_and_subtracts_exactly():
    assert cny("0.10") + cny("0.20") == cny("0.30")
    assert (cny("0.10") + cny("0.20")).amount == Decimal("0.30")
    assert cny("100.00") - cny("0.01") == cny("99.99")
    assert -cny("5.25") == cny("-5.25")


def test_money_compares_within_one_currency():
    assert cny("1.00") < cny("1.01")
    assert cny("1.01") <= cny("1.01")
    assert not cny("1.02") <= cny("1.01")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
    ],
)
def test_money_refuses_to_mix_currencies(operation):
    with pytest.raises(CurrencyMismatch):
        operation(cny("1.00"), Money(Decimal("1.00"), "USD"))


def test_money_refuses_a_float_amount():
    with pytest.raises(MoneyError):
        Money(1.5, "CNY")  # type: ignore[arg-type]


def test_money_refuses_non_finite_amounts_and_unknown_currencies():
    with pytest.raises(MoneyError):
        Money(Decimal("NaN"), "CNY")
    with pytest.raises(MoneyError):
        Money(Decimal("Infinity"), "CNY")
    with pytest.raises(MoneyError):
        Money(Decimal("1"), "XYZ")


def test_money_quantizes_half_even_to_the_minor_unit():
    assert cny("1.005").quantized() == cny("1.00")
    assert cny("1.015").quantized() == cny("1.02")
    assert Money(Decimal("12.5"), "JPY").quantized() == Money(Decimal("12"), "JPY")
    assert cny("1.005").is_whole_minor_units() is False
    assert cny("1.01").is_whole_minor_units() is True


def test_money_formats_at_the_currency_precision():
    assert cny("1250.5").format() == "1250.50"
    assert Money(Decimal("1250"), "JPY").format() == "1250"
    assert format_amount(Decimal("-3.1"), "USD") == "-3.10"


def test_split_by_largest_remainder_gives_the_leftover_cents_to_the_largest_remainders():
    parts = cny("100.00").split([1, 1, 1])
    assert [p.amount for p in parts] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum((p for p in parts), Money.zero("CNY")) == cny("100.00")
    assert [p.amount for p in cny("0.05").split([3, 7])] == [Decimal("0.02"), Decimal("0.03")]
    assert [p.amount for p in Money(Decimal("10"), "JPY").split([1, 2])] == [Decimal("3"), Decimal("7")]


@settings(max_examples=150, deadline=None)
@given(
    cents=st.integers(min_value=0, max_value=10**15),
    ratios=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=8).filter(lambda r: sum(r) > 0),
)
def test_split_never_loses_or_invents_a_minor_unit(cents, ratios):
    total = Money(Decimal(cents).scaleb(-2), "CNY")
    parts = total.split(ratios)
    assert len(parts) == len(ratios)
    assert sum((p.amount for p in parts), Decimal(0)) == total.amount
    for part, ratio in zip(parts, ratios, strict=True):
        assert part.is_whole_minor_units()
        exact = total.amount * ratio / sum(ratios)
        assert abs(part.amount - exact) < Decimal("0.01")  # each part within one cent of its share
        if ratio == 0:
            assert part.amount == 0


def test_split_refuses_bad_ratios_and_fractions_of_a_minor_unit():
    for ratios in ([], [0, 0], [1, -1]):
        with pytest.raises(MoneyError):
            cny("1.00").split(ratios)
    with pytest.raises(MoneyError):
        cny("1.005").split([1, 1])


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1", "CNY", Decimal("1")),
        ("1.5", "CNY", Decimal("1.5")),
        ("1250.50", "CNY", Decimal("1250.50")),
        ("0.01", "USD", Decimal("0.01")),
        ("1250", "JPY", Decimal("1250")),
        ("999999999999999", "CNY", Decimal("999999999999999")),  # 15 integer digits
        ("007", "EUR", Decimal("7")),
    ],
)
def test_parse_amount_accepts_plain_decimal_strings(text, currency, expected):
    parsed = parse_amount(text, currency)
    assert isinstance(parsed, Decimal)
    assert parsed == expected
    assert parsed.as_tuple() == Decimal(text).as_tuple()  # the text exactly, never rounded


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("1.000", "CNY"),  # more decimals than the currency has
        ("1.001", "USD"),
        ("1.5", "JPY"),  # JPY has no decimals
        ("1.0", "JPY"),
        ("-1", "CNY"),
        ("+1", "CNY"),
        ("1e3", "CNY"),
        ("1E3", "CNY"),
        (" 1", "CNY"),
        ("1 ", "CNY"),
        ("1\n", "CNY"),
        ("1,000", "CNY"),
        ("1_000", "CNY"),
        ("\uff10\uff11", "CNY"),  # full-width digits zero, one
        ("\u0661", "CNY"),  # Arabic-Indic one
        ("0", "CNY"),
        ("0.00", "CNY"),
        ("0", "JPY"),
        ("", "CNY"),
        (".5", "CNY"),
        ("1.", "CNY"),
        ("NaN", "CNY"),
        ("Infinity", "CNY"),
        ("0x10", "CNY"),
        ("1" * 16, "CNY"),  # 16 integer digits
        ("1" * 16 + ".00", "CNY"),
        ("1", "XYZ"),  # unknown currency
        ("1", "cny"),
    ],
)
def test_parse_amount_refuses(text, currency):
    with pytest.raises(MoneyError):
        parse_amount(text, currency)


@pytest.mark.parametrize("value", [1, 1.5, Decimal("1.5"), None, b"1", ["1"]])
def test_parse_amount_refuses_anything_but_text(value):
    with pytest.raises(MoneyError):
        parse_amount(value, "CNY")  # type: ignore[arg-type]


MONEY_MODULES = [
    "apps/common/money.py",
    "apps/api/fields.py",
    "apps/api/parsers.py",
    "apps/accounts/services.py",
    "apps/transactions/services.py",
    "apps/transactions/ledger_check.py",
]


@pytest.mark.parametrize("relative", MONEY_MODULES)
def test_no_float_in_the_code_that_handles_money(relative):
    tree = ast.parse((REPO / relative).read_text(encoding="utf-8"))
    offenders = [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Name) and node.id == "float")
        or (isinstance(node, ast.Constant) and isinstance(node.value, float))
    ]
    assert offenders == [], f"{relative} uses float at lines {offenders}"
