"""Who is to be forgotten: the values a request names (an e-mail, a phone, a CRM contact id, a sole
proprietor's INN) and everything the warehouse ties to them, found in raw and quarantine.

Three kinds of value, treated differently wherever they are (docs/privacy.md, "Erasure"):

- personal values (e-mails, phones, a sole proprietor's INN and name, web visitor ids): a row that
  holds one as a whole value is the person's, and is deleted;
- record ids (the person's contact, lead, counterparty, account and partner ids): the rows that
  refer to them stay (a call, an invoice), the reference is replaced by a token (`erased-...`), the
  same token everywhere, and the person keys marts carry for them by the token's key;
- text (the above, and the person's name): replaced inside longer text (notes, raw lines, JSON).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from ingest.parsing import parse_email, parse_inn, parse_phone
from warehouse.pseudonyms import person_key

# raw column -> which record ids it holds (the columns are named alike in every contract)
ID_COLUMNS = {
    "contact_id": "contact",
    "lead_id": "lead",
    "counterparty_id": "counterparty",
    "account_id": "account",
    "parent_account_id": "account",
    "converted_account_id": "account",
    "partner_id": "partner",
}
VISITOR_COLUMNS = ("visitor_id", "web_visitor_id")
# the entities whose rows are the person's, by the id column that names them
OWN_ROWS = {
    "contacts": ("contact_id", "contact"),
    "leads": ("lead_id", "lead"),
    "counterparties": ("counterparty_id", "counterparty"),
    "accounts": ("account_id", "account"),
    "partners": ("partner_id", "partner"),
}
# person keys in marts: pseudonyms of '<kind>:<id>' (dbt/macros/personal_data.sql)
KEYED_KINDS = ("contact", "lead")
MAX_ROUNDS = 5
# the legal form before or after a sole proprietor's name (as dbt/macros/personal_data.sql)
_PROPRIETOR_FORM = re.compile(
    r"^\s*(ип|индивидуальный\s+предприниматель|ip|i\.p\.|пбоюл)(\s+|$)|[\s,]+(ип|ip)\s*$", re.IGNORECASE
)


class RequestError(ValueError):
    """The request names nothing that can be looked for (an e-mail that is not one, an INN of an
    organisation): fix the value and ask again."""


@dataclass
class Person:
    """What the warehouse knows of one person, grown from the request by looking in raw."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)  # +7..., as parse_phone writes them
    inns: set[str] = field(default_factory=set)  # 12-digit INNs (a person's)
    names: set[str] = field(default_factory=set)  # people's full names: erased in text only (namesakes)
    proprietor_names: set[str] = field(default_factory=set)  # a sole proprietor's, with the form (ИП ...)
    visitors: set[str] = field(default_factory=set)
    ids: dict[str, set[str]] = field(default_factory=dict)  # kind -> record ids

    def add_proprietor(self, name: str) -> None:
        """A sole proprietor's name: whole (with the form) it marks their rows; the person's name in
        it (without the form) is erased from text as any person's name."""
        self.proprietor_names.add(name)
        person = _PROPRIETOR_FORM.sub("", name).strip()
        if person and person != name:
            self.names.add(person)

    def add_id(self, kind: str, value) -> bool:
        if value is None or str(value).strip() == "":
            return False
        found = self.ids.setdefault(kind, set())
        before = len(found)
        found.add(str(value))
        return len(found) > before

    def all_ids(self) -> set[str]:
        return {v for values in self.ids.values() for v in values}

    def phone_digits(self) -> set[str]:
        """Every way a phone's digits are written: 7XXXXXXXXXX, 8XXXXXXXXXX and XXXXXXXXXX."""
        out = set()
        for phone in self.phones:
            digits = re.sub(r"\D", "", phone)
            out.add(digits)
            if len(digits) == 11 and digits[0] == "7":
                out |= {"8" + digits[1:], digits[1:]}
        return out

    def whole_values(self) -> set[str]:
        """Values (lower-cased) that make a row the person's when a column holds one whole."""
        return {v.lower() for v in self.emails | self.proprietor_names | self.visitors if v}

    def digit_values(self) -> set[str]:
        """Digit strings that make a row the person's when a short column's digits are one."""
        return self.phone_digits() | self.inns

    def is_empty(self) -> bool:
        return not (self.emails or self.phones or self.inns or self.visitors or self.all_ids())


ERASED = "[erased]"
_METACHARACTERS = set("\\.^$|?*+()[]{}")
_PHONE_SEPARATORS = "[ ()\\-.\u00a0]*"


def _literal(text: str) -> str:
    """A regular expression (RE2, as DuckDB runs it, and Python's re) matching `text` as it is."""
    return "".join("\\" + ch if ch in _METACHARACTERS else ch for ch in text)


def phone_pattern(phone: str) -> str:
    """A phone however it is written: +7 (916) 123-45-67, 8 916 1234567, 9161234567."""
    digits = re.sub(r"\D", "", phone)
    national = digits[1:] if len(digits) == 11 and digits[0] == "7" else digits
    prefix = "(?:\\+7|\\b[78]|\\b)" if national != digits else "(?:\\+|\\b)"
    return prefix + _PHONE_SEPARATORS + _PHONE_SEPARATORS.join(national) + "\\b"


def text_patterns(person: Person, tokens: dict[str, str]) -> list[tuple[str, str]]:
    """(pattern, replacement) pairs that erase the person from text: personal values and the name
    become [erased], record ids their token. Longest first (a full name before a part of it)."""
    texts = person.emails | person.names | person.proprietor_names | person.inns | person.visitors
    literal = {t for t in texts if t and len(t) >= 3}
    pairs = [("(?i)" + _literal(t), ERASED) for t in sorted(literal, key=len, reverse=True)]
    pairs += [(phone_pattern(p), ERASED) for p in sorted(person.phones)]
    for value in sorted(person.all_ids(), key=len, reverse=True):
        pairs.append(("\\b" + _literal(value) + "\\b", tokens[value]))
    return pairs


def tokens_for(person: Person, key: bytes) -> dict[str, str]:
    """Each record id -> its token, and each person key -> the token's key."""
    mapping: dict[str, str] = {}
    for kind, values in sorted(person.ids.items()):
        for value in sorted(values):
            token = mapping.setdefault(value, f"erased-{secrets.token_hex(6)}")
            if kind in KEYED_KINDS:
                mapping[person_key(key, kind, value)] = person_key(key, kind, token)
    return mapping


def from_request(emails: list[str], phones: list[str], contact_ids: list[str], inns: list[str]) -> Person:
    """The person as the request names them, values normalised as ingest stores them."""
    person = Person()
    for text in emails:
        email = parse_email(text)
        if email is None:
            raise RequestError(f"{text!r} is not an e-mail address")
        person.emails.add(email)
    for text in phones:
        phone = parse_phone(text)
        if phone is None:
            raise RequestError(f"{text!r} is not a phone number (+7..., 8..., or +<country code>...)")
        person.phones.add(phone)
    for text in inns:
        inn = parse_inn(text)
        if inn is None:
            raise RequestError(f"{text!r} is not a valid INN")
        if len(inn) != 12:
            raise RequestError(
                f"{inn} is an organisation's INN (10 digits); only a person's (a sole proprietor's, 12 digits) "
                "is personal data to forget"
            )
        person.inns.add(inn)
    for text in contact_ids:
        if not text.strip():
            raise RequestError("an empty contact id")
        person.add_id("contact", text.strip())
    if person.is_empty():
        raise RequestError("name the person: --email, --phone, --contact-id or --inn")
    return person
