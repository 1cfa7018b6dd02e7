"""A Russian accounting export (1C-style): Cyrillic headers, `;`, DD.MM.YYYY dates, decimal comma."""

from __future__ import annotations

from ingest.dialects.model import Dialect

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
            "Себестоимость": "cost_amount",
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
