"""Bitrix24 CRM: the CSV exports of the company, contact, lead, deal and activity lists, with
Russian column headers, ';' separated, Windows-1251 or UTF-8 with BOM, DD.MM.YYYY [HH:MI:SS] dates
and decimal comma.

Linked records: Bitrix shows a linked company, contact or responsible user by name ("Компания",
"Ответственный"); names are not keys, so we read the id columns ("ID компании", "ID ответственного",
...) and keep the names in `_extras`. Stages, statuses, sources and activity types are accepted
both as Bitrix's default Russian names and as their codes (WON, IN_PROCESS, ...).

Lead source CALL ("Звонок") is what Bitrix's telephony sets on a lead made from an incoming call,
so it reads as inbound_call; Bitrix has no cold-call source of its own, we read the custom source
"Холодный звонок" (COLD_CALL). Bitrix exports no partners, campaigns or tickets here: those come as
generic files, and deals carry no partner (documented as absent in docs/exports.md).
"""

from __future__ import annotations

from ingest.dialects.model import Dialect, Field

DEAL_STAGES = (
    ("Новая", "qualification"),
    ("NEW", "qualification"),
    ("Подготовка документов", "proposal"),
    ("PREPARATION", "proposal"),
    ("Счёт на предоплату", "negotiation"),
    ("Счет на предоплату", "negotiation"),
    ("PREPAYMENT_INVOICE", "negotiation"),
    ("В работе", "negotiation"),
    ("EXECUTING", "negotiation"),
    ("Финальный счёт", "negotiation"),
    ("Финальный счет", "negotiation"),
    ("FINAL_INVOICE", "negotiation"),
    ("Сделка успешна", "won"),
    ("WON", "won"),
    ("Сделка провалена", "lost"),
    ("LOSE", "lost"),
    ("Анализ причины провала", "lost"),
    ("APOLOGY", "lost"),
)
LEAD_STATUSES = (
    ("Не обработан", "new"),
    ("NEW", "new"),
    ("В работе", "working"),
    ("IN_PROCESS", "working"),
    ("Обработан", "qualified"),
    ("PROCESSED", "qualified"),
    ("Качественный лид", "converted"),
    ("Сконвертирован", "converted"),
    ("CONVERTED", "converted"),
    ("Некачественный лид", "disqualified"),
    ("JUNK", "disqualified"),
)
LEAD_SOURCES = (
    ("CRM-форма", "web_form"),
    ("WEBFORM", "web_form"),
    ("Веб-сайт", "web_form"),
    ("WEB", "web_form"),
    ("Реклама", "ad"),
    ("ADVERTISING", "ad"),
    ("Выставка", "event"),
    ("TRADE_SHOW", "event"),
    ("Вебинар", "webinar"),
    ("E-mail", "email"),
    ("Электронная почта", "email"),
    ("EMAIL", "email"),
    ("По рекомендации", "referral"),
    ("RECOMMENDATION", "referral"),
    ("Холодный звонок", "cold_call"),
    ("COLD_CALL", "cold_call"),
    ("Звонок", "inbound_call"),
    ("CALL", "inbound_call"),
    ("Партнёр", "partner"),
    ("Партнер", "partner"),
    ("PARTNER", "partner"),
    ("Онлайн-чат", "chat"),
    ("Открытая линия", "chat"),
    ("Другое", None),
    ("OTHER", None),
)
ACTIVITY_TYPES = (
    ("Звонок", "call"),
    ("CALL", "call"),
    ("Письмо", "email"),
    ("E-mail", "email"),
    ("EMAIL", "email"),
    ("Встреча", "meeting"),
    ("MEETING", "meeting"),
    ("Мероприятие", "event"),
)
DIRECTIONS = (
    ("Входящий", "inbound"),
    ("Исходящий", "outbound"),
    ("Входящее", "inbound"),
    ("Исходящее", "outbound"),
)
PRODUCT_LINES = (
    ("Лицензии", "licenses"),
    ("Облако", "cloud"),
    ("Оборудование", "hardware"),
    ("Услуги", "services"),
    ("Техподдержка", "support"),
    ("Обучение", "training"),
)
CLOSED, OPEN = ("да", "y"), ("нет", "n")
NAME_PARTS = ("Фамилия", "Имя", "Отчество")

BITRIX24 = Dialect(
    name="bitrix24",
    description=(
        "Bitrix24 CRM list exports (companies, contacts, leads, deals, activities): Russian headers, ';' "
        "separated, Windows-1251 or UTF-8 with BOM, DD.MM.YYYY [HH:MI:SS] dates, decimal comma."
    ),
    delimiter=";",
    date_formats=("%d.%m.%Y",),
    timestamp_formats=("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"),
    decimal_comma=True,
    write_encoding="cp1251",
    true_values=("да", "y", "1"),
    false_values=("нет", "n", "0"),
    formats=("csv", "xlsx"),
    file_names={
        "company": "accounts",
        "компании": "accounts",
        "contact": "contacts",
        "контакты": "contacts",
        "lead": "leads",
        "лиды": "leads",
        "deal": "deals",
        "сделки": "deals",
        "activity": "activities",
        "дела": "activities",
    },
    fields={
        "accounts": (
            Field("account_id", "ID"),
            Field("name", "Название компании"),
            Field("inn", "ИНН", note="from the company's requisites"),
            Field("kpp", "КПП", note="from the company's requisites"),
            Field("region", "Регион"),
            Field("website", "Сайт"),
            Field("website", "Корпоративный сайт"),
            Field("phone", "Телефон"),
            Field("phone", "Рабочий телефон"),
            Field("industry", "Сфера деятельности"),
            Field("owner_user_id", "ID ответственного"),
            Field("office_code", "Офис", note="custom field"),
            Field("created_at", "Дата создания"),
        ),
        "contacts": (
            Field("contact_id", "ID"),
            Field("account_id", "ID компании"),
            Field("full_name", NAME_PARTS, note="Фамилия, Имя and Отчество joined"),
            Field("email", "E-mail"),
            Field("email", "Рабочий e-mail"),
            Field("phone", "Телефон"),
            Field("phone", "Мобильный телефон"),
            Field("job_title", "Должность"),
            Field("created_at", "Дата создания"),
        ),
        "leads": (
            Field("lead_id", "ID"),
            Field("created_at", "Дата создания"),
            Field("source_channel", "Источник", values=LEAD_SOURCES),
            Field("company_name", "Название компании"),
            Field("inn", "ИНН"),
            Field("contact_name", NAME_PARTS, note="Фамилия, Имя and Отчество joined"),
            Field("email", "E-mail"),
            Field("email", "Рабочий e-mail"),
            Field("phone", "Телефон"),
            Field("phone", "Мобильный телефон"),
            Field("region", "Регион"),
            Field("status", "Статус", values=LEAD_STATUSES),
            Field("converted_account_id", "ID компании", note="the company the lead was converted to"),
            Field(
                "converted_at",
                "Дата закрытия",
                when=("Статус", tuple(v for v, ours in LEAD_STATUSES if ours == "converted")),
                note="for converted leads",
            ),
            Field("owner_user_id", "ID ответственного"),
        ),
        "deals": (
            Field("deal_id", "ID"),
            Field("account_id", "ID компании"),
            Field("created_at", "Дата создания"),
            Field("stage", "Стадия сделки", values=DEAL_STAGES),
            Field("amount", "Сумма"),
            Field("currency", "Валюта"),
            Field("product_line", "Продуктовая линия", values=PRODUCT_LINES, note="custom field"),
            Field("expected_close_date", "Предполагаемая дата закрытия", when=("Закрыта", OPEN)),
            Field(
                "closed_at",
                "Предполагаемая дата закрытия",
                when=("Закрыта", CLOSED),
                note="the close date of a closed deal, at midnight",
            ),
            Field("lost_reason", "Причина отказа", note="custom field"),
            Field("owner_user_id", "ID ответственного"),
            Field("lead_id", "ID лида"),
            Field("office_code", "Офис", note="custom field"),
        ),
        "activities": (
            Field("activity_id", "ID"),
            Field("activity_type", "Тип", values=ACTIVITY_TYPES),
            Field("direction", "Направление", values=DIRECTIONS),
            Field("occurred_at", "Дата начала"),
            Field("account_id", "ID компании"),
            Field("contact_id", "ID контакта"),
            Field("lead_id", "ID лида"),
            Field("deal_id", "ID сделки"),
            Field("owner_user_id", "ID ответственного"),
            Field("outcome", "Результат"),
        ),
    },
)
