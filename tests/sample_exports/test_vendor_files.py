"""The generator writing vendor dialects: files named and shaped the vendor's way, the vendor's ids
in every file that refers to a record (ingest end to end: tests/ingest/test_ground_truth.py)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from ingest.dialects import entity_for_file_name
from ingest.dialects.bitrix24 import BITRIX24
from ingest.dialects.salesforce import KEY_PREFIXES
from ingest.parsing import salesforce_id18
from sample_exports import generate

END = "2026-09-30"


@pytest.fixture(scope="module")
def salesforce(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen_sf")
    generate(out, scale=0.01, seed=5, crm_dialect="salesforce", web_dialect="ga4")
    return out


@pytest.fixture(scope="module")
def bitrix(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen_bx")
    generate(out, scale=0.01, seed=5, crm_dialect="bitrix24")
    return out


def rows(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> list[dict[str, str]]:
    text = path.read_bytes().decode(encoding)
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))


def clean(records: list[dict[str, str]], key: str) -> list[dict[str, str]]:
    """Rows that are not planted faults (a faulty copy's key ends in '-1' or is missing)."""
    return [r for r in records if r[key] and not r[key].endswith("-1")]


@pytest.mark.parametrize(
    "kwargs",
    [{"crm_dialect": "hubspot"}, {"web_dialect": "matomo"}, {"crm_dialect": "ga4"}],
)
def test_unknown_dialects_are_refused_before_anything_is_written(tmp_path, kwargs):
    with pytest.raises(ValueError, match="dialect must be one of"):
        generate(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_vendor_files_are_named_as_the_dialect_knows_them(salesforce: Path, bitrix: Path):
    """The generator takes file names from the dialects (`file_names`): ingest reads each back as the
    entity it carries."""
    carried = {
        "Account": "accounts",
        "Opportunity": "deals",
        "OpportunityHistory": "deal_stage_changes",
        "Task": "activities",
        "Event": "activities",
        "CampaignMember": "campaign_members",
        "events": "web_events",
        "company": "accounts",
        "deal": "deals",
        "activity": "activities",
    }
    names = {p.name for out in (salesforce, bitrix) for sub in ("crm", "web") for p in (out / sub).iterdir()}
    assert {n.split("__")[0] for n in names} >= set(carried)
    for name in names:
        entity = entity_for_file_name(name)
        assert entity is not None, name
        assert entity == carried.get(name.split("__")[0], entity), name


# ---------------------------------------------------------------------------- Salesforce
def test_salesforce_files_are_named_by_object(salesforce: Path):
    names = {p.name.split("__")[0] for p in (salesforce / "crm").glob("*.csv")}
    assert names == {
        "User",
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "OpportunityHistory",
        "Task",
        "Event",
        "Case",
        "Campaign",
        "CampaignMember",
        "partners",  # Salesforce has no partner object we read: written generic, with account ids
    }


def test_salesforce_files_quote_every_field_as_data_export_does(salesforce: Path):
    first = (salesforce / "crm" / f"Opportunity__{END}.csv").read_text(encoding="utf-8").splitlines()[:2]
    assert all(re.fullmatch(r'("[^"]*",)*"[^"]*"', line) for line in first)


def test_salesforce_ids_are_18_characters_with_the_objects_key_prefix(salesforce: Path):
    for obj, key_prefix in (("Account", "001"), ("Opportunity", "006"), ("Lead", "00Q")):
        (path,) = (salesforce / "crm").glob(f"{obj}__{END}.csv")
        for r in clean(rows(path), "Id"):
            assert r["Id"].startswith(key_prefix) and salesforce_id18(r["Id"][:15]) == r["Id"]
    assert KEY_PREFIXES["Opportunity"] == "006"


def test_salesforce_event_files_of_odd_months_refer_by_15_character_ids(salesforce: Path):
    odd = clean(rows(salesforce / "crm" / "Task__2025-03.csv"), "Id")
    even = clean(rows(salesforce / "crm" / "Task__2025-04.csv"), "Id")
    assert {len(r["AccountId"]) for r in odd if r["AccountId"]} == {15}
    assert {len(r["AccountId"]) for r in even if r["AccountId"]} == {18}


def test_salesforce_references_name_records_of_the_same_export(salesforce: Path):
    crm = salesforce / "crm"
    accounts = {r["Id"] for r in rows(crm / f"Account__{END}.csv")}
    partners = {r["partner_id"] for r in rows(crm / f"partners__{END}.csv")}
    deals = clean(rows(crm / f"Opportunity__{END}.csv"), "Id")
    assert {d["AccountId"] for d in deals} <= accounts
    with_partner = {d["PartnerAccountId"] for d in deals if d["PartnerAccountId"]}
    assert with_partner and with_partner <= partners
    invoices = rows(salesforce / "finance" / "invoices__2026-06.csv")
    refs = {i["deal_ref"] for i in invoices if i["deal_ref"] and not i["invoice_id"].endswith("-1")}
    assert refs and refs <= {d["Id"] for d in deals}


def test_salesforce_flags_follow_the_stage_they_describe(salesforce: Path):
    for d in clean(rows(salesforce / "crm" / f"Opportunity__{END}.csv"), "Id"):
        assert (d["IsClosed"] == "true") == d["StageName"].startswith("Closed")
        assert (d["IsWon"] == "true") == (d["StageName"] == "Closed Won")


def test_ground_truth_names_managers_and_campaigns_by_salesforce_id(salesforce: Path):
    users = {r["Id"] for r in rows(salesforce / "crm" / f"User__{END}.csv")}
    managers = rows(salesforce / "ground_truth" / "managers.csv")
    assert {m["user_id"] for m in managers} <= users
    campaigns = {r["Id"] for r in rows(salesforce / "crm" / f"Campaign__{END}.csv")}
    assert {c["campaign_id"] for c in rows(salesforce / "ground_truth" / "campaigns.csv")} <= campaigns


# ---------------------------------------------------------------------------- GA4
def ga4_events(out: Path, month: str) -> list[dict]:
    return [
        json.loads(line) for line in (out / "web" / f"events__{month}.jsonl").read_text("utf-8").splitlines()
    ]


def test_ga4_events_are_json_lines_shaped_like_the_bigquery_export(salesforce: Path):
    events = ga4_events(salesforce, "2025-11")
    clean_events = [
        e
        for e in events
        if (e["event_timestamp"] or "").isdigit() and not (e["user_pseudo_id"] or "-1").endswith("-1")
    ]
    assert len(clean_events) > 0.9 * len(events)
    for e in clean_events:
        assert re.fullmatch(r"[0-9]{9,10}\.[0-9]{10}", e["user_pseudo_id"])
        assert re.fullmatch(r"2025(1[012])[0-3][0-9]", e["event_date"])
        params = {p["key"]: p["value"] for p in e["event_params"]}
        assert int(e["event_timestamp"]) // 1_000_000 >= int(params["ga_session_id"]["int_value"])
    assert {e["event_name"] for e in clean_events} >= {"page_view", "form_submit"}


def test_ga4_visitors_are_the_web_visitor_ids_the_crm_recorded(salesforce: Path):
    visitors = {
        e["user_pseudo_id"] for m in ("2025-10", "2025-11", "2025-12") for e in ga4_events(salesforce, m)
    }
    leads = rows(salesforce / "crm" / f"Lead__{END}.csv")
    recorded = {r["Web_Visitor_Id__c"] for r in leads if r["Web_Visitor_Id__c"]}
    assert recorded & visitors


# ---------------------------------------------------------------------------- Bitrix24
def test_bitrix_lists_are_semicolon_separated_with_crlf_in_cp1251_or_utf8_with_bom(bitrix: Path):
    crm = bitrix / "crm"
    company = (crm / f"company__{END}.csv").read_bytes()
    deal = (crm / f"deal__{END}.csv").read_bytes()
    assert not company.startswith(b"\xef\xbb\xbf") and company.decode("cp1251").startswith(
        "ID;Название компании;"
    )
    assert deal.startswith(b"\xef\xbb\xbf") and b"\r\n" in deal
    header = deal.decode("utf-8-sig").split("\r\n", 1)[0].split(";")
    assert {"ID", "Стадия сделки", "Сумма", "Валюта", "ID компании"} <= set(header)


def test_bitrix_deals_carry_russian_stage_names_and_decimal_comma(bitrix: Path):
    deals = clean(rows(bitrix / "crm" / f"deal__{END}.csv", ";", "utf-8-sig"), "ID")
    stages = {v for v, _ in BITRIX24.field_for("deals", "stage").values}
    assert {d["Стадия сделки"] for d in deals} <= stages
    assert all(re.fullmatch(r"[0-9]+,[0-9]{2}", d["Сумма"]) for d in deals if d["Сумма"])
    assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d", d["Дата создания"]) for d in deals)


def test_bitrix_ids_are_numbers_shared_with_the_generic_files_beside_them(bitrix: Path):
    crm = bitrix / "crm"
    users = rows(crm / f"users__{END}.csv")
    assert all(u["user_id"].isdigit() for u in users)
    names = {u["user_id"]: u["full_name"] for u in users}
    companies = clean(rows(crm / f"company__{END}.csv", ";", "cp1251"), "ID")
    assert all(c["ID"].isdigit() for c in companies)
    assert all(names[c["ID ответственного"]] == c["Ответственный"] for c in companies)
    tickets = rows(crm / f"tickets__{END}.csv")
    assert {t["account_id"] for t in tickets} <= {c["ID"] for c in companies}
