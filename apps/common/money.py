"""Money: an exact decimal amount with its ISO 4217 currency. No float, ever."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.utils.translation import gettext as _

# Currencies the bank books, with their minor-unit exponent (ISO 4217).
CURRENCY_EXPONENTS: dict[str, int] = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "HKD": 2,
    "JPY": 0,
    "GBP": 2,
    "SGD": 2,
}
SUPPORTED_CURRENCIES = tuple(sorted(CURRENCY_EXPONENTS))
CURRENCY_CHOICES = [(code, code) for code in SUPPORTED_CURRENCIES]

# A request amount: ASCII digits, optional fraction; no sign, exponent, space or separator.
AMOUNT_PATTERN = re.compile(r"[0-9]{1,15}(\.[0-9]+)?")


class MoneyError(ValueError):
    """An amount or currency that cannot be money."""


class CurrencyMismatch(MoneyError):
    """Arithmetic between two currencies."""


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyError(_("Unsupported currency: %(currency)s.") % {"currency": currency}) from None


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


def parse_amount(text: str, currency: str) -> Decimal:
    """Parse a positive request amount strictly; the text is never read through a float.

    Refuses signs, exponents, spaces, separators, zero, and more decimals than the currency has.
    """
    if not isinstance(text, str) or not AMOUNT_PATTERN.fullmatch(text):
        raise MoneyError(_('Enter an amount as a decimal string of digits, e.g. "1250.50".'))
    exponent = currency_exponent(currency)
    fraction = text.partition(".")[2]
    if len(fraction) > exponent:
        if exponent == 0:
            raise MoneyError(_("%(currency)s amounts have no decimal places.") % {"currency": currency})
        raise MoneyError(
            _("%(currency)s amounts have at most %(places)d decimal places.")
            % {"currency": currency, "places": exponent}
        )
    amount = Decimal(text)
    if amount == 0:
        raise MoneyError(_("The amount must be greater than zero."))
    return amount


@dataclass(frozen=True, slots=True)
class Money:
    """An immutable amount in one currency. Mixing currencies raises CurrencyMismatch."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise MoneyError("Money needs a Decimal amount")
        if not self.amount.is_finite():
            raise MoneyError("Money needs a finite amount")
        currency_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency} cannot be mixed")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def is_whole_minor_units(self) -> bool:
        return self.amount == self.amount.quantize(minor_unit(self.currency))

    def quantized(self) -> Money:
        """Round half-even to the currency's minor unit (used only at the edges)."""
        return Money(self.amount.quantize(minor_unit(self.currency), ROUND_HALF_EVEN), self.currency)

    def split(self, ratios: list[int]) -> list[Money]:
        """Split into parts proportional to `ratios` by largest remainder: no minor unit is lost."""
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise MoneyError("ratios must be non-negative and not all zero")
        unit = minor_unit(self.currency)
        units = int((self.amount / unit).to_integral_value())
        if Decimal(units) * unit != self.amount:
            raise MoneyError("only whole minor units can be split")
        total = sum(ratios)
        shares = [units * r // total for r in ratios]
        remainders = sorted(range(len(ratios)), key=lambda i: -((units * ratios[i]) % total))
        for i in remainders[: units - sum(shares)]:
            shares[i] += 1
        return [Money(Decimal(s) * unit, self.currency) for s in shares]

    def format(self) -> str:
        """The amount as the API writes it: exactly the currency's minor-unit precision."""
        return format_amount(self.amount, self.currency)


def format_amount(amount: Decimal, currency: str) -> str:
    try:
        return str(amount.quantize(minor_unit(currency)))
    except InvalidOperation as exc:  # pragma: no cover - guarded by field sizes
        raise MoneyError(str(exc)) from exc
