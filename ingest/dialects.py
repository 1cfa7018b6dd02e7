"""Dialects: how one real export format maps onto the canonical contracts.

A dialect is data (ingest/dialect_model.py): where each contract column comes from in that
format, the separator, the date and number conventions. Parsing (ingest/load.py builds the SQL)
and the sample-export generator both read these tables, so what we write is what we read.
`generic` and `ru_accounting` are plain header tables; the vendor dialects (ingest/vendors/)
also map codes, ids and nested JSON.
"""

from __future__ import annotations

import re

from ingest.contracts import CONTRACTS
from ingest.dialect_model import Dialect, Field
from ingest.vendors import BITRIX24, GA4, SALESFORCE

__all__ = ["DIALECTS", "Dialect", "Field", "entity_for_file_name", "export_file_name", "get_dialect"]

GENERIC = Dialect(
    name="generic",
    description="UTF-8 CSV (comma separated, header row) or JSON lines; ISO dates; decimal point.",
    delimiter=",",
    date_formats=("%Y-%m-%d",),
    timestamp_formats=("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"),
    decimal_comma=False,
    headers={entity: {c.name: c.name for c in contract.columns} for entity, contract in CONTRACTS.items()},
)

RU_ACCOUNTING = Dialect(
    name="ru_accounting",
    description=(
        "Russian accounting export (1C-style): cp1251 or UTF-8 with BOM, ';' separator, DD.MM.YYYY dates, "
        "decimal comma, spaces or non-breaking spaces between thousands, Cyrillic headers."
    ),
    delimiter=";",
    date_formats=("%d.%m.%Y",),
    timestamp_formats=("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"),
    decimal_comma=True,
    write_encoding="cp1251",
    true_values=("да", "1", "истина"),
    false_values=("нет", "0", "ложь"),
    headers={
        "counterparties": {
            "Код": "counterparty_id",
            "Контрагент": "name",
            "ИНН": "inn",
            "КПП": "kpp",
            "Регион": "region",
            "Юридический адрес": "address",
            "Дата создания": "created_date",
        },
        "invoices": {
            "Номер счета": "invoice_id",
            "Код контрагента": "counterparty_id",
            "Дата": "invoice_date",
            "Срок оплаты": "due_date",
            "Подразделение": "office_code",
            "Номенклатурная группа": "product_line",
            "Сумма": "amount",
            "Сумма НДС": "vat_amount",
            "Валюта": "currency",
            "Сделка": "deal_ref",
        },
        "payments": {
            "Номер платежа": "payment_id",
            "Код контрагента": "counterparty_id",
            "Счет на оплату": "invoice_id",
            "Дата": "payment_date",
            "Сумма": "amount",
            "Валюта": "currency",
        },
        "credit_notes": {
            "Номер корректировки": "credit_note_id",
            "Счет на оплату": "invoice_id",
            "Код контрагента": "counterparty_id",
            "Дата": "credit_note_date",
            "Сумма": "amount",
            "Валюта": "currency",
            "Основание": "reason",
        },
    },
)

DIALECTS: dict[str, Dialect] = {d.name: d for d in (GENERIC, RU_ACCOUNTING, SALESFORCE, BITRIX24, GA4)}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise KeyError(f"unknown dialect {name!r}; known dialects: {', '.join(sorted(DIALECTS))}") from None


def export_file_name(entity: str, period: str, ext: str = "csv") -> str:
    """The file name the generator writes: `<entity>__<period>.<ext>`.

    `period` is a snapshot date (YYYY-MM-DD) for snapshot entities and a month
    (YYYY-MM) for event entities. Ingest uses the prefix as a hint only: the
    header decides the entity.
    """
    return f"{entity}__{period}.{ext}"


def entity_for_file_name(name: str) -> str | None:
    """The entity a file's name suggests: `<entity>__<period>.<ext>` as the generator writes it, or a
    vendor's own object name (`Opportunity.csv`, `Task__2024-03.csv`, `events_20240301.jsonl`).
    A hint only: the header decides."""
    stem = name.split(".")[0]
    prefix = stem.split("__")[0].lower()
    if prefix in CONTRACTS:
        return prefix
    letters = re.match(r"[^\W\d]+(?:_[^\W\d_]+)*", prefix)
    candidates = (prefix, letters.group(0).rstrip("_") if letters else "")
    for dialect in DIALECTS.values():
        for candidate in candidates:
            if candidate in dialect.file_names:
                return dialect.file_names[candidate]
    return None
