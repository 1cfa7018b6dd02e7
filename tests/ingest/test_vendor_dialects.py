"""Vendor dialects on hand-written fixtures that follow each vendor's export format
(tests/fixtures/<dialect>/): detection, code mapping, ids, dates, nested JSON, extras."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest.detect import detect
from ingest.errors import DialectNotRecognised
from ingest.landing import classify
from ingest.load import ingest_paths
from ingest.parsing import derive_key
from ingest.readers import inspect_file, jsonl_keys, read_header, sniff_delimiter, utf8_copy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def query(db: Path, sql: str, params=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Every fixture folder loaded into its own warehouse: dialect -> (batch, db)."""
    out = {}
    for dialect in ("salesforce", "bitrix24", "ga4"):
        db = tmp_path_factory.mktemp(f"wh_{dialect}") / "warehouse.duckdb"
        out[dialect] = (ingest_paths([FIXTURES / dialect], db), db)
    return out


def header_of(path: Path, tmp_path: Path) -> tuple[list[str], str]:
    info = inspect_file(path)
    text = utf8_copy(info, tmp_path)
    if info.format == "jsonl":
        return jsonl_keys(text), info.format
    return read_header(text, sniff_delimiter(text)), info.format


# ---------------------------------------------------------------------------- detection
DETECTED = [
    ("salesforce", "User.csv", "users"),
    ("salesforce", "Account.csv", "accounts"),
    ("salesforce", "Contact.csv", "contacts"),
    ("salesforce", "Lead.csv", "leads"),
    ("salesforce", "Opportunity.csv", "deals"),
    ("salesforce", "OpportunityHistory.csv", "deal_stage_changes"),
    ("salesforce", "Task.csv", "activities"),
    ("salesforce", "Event.csv", "activities"),
    ("salesforce", "Case.csv", "tickets"),
    ("salesforce", "Campaign.csv", "campaigns"),
    ("salesforce", "CampaignMember.csv", "campaign_members"),
    ("bitrix24", "company.csv", "accounts"),
    ("bitrix24", "contact.csv", "contacts"),
    ("bitrix24", "lead.csv", "leads"),
    ("bitrix24", "deal.csv", "deals"),
    ("bitrix24", "activity.csv", "activities"),
    ("ga4", "events_20240301.jsonl", "web_events"),
]


@pytest.mark.parametrize(("dialect", "name", "entity"), DETECTED)
def test_each_vendor_file_is_detected_from_its_header_alone(tmp_path, dialect, name, entity):
    headers, fmt = header_of(FIXTURES / dialect / name, tmp_path)
    detection = detect(headers, Path("export.csv"), file_format=fmt)
    assert (detection.dialect.name, detection.entity) == (dialect, entity)


@pytest.mark.parametrize(("dialect", "name", "entity"), DETECTED)
def test_every_fixture_loads_whole_with_the_detected_dialect(loaded, dialect, name, entity):
    batch, _ = loaded[dialect]
    (result,) = [f for f in batch.files if f.path.name == name]
    assert (result.status, result.dialect, result.entity) == ("loaded", dialect, entity)
    assert result.rows_read == result.rows_loaded + result.rows_quarantined


def test_a_vendor_object_name_breaks_a_tie_the_header_leaves(tmp_path):
    header = ["Id", "Name", "CreatedDate"]  # three columns of a User, of an Account and of a Contact
    assert detect(header, tmp_path / "Account.csv").entity == "accounts"
    assert detect(header, tmp_path / "Contact__2024-06-30.csv").entity == "contacts"
    assert detect(header, tmp_path / "export.csv").entity == "users"  # no name: the best coverage


def test_a_forced_dialect_is_the_only_one_tried(tmp_path):
    headers, fmt = header_of(FIXTURES / "salesforce" / "Account.csv", tmp_path)
    assert detect(headers, Path("a.csv"), dialect="salesforce", file_format=fmt).entity == "accounts"
    with pytest.raises(DialectNotRecognised):
        detect(headers, Path("a.csv"), dialect="bitrix24", file_format=fmt)


def test_forcing_the_dialect_on_the_command_line_loads_the_file(tmp_path):
    db = tmp_path / "wh" / "warehouse.duckdb"
    batch = ingest_paths([FIXTURES / "bitrix24" / "deal.csv"], db, dialect="bitrix24")
    assert (batch.files[0].status, batch.files[0].dialect) == ("loaded", "bitrix24")
    refused = ingest_paths(
        [FIXTURES / "ga4" / "events_20240301.jsonl"], tmp_path / "wh2.duckdb", dialect="bitrix24"
    )
    assert refused.files[0].status == "refused"


def test_ga4_is_never_guessed_for_a_csv_file(tmp_path):
    header = ["event_timestamp", "event_name", "event_params", "user_pseudo_id"]
    with pytest.raises(DialectNotRecognised):
        detect(header, tmp_path / "events.csv", file_format="csv")
    assert detect(header, tmp_path / "events.jsonl", file_format="jsonl").dialect.name == "ga4"


@pytest.mark.parametrize(
    ("name", "entity", "month"),
    [
        ("Task__2024-03.csv", "activities", "2024-03"),
        ("Opportunity__2026-09-30.csv", "deals", "2026-09"),
        ("deal__2026-09-30.csv", "deals", "2026-09"),
        ("events__2024-03.jsonl", "web_events", "2024-03"),
        ("invoices__2024-01.csv", "invoices", "2024-01"),
    ],
)
def test_landing_files_named_by_the_vendor_are_partitioned_by_entity_and_month(name, entity, month):
    landing = classify(Path(name))
    assert (landing.entity, landing.month) == (entity, month)


# ---------------------------------------------------------------------------- Salesforce
def test_salesforce_stage_names_map_onto_our_stages(loaded):
    _, db = loaded["salesforce"]
    assert query(db, "select deal_id, stage from raw.deals order by 1") == [
        ("0065g00000Dq4TuAAJ", "won"),
        ("0065g00000Dq4TvAAJ", "lost"),
        ("0065g00000Dq4TwAAJ", "negotiation"),
    ]
    assert query(db, "select stage from raw.deal_stage_changes order by changed_at") == [
        ("qualification",),
        ("proposal",),
        ("won",),
    ]


def test_salesforce_15_character_ids_are_stored_in_the_18_character_form(loaded):
    _, db = loaded["salesforce"]
    # Account.csv refers to its parent by a 15-character id, OpportunityHistory to its opportunity
    assert query(db, "select parent_account_id from raw.accounts where name = 'Ромашка-Урал'") == [
        ("0015g00000Rm1AbAAJ",)
    ]
    assert query(db, "select distinct deal_id from raw.deal_stage_changes") == [("0065g00000Dq4TuAAJ",)]
    joined = query(db, "select count(*) from raw.deal_stage_changes h join raw.deals d using (deal_id)")
    assert joined == [(3,)]


def test_salesforce_close_date_is_the_expected_date_while_open_and_the_close_once_closed(loaded):
    _, db = loaded["salesforce"]
    rows = query(db, "select deal_id, expected_close_date, closed_at from raw.deals order by 1")
    assert rows == [
        ("0065g00000Dq4TuAAJ", None, datetime(2022, 4, 15)),
        ("0065g00000Dq4TvAAJ", None, datetime(2024, 1, 20)),
        ("0065g00000Dq4TwAAJ", date(2024, 6, 30), None),
    ]


def test_salesforce_who_and_what_ids_split_by_key_prefix(loaded):
    _, db = loaded["salesforce"]
    rows = query(db, "select activity_id, contact_id, lead_id, deal_id from raw.activities order by 1")
    assert rows == [
        ("00T5g00000Fz9QrEAJ", "0035g00000Kp7XaAAJ", None, "0065g00000Dq4TwAAJ"),
        ("00T5g00000Fz9QsEAJ", None, "00Q5g00000Lx2MoEAJ", None),
        ("00T5g00000Fz9QtEAJ", "0035g00000Kp7XbAAJ", None, None),  # WhatId is an account: not a deal
        ("00U5g00000Ab3CdEAJ", "0035g00000Kp7XaAAJ", None, "0065g00000Dq4TwAAJ"),
    ]


def test_salesforce_tasks_and_events_carry_time_type_and_duration_their_own_way(loaded):
    _, db = loaded["salesforce"]
    rows = query(
        db,
        "select activity_id, activity_type, direction, occurred_at, duration_seconds from raw.activities order by 1",
    )
    assert rows == [
        ("00T5g00000Fz9QrEAJ", "call", "outbound", datetime(2024, 3, 5, 9, 12), 245),
        ("00T5g00000Fz9QsEAJ", "email", None, datetime(2024, 3, 6, 10, 0), None),  # TaskSubtype
        ("00T5g00000Fz9QtEAJ", "call", "inbound", datetime(2024, 3, 7), 62),  # ActivityDate only
        ("00U5g00000Ab3CdEAJ", "meeting", None, datetime(2024, 3, 12, 8, 0), 90 * 60),  # minutes
    ]


def test_salesforce_timestamps_with_an_offset_are_stored_in_utc(loaded):
    _, db = loaded["salesforce"]
    assert query(db, "select created_at from raw.accounts where name = 'Ромашка-Урал'") == [
        (datetime(2023, 7, 12, 6, 0),)  # 09:00 at +03:00
    ]


def test_salesforce_lead_picklists_and_conversion_are_read(loaded):
    _, db = loaded["salesforce"]
    rows = query(
        db,
        "select lead_id, source_channel, status, converted_account_id, converted_deal_id, converted_at "
        "from raw.leads order by 1",
    )
    assert rows == [
        (
            "00Q5g00000Lx2MnEAJ",
            "web_form",
            "converted",
            "0015g00000Rm1AbAAJ",
            "0065g00000Dq4TuAAJ",
            datetime(2022, 3, 1),
        ),
        ("00Q5g00000Lx2MoEAJ", "inbound_call", "working", None, None, None),  # Phone Inquiry
        ("00Q5g00000Lx2MpEAJ", "cold_call", "disqualified", None, None, None),
    ]


def test_salesforce_users_are_read_with_role_office_and_the_day_a_deactivated_user_left(loaded):
    _, db = loaded["salesforce"]
    assert query(
        db, "select full_name, office_code, role, hired_date, left_date from raw.users order by 1"
    ) == [
        ("Иван Петров", "MSK", "sales_manager", date(2021, 2, 1), None),
        ("Ольга Смирнова", "SPB", "account_manager", date(2020, 9, 14), date(2024, 1, 31)),
    ]


def test_salesforce_name_parts_stand_in_for_an_empty_name(loaded):
    _, db = loaded["salesforce"]
    assert query(db, "select full_name from raw.contacts order by contact_id") == [
        ("Анна Кузнецова",),
        ("Орлов Пётр",),
    ]


def test_salesforce_fields_we_do_not_model_are_kept_as_extras(loaded):
    _, db = loaded["salesforce"]
    (extras,) = query(db, "select _extras from raw.deals where deal_id = '0065g00000Dq4TuAAJ'")[0]
    assert json.loads(extras)["ForecastCategory"] == "Closed"
    assert json.loads(extras)["IsWon"] == "true"
    assert "StageName" not in json.loads(extras)


def test_salesforce_cases_map_status_priority_and_origin(loaded):
    _, db = loaded["salesforce"]
    assert query(db, "select priority, status, channel, resolved_at from raw.tickets order by 1") == [
        ("high", "closed", "email", datetime(2024, 3, 2, 16, 0)),
        ("normal", "in_progress", "portal", None),
    ]


def test_salesforce_campaign_members_map_their_status(loaded):
    _, db = loaded["salesforce"]
    assert query(
        db,
        "select lead_id is not null, contact_id is not null, response from raw.campaign_members order by 1",
    ) == [
        (False, True, "sent"),
        (True, False, "registered"),
    ]


# ---------------------------------------------------------------------------- Bitrix24
def test_bitrix_exports_in_cp1251_and_in_utf8_with_bom_are_both_read(loaded):
    batch, db = loaded["bitrix24"]
    encodings = dict(query(db, "select file_name, encoding from meta.load_manifest"))
    assert encodings["company.csv"] == "cp1251" and encodings["contact.csv"] == "utf-8"
    assert query(db, "select name from raw.accounts order by account_id") == [
        ("ООО «Ромашка»",),
        ("Ромашка-Урал",),
    ]


def test_bitrix_stages_map_onto_ours_and_an_unknown_stage_is_quarantined(loaded):
    _, db = loaded["bitrix24"]
    assert query(db, "select deal_id, stage, amount from raw.deals order by 1") == [
        ("201", "won", Decimal("1200000.00")),
        ("202", "lost", Decimal("350000.50")),
        ("203", "negotiation", Decimal("480000.00")),
    ]
    assert query(db, "select deal_id, stage, _reasons from quarantine.deals") == [
        ("204", "На паузе", ["bad_enum:stage"])
    ]


def test_bitrix_closed_deals_close_on_their_close_date(loaded):
    _, db = loaded["bitrix24"]
    assert query(db, "select deal_id, expected_close_date, closed_at from raw.deals order by 1") == [
        ("201", None, datetime(2022, 4, 15)),
        ("202", None, datetime(2024, 1, 20)),
        ("203", date(2024, 6, 30), None),
    ]


def test_bitrix_name_parts_become_one_name_and_linked_names_stay_extras(loaded):
    _, db = loaded["bitrix24"]
    rows = query(db, "select full_name, account_id, _extras from raw.contacts order by 1")
    assert [r[:2] for r in rows] == [("Кузнецова Анна Сергеевна", "12"), ("Орлов Пётр", "13")]
    assert json.loads(rows[0][2])["Компания"] == "ООО «Ромашка»"
    assert json.loads(rows[0][2])["Ответственный"] == "Иван Петров"


def test_bitrix_leads_map_statuses_and_sources(loaded):
    _, db = loaded["bitrix24"]
    assert query(db, "select lead_id, status, source_channel, converted_at from raw.leads order by 1") == [
        ("101", "converted", "web_form", datetime(2022, 3, 1)),
        ("102", "working", "inbound_call", None),  # CALL: a lead made from a call that came in
        ("103", "disqualified", "email", None),  # closed, but not converted
    ]


def test_bitrix_activities_map_type_and_direction(loaded):
    _, db = loaded["bitrix24"]
    assert query(
        db, "select activity_type, direction, occurred_at, deal_id from raw.activities order by 1"
    ) == [
        ("call", "outbound", datetime(2024, 3, 5, 12, 12), "203"),
        ("email", "outbound", datetime(2024, 3, 6, 13, 0), None),
        ("meeting", "outbound", datetime(2024, 3, 12, 11, 0), "203"),
    ]


# ---------------------------------------------------------------------------- GA4
def test_ga4_event_id_is_derived_from_visitor_time_name_and_session(loaded):
    _, db = loaded["ga4"]
    (event_id,) = query(db, "select event_id from raw.web_events where event_type = 'form_submit'")[0]
    assert event_id == derive_key(["1234567890.1709286000", "1709287260500000", "form_submit", "1709287100"])


def test_ga4_microsecond_timestamps_are_utc_times(loaded):
    _, db = loaded["ga4"]
    assert query(db, "select min(event_at) from raw.web_events") == [
        (datetime(2024, 3, 1, 10, 0, 0, 123456),)
    ]


def test_ga4_event_params_and_nested_records_fill_their_columns(loaded):
    _, db = loaded["ga4"]
    rows = query(
        db,
        "select event_type, page_url, referrer, utm_source, utm_medium, utm_campaign, form_company, form_inn, "
        "lead_id, chat_session_id, device, geo_region from raw.web_events order by event_at",
    )
    assert rows[0][:6] == (
        "page_view",
        "https://sfera-it.ru/cloud?utm_source=yandex&utm_medium=cpc&utm_campaign=cloud_2024",
        "https://yandex.ru/",
        "yandex",
        "cpc",
        "cloud_2024",
    )
    assert rows[1][6:9] == ("ООО «Ромашка»", "7707083893", "101")
    assert rows[2][9:] == ("chat-0000000042", "mobile", "Санкт-Петербург")
    assert rows[3][10] is None  # 'smart tv' has no counterpart


def test_ga4_events_we_do_not_model_are_quarantined_with_their_name(loaded):
    _, db = loaded["ga4"]
    assert query(db, "select event_type, _reasons from quarantine.web_events") == [
        ("session_start", ["bad_enum:event_type"])
    ]


def test_ga4_records_read_in_part_are_kept_whole_as_extras(loaded):
    _, db = loaded["ga4"]
    (extras,) = query(db, "select _extras from raw.web_events order by event_at limit 1")[0]
    extras = json.loads(extras)
    assert json.loads(extras["geo"])["city"] == "Moscow"
    assert extras["event_date"] == "20240301"
    assert "event_name" not in extras and "user_pseudo_id" not in extras


def test_ga4_odd_event_params_are_data_not_errors(tmp_path):
    base = json.loads(
        (FIXTURES / "ga4" / "events_20240301.jsonl").read_text(encoding="utf-8").splitlines()[0]
    )
    odd = [
        {"event_params": "not an array"},
        {"event_params": [{"key": "page_location", "value": "'; drop table raw.web_events; --"}]},
        {"event_params": [{"key": "page_location", "value": {"string_value": "'; drop table x; --"}}, 7]},
        {"device": None, "geo": "Moscow"},
    ]
    odd = [base | change | {"event_timestamp": f"170928720012345{i}"} for i, change in enumerate(odd)]
    path = tmp_path / "events_20240302.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in odd) + "\n", encoding="utf-8")
    db = tmp_path / "wh" / "warehouse.duckdb"
    batch = ingest_paths([path], db)
    assert batch.ok and batch.files[0].rows_read == 4
    urls = {r[0] for r in query(db, "select page_url from raw.web_events")}
    assert "'; drop table x; --" in urls


def test_ga4_file_copied_under_another_name_is_still_ga4(tmp_path):
    path = tmp_path / "export.json"
    shutil.copy(FIXTURES / "ga4" / "events_20240301.jsonl", path)
    batch = ingest_paths([path], tmp_path / "wh.duckdb")
    assert (batch.files[0].dialect, batch.files[0].entity) == ("ga4", "web_events")
