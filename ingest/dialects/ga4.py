"""GA4: web events as Google Analytics 4 exports them to BigQuery (one JSON object per event,
nested records and the event_params key/value array), exported from BigQuery as JSON lines.

GA4 has no event id: we derive one (see `EVENT_ID`). It has no personal data either (Google's
terms forbid sending e-mails and phones to Analytics), so form e-mails and phones are not in it;
the company and INN a form collects, the chat session and the CRM lead id arrive as custom event
parameters the site's tag sends (`form_company`, `form_inn`, `chat_session_id`, `lead_id`).
"""

from __future__ import annotations

from ingest.dialects.model import Dialect, Field
from ingest.parsing import EPOCH_MICROS

EVENT_NAMES = (
    ("page_view", "page_view"),
    ("form_submit", "form_submit"),
    ("generate_lead", "form_submit"),
    ("chat_start", "chat_start"),
    ("chat_message", "chat_message"),
    ("ad_click", "ad_click"),
)
DEVICE_CATEGORIES = (("desktop", "desktop"), ("mobile", "mobile"), ("tablet", "tablet"), ("smart tv", None))
# GA4 names regions in English; our sources name them in Russian.
REGIONS = (
    ("Moscow", "Москва"),
    ("Moscow Oblast", "Московская область"),
    ("Saint Petersburg", "Санкт-Петербург"),
    ("Leningrad Oblast", "Ленинградская область"),
    ("Sverdlovsk Oblast", "Свердловская область"),
    ("Chelyabinsk Oblast", "Челябинская область"),
    ("Novosibirsk Oblast", "Новосибирская область"),
    ("Tomsk Oblast", "Томская область"),
    ("Tatarstan", "Республика Татарстан"),
    ("Samara Oblast", "Самарская область"),
    ("Nizhny Novgorod Oblast", "Нижегородская область"),
    ("Krasnodar Krai", "Краснодарский край"),
    ("Rostov Oblast", "Ростовская область"),
    ("Primorsky Krai", "Приморский край"),
    ("Khabarovsk Krai", "Хабаровский край"),
)
# The parts of the derived event id, in order: md5 of their text joined by '|'.
EVENT_ID_PARTS = (
    Field("event_id", "user_pseudo_id"),
    Field("event_id", "event_timestamp"),
    Field("event_id", "event_name"),
    Field("event_id", "event_params", param="ga_session_id"),
)
EVENT_ID = Field(
    "event_id",
    key_of=EVENT_ID_PARTS,
    note="derived: md5 of user_pseudo_id|event_timestamp|event_name|ga_session_id",
)


def _param(column: str, name: str, **kw) -> Field:
    return Field(column, "event_params", param=name, **kw)


GA4 = Dialect(
    name="ga4",
    description=(
        "Google Analytics 4 events as exported to BigQuery, as JSON lines: event_timestamp in microseconds "
        "(UTC), event_params as a key/value array, nested device, geo and traffic source records."
    ),
    delimiter="",
    date_formats=("%Y%m%d",),
    timestamp_formats=(EPOCH_MICROS,),
    decimal_comma=False,
    formats=("jsonl",),
    file_names={"events": "web_events", "events_intraday": "web_events"},
    fields={
        "web_events": (
            EVENT_ID,
            Field("event_at", "event_timestamp"),
            Field("visitor_id", "user_pseudo_id"),
            Field("event_type", "event_name", values=EVENT_NAMES),
            _param("page_url", "page_location"),
            _param("referrer", "page_referrer"),
            Field("utm_source", "collected_traffic_source.manual_source"),
            _param("utm_source", "source", note="when collected_traffic_source is empty"),
            Field("utm_medium", "collected_traffic_source.manual_medium"),
            _param("utm_medium", "medium", note="when collected_traffic_source is empty"),
            Field("utm_campaign", "collected_traffic_source.manual_campaign_name"),
            _param("utm_campaign", "campaign", note="when collected_traffic_source is empty"),
            _param("chat_session_id", "chat_session_id", note="custom event parameter"),
            _param("form_company", "form_company", note="custom event parameter"),
            _param("form_inn", "form_inn", note="custom event parameter"),
            _param("lead_id", "lead_id", note="custom event parameter"),
            Field("device", "device.category", values=DEVICE_CATEGORIES),
            Field("geo_region", "geo.region", values=REGIONS),
        ),
    },
)
