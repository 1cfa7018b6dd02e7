"""Dialects: how one real export format maps onto the canonical contracts.

A dialect is data: the header of each contract column in that format, the
separator, the date and number conventions. Parsing (ingest/validate.py) and the
sample-export generator both read these tables, so what we write is what we read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.contracts import CONTRACTS


@dataclass(frozen=True)
class Dialect:
    name: str
    description: str
    delimiter: str
    # strptime formats (DuckDB/Python), tried in order
    date_formats: tuple[str, ...]
    timestamp_formats: tuple[str, ...]
    decimal_comma: bool
    # entity -> {export header -> contract column}
    headers: dict[str, dict[str, str]]
    # encoding the generator writes; readers detect the encoding of every file
    write_encoding: str = "utf-8"
    true_values: tuple[str, ...] = ("true", "1", "yes", "y", "t")
    false_values: tuple[str, ...] = ("false", "0", "no", "n", "f")
    extra: dict[str, str] = field(default_factory=dict)

    def header_for(self, entity: str, column: str) -> str:
        for header, col in self.headers[entity].items():
            if col == column:
                return header
        raise KeyError(f"dialect {self.name} has no header for {entity}.{column}")

    def entities(self) -> tuple[str, ...]:
        return tuple(self.headers)


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

DIALECTS: dict[str, Dialect] = {d.name: d for d in (GENERIC, RU_ACCOUNTING)}


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
