"""Record ids as each CRM and web dialect writes them.

The simulation numbers records our way (`ACC-000123`, `v1a2b...`). A vendor export carries the
vendor's ids, and every file that refers to a record must use the same one: the CRM's own files, the
generic files written beside them (partners, tickets, ...), the finance exports' `deal_ref` and the
leads' web visitor ids. `IdStyle.translate` rewrites every id column of a table by its name.

- salesforce: 18-character ids with the object's key prefix (001 Account, 003 Contact, ...);
  partners are accounts too, numbered apart.
- bitrix24: each entity's own integer sequence (users, companies, contacts, leads, deals,
  activities); records Bitrix does not export keep our ids.
- ga4: visitor ids become GA client ids (`<random>.<first-visit seconds>`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ingest.dialects.salesforce import KEY_PREFIXES

# id column -> the kind of record it names
REFERENCES: dict[str, str] = {
    "user_id": "users",
    "owner_user_id": "users",
    "partner_id": "partners",
    "parent_partner_id": "partners",
    "account_id": "accounts",
    "parent_account_id": "accounts",
    "converted_account_id": "accounts",
    "contact_id": "contacts",
    "lead_id": "leads",
    "deal_id": "deals",
    "converted_deal_id": "deals",
    "deal_ref": "deals",
    "activity_id": "activities",
    "ticket_id": "tickets",
    "campaign_id": "campaigns",
    "campaign_member_id": "campaign_members",
    "visitor_id": "visitors",
    "web_visitor_id": "visitors",
}
SALESFORCE_OBJECT = {
    "users": "User",
    "partners": "Account",
    "accounts": "Account",
    "contacts": "Contact",
    "leads": "Lead",
    "deals": "Opportunity",
    "tickets": "Case",
    "campaigns": "Campaign",
    "campaign_members": "CampaignMember",
}
# the two characters after the key prefix (a pod, in real ids): partners apart from other accounts
_SF_POD = {"partners": "5h"}
BITRIX_KINDS = ("users", "accounts", "contacts", "leads", "deals", "activities")
_BASE62 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
_SUFFIX = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"))


def id_numbers(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row has an id, its number): our ids end in their sequence number after the last '-'."""
    has = np.array([v is not None for v in ids.tolist()], dtype=bool)
    numbers = np.zeros(len(ids), dtype=np.int64)
    if has.any():
        tails = np.strings.rpartition(ids[has].astype(str), "-")[2]
        numbers[has] = tails.astype(np.int64)
    return has, numbers


def salesforce_ids(prefix: str, numbers: np.ndarray, pod: str = "5g") -> np.ndarray:
    """18-character Salesforce ids: key prefix, pod, '0', the number in base 62 (9 places), suffix."""
    numbers = np.asarray(numbers, dtype=np.int64)
    digits = np.empty((len(numbers), 9), dtype="U1")
    rest = numbers.copy()
    for place in range(8, -1, -1):
        digits[:, place] = _BASE62[rest % 62]
        rest //= 62
    body = np.ascontiguousarray(digits).view("U9").reshape(len(numbers))
    ids15 = np.strings.add(prefix + pod + "0", body)
    # the case suffix (parsing.salesforce_id18), for all ids at once
    chars = np.ascontiguousarray(ids15.astype("U15")).view("U1").reshape(len(numbers), 3, 5)
    capital = (chars >= "A") & (chars <= "Z")
    bits = (capital * (1 << np.arange(5))).sum(axis=2)
    suffix = np.ascontiguousarray(_SUFFIX[bits]).view("U3").reshape(len(numbers))
    return np.strings.add(ids15, suffix).astype(object)


def ga_client_ids(visitor_ids: np.ndarray) -> np.ndarray:
    """A GA client id per visitor: a random 9-10 digit number and the first visit's epoch seconds."""

    def one(v: str) -> str:
        h = int.from_bytes(hashlib.md5(v.encode()).digest()[:8], "big")
        return f"{100_000_000 + h % 1_900_000_000}.{1_600_000_000 + (h >> 32) % 180_000_000}"

    known = {v: one(v) for v in set(visitor_ids.tolist()) if v is not None}
    return np.array([known.get(v) for v in visitor_ids.tolist()], dtype=object)


@dataclass(frozen=True)
class IdStyle:
    crm_dialect: str = "generic"
    web_dialect: str = "generic"

    @property
    def is_identity(self) -> bool:
        return self.crm_dialect == "generic" and self.web_dialect == "generic"

    def ids(self, kind: str, ids: np.ndarray) -> np.ndarray:
        """Our ids of one kind of record, as this style writes them."""
        ids = np.asarray(ids, dtype=object)
        if kind == "visitors":
            return ga_client_ids(ids) if self.web_dialect == "ga4" else ids
        if self.crm_dialect == "salesforce" and kind in SALESFORCE_OBJECT:
            prefix = KEY_PREFIXES[SALESFORCE_OBJECT[kind]]
            return self._mapped(ids, lambda n: salesforce_ids(prefix, n, _SF_POD.get(kind, "5g")))
        if self.crm_dialect == "bitrix24" and kind in BITRIX_KINDS:
            return self._mapped(ids, lambda n: n.astype(str).astype(object))
        return ids

    @staticmethod
    def _mapped(ids: np.ndarray, make) -> np.ndarray:
        has, numbers = id_numbers(ids)
        out = np.empty(len(ids), dtype=object)
        if has.any():
            out[has] = make(numbers[has])
        return out

    def translate(self, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A table's columns with every id column rewritten in this style."""
        if self.is_identity:
            return columns
        return {
            name: self.ids(REFERENCES[name], values) if name in REFERENCES else values
            for name, values in columns.items()
        }

    def one(self, kind: str, value: str | None) -> str | None:
        return self.ids(kind, np.array([value], dtype=object))[0]
