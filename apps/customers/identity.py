"""National identity numbers, validated by country and customer kind.

Rules are pluggable: `register_rule(country, kind, rule)` adds or replaces one. A rule takes the
number and returns it in canonical form, or raises IdentityError with a message for people.
China: resident identity numbers (GB 11643, check digit and embedded birth date) for
individuals, unified social credit codes (GB 32100, check character) for companies.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from apps.common.crypto import blind_index

Rule = Callable[[str], str]
NATIONAL_ID_PURPOSE = "customer.national_id"


def national_id_digest(number: str) -> str:
    """The blind index of a national id: exact lookups without decrypting anything."""
    return blind_index(number, NATIONAL_ID_PURPOSE)


class IdentityError(ValueError):
    pass


_GENERIC = re.compile(r"[A-Z0-9][A-Z0-9-]{3,31}")


def generic_rule(number: str) -> str:
    canonical = "".join(number.split()).upper()
    if not _GENERIC.fullmatch(canonical):
        raise IdentityError(_("Enter 4 to 32 letters, digits or dashes."))
    return canonical


def china_resident_rule(number: str) -> str:
    try:
        return str(ric.validate(number))
    except StdnumError:
        raise IdentityError(
            _("Not a valid Chinese resident identity number (check digit or birth date is wrong).")
        ) from None


def china_company_rule(number: str) -> str:
    try:
        return str(uscc.validate(number))
    except StdnumError:
        raise IdentityError(_("Not a valid unified social credit code (check character is wrong).")) from None


_RULES: dict[tuple[str, str], Rule] = {
    ("CN", "individual"): china_resident_rule,
    ("CN", "corporate"): china_company_rule,
}


def register_rule(country: str, kind: str, rule: Rule) -> None:
    _RULES[(country.upper(), kind)] = rule


def validate_national_id(number: str, *, country: str, kind: str) -> str:
    return _RULES.get((country.upper(), kind), generic_rule)(number)


def birth_date_from_national_id(number: str, *, country: str, kind: str) -> dt.date | None:
    """The birth date a national id carries, where its format has one."""
    if country.upper() == "CN" and kind == "individual":
        return ric.get_birth_date(number)  # type: ignore[no-any-return]
    return None


def mask_identifier(value: str) -> str:
    """Keep the first and last four characters of a long identifier (`1101**********1234`)."""
    if len(value) >= 12:
        return value[:4] + "*" * (len(value) - 8) + value[-4:]
    if len(value) > 4:
        return "*" * (len(value) - 2) + value[-2:]
    return "*" * len(value)


def mask_phone(value: str) -> str:
    if len(value) >= 7:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return "*" * len(value)


def china_resident_id_for(birth: dt.date, serial: int, region: str = "110105") -> str:
    """A well-formed resident id (for demo data and tests): region, birth date, serial, check."""
    body = f"{region}{birth:%Y%m%d}{serial % 1000:03d}"
    return body + str(ric.calc_check_digit(body + "0"))  # stdnum expects a placeholder check digit
