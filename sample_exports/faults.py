"""Planted faults: what a correct ingest must quarantine or repair, recorded as ground truth.

Rules (one file at a time, on the formatted text of its rows):
- About `rate` x rows of the file carry a fault (binomial draw); never two faults on one row.
- Quarantine faults are EXTRA rows: a copy of a clean row with one fault. The clean row stays, so
  the clean data is complete and `rows in file = clean rows + quarantine rows`.
  * duplicate_key: an exact copy of a row, placed after it (the second occurrence is the fault).
  * the others (missing_required, bad_number, bad_date, out_of_range, bad_enum, bad_inn) get a fresh
    key (the first key column with "-1" appended), so the copy is no duplicate and has exactly one
    reason to be rejected:
    missing_required: a required column left empty; bad_number: an unparseable decimal or integer;
    bad_date: an impossible date (30 February, month 13, day 32) in a date or timestamp column;
    out_of_range: a negative value in a column with a minimum of 0; bad_enum: a value outside the
    allowed set; bad_inn: finance counterparties only, an INN with a wrong check digit.
  Copies other than duplicates go to random places in the file.
- mojibake (generic-dialect files only): a Cyrillic text value of a clean row replaced IN PLACE by
  its UTF-8 bytes decoded as cp1251 ('ООО' -> 'РћРћРћ'); ingest repairs it, nothing is quarantined.
  Only values that survive the round trip exactly are used (no 'И', whose second byte cp1251 lacks).
Row numbers are 1-based record numbers in the written file, header excluded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.contracts import Column, Contract
from ingest.dialects import Dialect
from sample_exports.inn import corrupt_inn, is_valid_inn

BAD_ENUM = {
    "office_code": ("OMS", "TMN", "PRM"),
    "product_line": ("consulting", "leasing"),
    "currency": ("GBP", "CNY", "JPY"),
    "role": ("intern", "director"),
    "partner_type": ("integrator", "vendor"),
    "source_channel": ("tv", "radio"),
    "status": ("reopened", "archived"),
    "stage": ("on_hold", "frozen"),
    "activity_type": ("sms", "task"),
    "direction": ("internal", "both"),
    "priority": ("p1", "blocker"),
    "channel": ("fax", "telegram"),
    "campaign_type": ("social", "radio"),
    "response": ("bounced", "unsubscribed"),
    "event_type": ("scroll", "video_play"),
    "device": ("tv", "console"),
}
BAD_DECIMAL = {
    "generic": ("12.34.56", "1O0.00", "#VALUE!", "12..5"),
    "ru": ("#ЗНАЧ!", "12,34,56", "1О0,00", "сто"),
}
BAD_INTEGER = ("12a", "#VALUE!", "1O0", "3.5.1")
NOT_TEXT = {"website", "page_url", "referrer", "utm_source", "utm_medium", "utm_campaign", "deal_ref"}
QUARANTINE_KINDS = (
    "duplicate_key",
    "missing_required",
    "bad_number",
    "bad_date",
    "out_of_range",
    "bad_enum",
    "bad_inn",
)


@dataclass
class Planted:
    columns: list[np.ndarray]
    quarantine: list[tuple[int, str]]  # (row number, reason)
    repairs: list[tuple[int, str, str]]  # (row number, column, original text)


def mojibake(value: str | None) -> str | None:
    """`value` written as UTF-8 and read as cp1251, or None when that would not round-trip exactly."""
    if not value or not any("\u0400" <= ch <= "\u04ff" for ch in value):
        return None
    try:
        garbled = value.encode("utf-8").decode("cp1251")
    except UnicodeDecodeError:
        return None
    if garbled != garbled.strip() or garbled.encode("cp1251").decode("utf-8") != value:
        return None
    return garbled


def text_columns(contract: Contract) -> list[int]:
    """Columns of free text (names, reasons, outcomes), as opposed to ids, codes and URLs."""
    return [
        i
        for i, c in enumerate(contract.columns)
        if c.type == "string"
        and c.name not in contract.key
        and not c.name.endswith("_id")
        and c.name not in NOT_TEXT
    ]


def _cols(contract: Contract, pred) -> list[int]:
    return [i for i, c in enumerate(contract.columns) if pred(c)]


def applicable(contract: Contract, allow_mojibake: bool) -> dict[str, list[int]]:
    """Fault kind -> indices of the columns it can be planted in (empty list: row-level)."""
    kinds: dict[str, list[int]] = {"duplicate_key": []}
    spec = {
        "missing_required": lambda c: c.required,
        "bad_number": lambda c: c.type in ("decimal", "integer"),
        "bad_date": lambda c: c.type in ("date", "timestamp"),
        "out_of_range": lambda c: c.min_value is not None,
        "bad_enum": lambda c: c.type == "enum",
        "bad_inn": lambda c: c.type == "inn" and c.invalid == "reject",
    }
    for kind, pred in spec.items():
        cols = _cols(contract, pred)
        if cols:
            kinds[kind] = cols
    if allow_mojibake and text_columns(contract):
        kinds["mojibake"] = text_columns(contract)
    return kinds


def _bad_date(value: str | None, col: Column, ru: bool, rng: np.random.Generator) -> str:
    if ru:
        year = value[6:10] if value and len(value) >= 10 else "2025"
        month = value[3:5] if value and len(value) >= 10 else "06"
        text = (f"30.02.{year}", f"15.13.{year}", f"32.{month}.{year}")[int(rng.integers(3))]
    else:
        year = value[:4] if value and len(value) >= 10 else "2025"
        month = value[5:7] if value and len(value) >= 10 else "06"
        text = (f"{year}-02-30", f"{year}-13-15", f"{year}-{month}-32")[int(rng.integers(3))]
    if col.type == "timestamp":
        text += " 10:00:00" if ru else "T10:00:00"
    return text


def _negative(value: str | None, col: Column, ru: bool) -> str:
    if value and any(ch in "123456789" for ch in value):
        return "-" + value
    if col.type == "integer":
        return "-150"
    return "-150,00" if ru else "-150.00"


def _corrupt(
    kind: str, row: list, contract: Contract, cols: list[int], ru: bool, rng: np.random.Generator
) -> None:
    ci = cols[int(rng.integers(len(cols)))] if cols else -1
    col = contract.columns[ci] if ci >= 0 else None
    if kind == "missing_required":
        row[ci] = None
    elif kind == "bad_number":
        pool = BAD_INTEGER if col.type == "integer" else BAD_DECIMAL["ru" if ru else "generic"]
        row[ci] = pool[int(rng.integers(len(pool)))]
    elif kind == "bad_date":
        row[ci] = _bad_date(row[ci], col, ru, rng)
    elif kind == "out_of_range":
        row[ci] = _negative(row[ci], col, ru)
    elif kind == "bad_enum":
        # never a code the dialect knows (Salesforce maps CallType 'Internal' to empty, not to an error)
        known = {a.lower() for a in col.allowed}
        pool = tuple(v for v in BAD_ENUM.get(col.name, ()) if v.lower() not in known) or ("unknown_value",)
        row[ci] = pool[int(rng.integers(len(pool)))]
    elif kind == "bad_inn":
        value = row[ci]
        if is_valid_inn(value):
            row[ci] = corrupt_inn(value, rng)
        else:
            body = "".join(str(d) for d in rng.integers(0, 10, 10))
            row[ci] = body if not is_valid_inn(body) else corrupt_inn(body, rng)


def plant_faults(
    columns: list[np.ndarray],
    contract: Contract,
    dialect: Dialect,
    rng: np.random.Generator,
    rate: float,
    weights: dict[str, float],
    allow_mojibake: bool,
) -> Planted:
    n = len(columns[0]) if columns else 0
    if n == 0 or rate <= 0:
        return Planted(columns, [], [])
    kinds = applicable(contract, allow_mojibake)
    names = [k for k in weights if k in kinds and weights[k] > 0]
    w = np.array([weights[k] for k in names], dtype=float)
    k = min(int(rng.binomial(n, min(rate, 1.0))), n)
    drawn = [names[i] for i in rng.choice(len(names), size=k, p=w / w.sum())] if k else []
    sources = rng.choice(n, size=k, replace=False) if k else np.zeros(0, dtype=np.int64)
    ru = dialect.decimal_comma  # DD.MM.YYYY dates and decimal comma (Russian accounting, Bitrix24)
    key_ci = contract.column_names.index(contract.key[0])
    used = set(sources.tolist())

    copies: list[list] = []
    copy_kind: list[str] = []
    copy_key: list[float] = []
    moji: list[tuple[int, int, str]] = []  # (row index, column index, original)
    for kind, src in zip(drawn, sources.tolist(), strict=True):
        if kind == "mojibake":
            row_idx = src
            for _attempt in range(12):
                options = [ci for ci in kinds["mojibake"] if mojibake(columns[ci][row_idx]) is not None]
                if options:
                    ci = options[int(rng.integers(len(options)))]
                    moji.append((row_idx, ci, columns[ci][row_idx]))
                    used.add(row_idx)
                    break
                row_idx = int(rng.integers(n))
                while row_idx in used:
                    row_idx = int(rng.integers(n))
            continue
        row = [c[src] for c in columns]
        if kind == "duplicate_key":
            copy_key.append(src + max(float(rng.random()), 1e-6) * (n - src))
        else:
            if row[key_ci] is not None:
                row[key_ci] = f"{row[key_ci]}-1"
            _corrupt(kind, row, contract, kinds[kind], ru, rng)
            copy_key.append(float(rng.random()) * n)
        copies.append(row)
        copy_kind.append(kind)

    out = [c.copy() for c in columns]
    for row_idx, ci, original in moji:
        out[ci][row_idx] = mojibake(original)
    if copies:
        extra = list(zip(*copies, strict=True))
        out = [np.concatenate([c, np.array(e, dtype=object)]) for c, e in zip(out, extra, strict=True)]
    keys = np.concatenate([np.arange(n, dtype=float), np.array(copy_key, dtype=float)])
    order = np.argsort(keys, kind="stable")
    out = [c[order] for c in out]
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    quarantine = sorted((int(position[n + j]) + 1, kind) for j, kind in enumerate(copy_kind))
    repairs = sorted((int(position[r]) + 1, contract.columns[ci].name, orig) for r, ci, orig in moji)
    return Planted(out, quarantine, repairs)
