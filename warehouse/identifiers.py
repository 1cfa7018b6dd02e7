"""Identifiers every room reads the same way, through the libraries made for them.

- INN (Russian taxpayer number): python-stdnum checks the length and the check digits.
- Phone numbers: phonenumbers parses them (a number without a country code is Russian),
  judges whether they are possible (the right length for their country) and writes E.164.

What the libraries cannot know is ours, and small: which characters an export may put
inside a value (ingest's SQL, the fast path over millions of rows, has to mirror the same
rule; tests/ingest/test_parsing_properties.py holds both to the libraries' answers).
ingest (exports), resolution (matching) and sample_exports (the generator) all call these.
"""

from __future__ import annotations

import re

from stdnum.ru import inn as stdnum_inn

# What an accounting or CRM export may put inside an INN: spaces, no-break and narrow
# no-break spaces, tabs. Anything else (dashes, letters, full-width digits) is refused, as
# the SQL form refuses it.
INN_SEPARATORS = " \u00a0\u202f\t"
_INN_SEPARATORS_RE = re.compile(f"[{INN_SEPARATORS}]")

# A phone is written with digits and separators only, a '+' only in front. Letters are refused:
# an extension ("доб. 12") or a vanity number ("8-800-FLOWERS") is not a number we can dial
# or match, and the SQL fast path stays simple. phonenumbers decides everything else.
PHONE_ALLOWED = "\\+?[0-9 ()\\-.\u00a0]+"
PHONE_REGION = "RU"


def normalise_inn(value: object) -> str | None:
    """The INN as its digits when it is 10 (organisation) or 12 (individual) ASCII digits with
    correct check digits (separators in INN_SEPARATORS dropped); None otherwise."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    digits = _INN_SEPARATORS_RE.sub("", str(value))
    if not digits.isascii() or not digits.isdigit():
        return None
    return digits if stdnum_inn.is_valid(digits) else None


def inn_check_digits(body: str) -> str:
    """The check digit(s) completing a 9-digit (organisation) or 10-digit (individual) INN body."""
    if not body.isascii() or not body.isdigit() or len(body) not in (9, 10):
        raise ValueError(f"an INN body is 9 or 10 digits, got {body!r}")
    if len(body) == 9:
        return stdnum_inn.calc_company_check_digit(body)
    return stdnum_inn.calc_personal_check_digits(body)


def normalise_phone(value: object) -> str | None:
    """E.164 ('+79161234567') when `value` is a phone number (PHONE_ALLOWED characters, a
    Russian number when it has no '+country code') of a possible length for its country;
    None otherwise."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    if not re.fullmatch(PHONE_ALLOWED, text):
        return None
    import phonenumbers

    try:
        number = phonenumbers.parse(text, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
