"""Model fields shared by every app."""

from __future__ import annotations

from typing import Any

from django.db import models

from apps.common.crypto import key_ring


class EncryptedTextField(models.TextField):
    """Text stored encrypted with AES-GCM under the field-encryption key ring.

    The Python value is the plaintext (or None); the column holds only ciphertext.
    Encrypted columns cannot be filtered on: look them up through a blind index.
    """

    def _context(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return key_ring().encrypt(str(value), self._context())

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return key_ring().decrypt(value, self._context())


class MoneyAmountField(models.DecimalField):
    """An exact amount: NUMERIC(20, 4). Ledger postings hold whole minor units only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 20)
        kwargs.setdefault("decimal_places", 4)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        return name, path, args, kwargs


class CurrencyField(models.CharField):
    """An ISO 4217 code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from apps.common.money import CURRENCY_CHOICES

        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("choices", CURRENCY_CHOICES)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_length", None)
        kwargs.pop("choices", None)
        return name, path, args, kwargs
