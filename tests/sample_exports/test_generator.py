"""The sample-export generator: layout, determinism, planted shapes and faults, and ground truth."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.contracts import CONTRACTS
from ingest.dialects import GENERIC, RU_ACCOUNTING, export_file_name
from sample_exports import generate
from sample_exports.faults import applicable, mojibake, plant_faults
from sample_exports.inn import (
    check_digits,
    corrupt_inn,
    generate_inns,
    generate_kpp,
    is_valid_inn,
    is_valid_kpp,
)
from sample_exports.params import GeneratorParams, Window

END = date(2026, 9, 30)
EVENT_ENTITIES = sorted(e for e, c in CONTRACTS.items() if c.kind == "event")
SNAPSHOT_ENTITIES = sorted(e for e, c in CONTRACTS.items() if c.kind == "snapshot")
FINANCE = ("counterparties", "invoices", "payments", "credit_notes")


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def out(sample_exports) -> Path:
    return sample_exports


@pytest.fixture(scope="session")
def out_again(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gen_b")
    generate(path, scale=0.01, seed=42)
    return path


@pytest.fixture(scope="session")
def out_ru(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gen_ru")
    generate(path, scale=0.01, seed=42, finance_dialect="ru_accounting")
    return path


def read_rows(path: Path, dialect=GENERIC) -> tuple[list[str], list[list[str]]]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        text = raw.decode("utf-8-sig")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1251")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter))
    return rows[0], rows[1:]


def truth(out: Path, name: str) -> list[dict[str, str]]:
    with open(out / "ground_truth" / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def export_files(out: Path) -> list[Path]:
    return sorted(p for sub in ("finance", "crm", "web") for p in (out / sub).glob("*.csv"))


def clean_table(out: Path, entity: str, pattern: str | None = None) -> list[dict[str, str]]:
    """Rows of an entity's generic files minus the rows ground truth says to quarantine."""
    quarantined = {(q["file"], int(q["row_number"])) for q in truth(out, "quarantine.csv")}
    contract = CONTRACTS[entity]
    rows = []
    for path in sorted((out / contract.source).glob(pattern or f"{entity}__*.csv")):
        rel = f"{contract.source}/{path.name}"
        header, data = read_rows(path)
        rows += [
            dict(zip(header, r, strict=True)) for i, r in enumerate(data, 1) if (rel, i) not in quarantined
        ]
    return rows


# ---------------------------------------------------------------------------- an independent row validator
def _number_ok(value: str, dialect, integer: bool) -> float | None:
    if integer:
        return float(value) if re.fullmatch(r"-?\d+", value) else None
    if dialect is RU_ACCOUNTING:
        if re.fullmatch(r"-?\d{1,3}([ \u00a0]\d{3})*,\d{2}|-?\d+,\d{2}", value):
            return float(value.replace(" ", "").replace("\u00a0", "").replace(",", "."))
        return None
    return float(value) if re.fullmatch(r"-?\d+\.\d{2}", value) else None


def _date_ok(value: str, dialect, timestamp: bool) -> bool:
    fmt = (dialect.timestamp_formats if timestamp else dialect.date_formats)[0]
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def row_faults(contract, row: list[str], dialect) -> set[str]:
    """Quarantine reasons a single row has on its own (duplicates are checked per file)."""
    reasons = set()
    for col, value in zip(contract.columns, row, strict=True):
        if value == "":
            if col.required:
                reasons.add("missing_required")
            continue
        if col.type in ("decimal", "integer"):
            number = _number_ok(value, dialect, col.type == "integer")
            if number is None:
                reasons.add("bad_number")
            elif col.min_value is not None and number < col.min_value:
                reasons.add("out_of_range")
        elif col.type in ("date", "timestamp") and not _date_ok(value, dialect, col.type == "timestamp"):
            reasons.add("bad_date")
        elif col.type == "enum" and value not in col.allowed:
            reasons.add("bad_enum")
        elif col.type == "inn" and col.invalid == "reject" and not is_valid_inn(value):
            reasons.add("bad_inn")
        elif col.type == "kpp" and col.invalid == "reject" and not is_valid_kpp(value):
            reasons.add("bad_kpp")
    return reasons


def file_faults(out: Path, rel: str) -> dict[int, set[str]]:
    """Row number -> reasons, for every row of a file that a correct ingest would quarantine."""
    entity = rel.split("/")[-1].split("__")[0]
    contract = CONTRACTS[entity]
    dialect = RU_ACCOUNTING if contract.source == "finance" and _is_ru(out) else GENERIC
    header, rows = read_rows(out / rel, dialect)
    key_idx = [contract.column_names.index(k) for k in contract.key]
    found: dict[int, set[str]] = {}
    seen_rows, seen_keys = set(), set()
    for i, row in enumerate(rows, 1):
        reasons = row_faults(contract, row, dialect)
        if not reasons:
            if tuple(row) in seen_rows:
                reasons.add("duplicate_key")
            elif tuple(row[k] for k in key_idx) in seen_keys:
                reasons.add("duplicate_key (not exact)")
            seen_rows.add(tuple(row))
            seen_keys.add(tuple(row[k] for k in key_idx))
        if reasons:
            found[i] = reasons
    return found


def _is_ru(out: Path) -> bool:
    return (
        json.loads((out / "ground_truth" / "manifest.json").read_text())["finance_dialect"] == "ru_accounting"
    )


# ---------------------------------------------------------------------------- determinism and layout
def test_same_arguments_write_identical_bytes(out: Path, out_again: Path):
    files_a = [p.relative_to(out) for p in sorted(out.rglob("*")) if p.is_file()]
    files_b = [p.relative_to(out_again) for p in sorted(out_again.rglob("*")) if p.is_file()]
    assert files_a == files_b
    different = [str(p) for p in files_a if (out / p).read_bytes() != (out_again / p).read_bytes()]
    assert different == []


def test_a_different_seed_gives_different_data(out: Path, tmp_path: Path):
    generate(tmp_path, scale=0.01, seed=7)
    same = [p for p in export_files(out) if p.read_bytes() == (tmp_path / p.relative_to(out)).read_bytes()]
    # only files without rows in both runs (a month without campaign touches, say) may coincide
    assert [p.name for p in same if read_rows(p)[1]] == []
    assert (out / "finance" / "invoices__2025-12.csv").read_bytes() != (
        tmp_path / "finance" / "invoices__2025-12.csv"
    ).read_bytes()


def test_files_follow_the_export_layout(out: Path):
    win = Window(END)
    names = {f"{p.parent.name}/{p.name}" for p in export_files(out)}
    expected = set()
    for entity in EVENT_ENTITIES:
        src = CONTRACTS[entity].source
        expected |= {f"{src}/{export_file_name(entity, m)}" for m in win.month_labels}
    for entity in SNAPSHOT_ENTITIES:
        expected.add(f"{CONTRACTS[entity].source}/{export_file_name(entity, END.isoformat())}")
    expected |= {f"crm/{export_file_name('accounts', d.isoformat())}" for d in win.snapshot_dates}
    assert names == expected
    assert len(win.snapshot_dates) == 12 and win.snapshot_dates[0] == date(2023, 12, 31)


def test_generic_files_are_utf8_csv_with_contract_headers(out: Path):
    for path in export_files(out):
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), path.name
        header = raw.decode("utf-8").split("\n", 1)[0]
        entity = path.name.split("__")[0]
        assert header == ",".join(CONTRACTS[entity].column_names), path.name


def test_every_generic_file_is_readable_by_duckdb_autodetection(out: Path):
    con = duckdb.connect()
    for path in export_files(out):
        rows = con.execute(f"select count(*) from read_csv('{path}', all_varchar=true)").fetchone()[0]
        assert rows == len(read_rows(path)[1]), path.name


def test_manifest_and_summary_count_the_rows_in_each_file(out: Path):
    manifest = json.loads((out / "ground_truth" / "manifest.json").read_text())
    counted = {f"{p.parent.name}/{p.name}": len(read_rows(p)[1]) for p in export_files(out)}
    assert manifest["rows_per_file"] == counted
    assert manifest["seed"] == 42 and manifest["scale"] == 0.01 and manifest["end_date"] == "2026-09-30"


# ---------------------------------------------------------------------------- INN and KPP
def test_known_inns_pass_and_a_changed_check_digit_fails():
    assert is_valid_inn("7707083893")  # Sberbank
    assert is_valid_inn("500100732259")
    assert not is_valid_inn("7707083894")
    assert not is_valid_inn("77070838")
    assert not is_valid_inn("77070838９3")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 99), min_size=1, max_size=40),
    st.lists(st.booleans(), min_size=40, max_size=40),
    st.integers(0, 2**32 - 1),
)
def test_generated_inns_are_valid_distinct_and_corruption_breaks_them(regions, individual, seed):
    rng = np.random.default_rng(seed)
    kinds = np.array(individual[: len(regions)])
    inns = generate_inns(rng, np.array(regions), kinds)
    assert len(set(inns.tolist())) == len(inns)
    for inn, region, ind in zip(inns.tolist(), regions, kinds.tolist(), strict=True):
        assert len(inn) == (12 if ind else 10) and inn[:2] == f"{region:02d}"
        assert is_valid_inn(inn)
        assert not is_valid_inn(corrupt_inn(inn, rng))


@given(
    st.text(alphabet="0123456789", min_size=9, max_size=9)
    | st.text(alphabet="0123456789", min_size=10, max_size=10)
)
def test_check_digits_complete_any_body_into_a_valid_inn(body):
    assert is_valid_inn(body + check_digits(body))


@given(st.lists(st.integers(100, 9999), min_size=1, max_size=20), st.booleans())
def test_kpp_has_nine_characters_and_reason_by_branch(offices, branch):
    kpps = generate_kpp(np.array(offices), np.full(len(offices), branch))
    for kpp, office in zip(kpps.tolist(), offices, strict=True):
        assert is_valid_kpp(kpp) and kpp[:4] == f"{office:04d}" and kpp[4:6] == ("43" if branch else "01")


# ---------------------------------------------------------------------------- the world
def test_groups_have_one_to_eight_entities_mostly_few(out: Path):
    groups = truth(out, "groups.csv")
    sizes = [int(g["n_entities"]) for g in groups]
    assert min(sizes) >= 1 and max(sizes) <= 8
    assert np.mean(np.array(sizes) <= 3) > 0.65
    counted = Counter(e["group_id"] for e in truth(out, "entities.csv"))
    assert all(counted[g["group_id"]] == int(g["n_entities"]) for g in groups)


def test_entity_inns_are_valid_where_marked_and_invalid_share_is_near_the_parameter(out: Path):
    ents = truth(out, "entities.csv")
    for e in ents:
        assert is_valid_inn(e["inn"]) == (e["inn_is_valid"] == "true")
        if e["legal_form"] == "ИП" and e["inn"]:
            assert len(e["inn"]) == 12 and e["kpp"] == ""
    own = [e for e in ents if e["inn"]]
    invalid = sum(e["inn_is_valid"] == "false" for e in own) / len(own)
    assert invalid <= GeneratorParams().invalid_inn_share + 0.05
    # branches share the head's INN with their own KPP
    by_inn = defaultdict(set)
    for e in own:
        by_inn[e["inn"]].add(e["kpp"])
    assert any(len(kpps) > 1 for kpps in by_inn.values())


def test_some_groups_buy_from_several_offices(out: Path):
    cards = {
        r["record_id"]: r["group_id"]
        for r in truth(out, "source_records.csv")
        if r["entity"] == "counterparties"
    }
    offices = defaultdict(set)
    for inv in clean_table(out, "invoices"):
        offices[cards[inv["counterparty_id"]]].add(inv["office_code"])
    assert sum(len(o) >= 2 for o in offices.values()) >= 3


def test_invoice_totals_peak_in_december_and_at_quarter_ends(out: Path):
    totals = defaultdict(float)
    for inv in clean_table(out, "invoices"):
        if inv["currency"] == "RUB":
            totals[inv["invoice_date"][:7]] += float(inv["amount"])
    peak = [v for k, v in totals.items() if int(k[5:7]) in (3, 6, 9, 12)]
    rest = [v for k, v in totals.items() if int(k[5:7]) not in (3, 6, 9, 12)]
    december = [v for k, v in totals.items() if k.endswith("-12")]
    assert np.mean(peak) > 1.15 * np.mean(rest)
    assert np.mean(december) > np.mean(rest)


def _group_of(out: Path, entity: str) -> dict[str, str]:
    return {r["record_id"]: r["group_id"] for r in truth(out, "source_records.csv") if r["entity"] == entity}


def test_churned_groups_fade_before_churn_and_stop_buying(out: Path):
    groups = {g["group_id"]: g for g in truth(out, "groups.csv")}
    churned = {k: g for k, g in groups.items() if g["churn_date"]}
    assert len(churned) >= 5
    acc_group = _group_of(out, "accounts")
    days = defaultdict(list)
    for a in clean_table(out, "activities"):
        if a["account_id"] in acc_group:
            days[acc_group[a["account_id"]]].append(date.fromisoformat(a["occurred_at"][:10]))
    before, earlier = 0.0, 0.0
    lower = 0
    for gid, g in churned.items():
        churn = date.fromisoformat(g["churn_date"])
        start = max(date(2023, 10, 1), date.fromisoformat(g["first_purchase_date"]))
        last90 = sum(churn - timedelta(days=90) <= d < churn for d in days[gid]) / 90
        span = (churn - timedelta(days=240) - start).days
        prior = sum(start <= d < churn - timedelta(days=240) for d in days[gid]) / span if span > 60 else None
        if prior is not None:
            before += last90
            earlier += prior
            lower += last90 < prior
    assert before < 0.6 * earlier
    cards = _group_of(out, "counterparties")
    for inv in clean_table(out, "invoices"):
        g = churned.get(cards[inv["counterparty_id"]])
        if g:
            day = inv["invoice_date"]
            assert day < g["churn_date"] or (g["won_back_date"] and day >= g["won_back_date"]), inv
    assert any(g["won_back_date"] for g in groups.values())


def test_managers_who_leave_hand_their_accounts_over(out: Path):
    managers = {m["user_id"]: m for m in truth(out, "managers.csv")}
    leavers = {k: m for k, m in managers.items() if m["left_date"]}
    assert leavers and all(
        m["reassigned_to"] and not managers[m["reassigned_to"]]["left_date"] for m in leavers.values()
    )
    owners_by_snapshot = {}
    for path in sorted((out / "crm").glob("accounts__*.csv")):
        snap = path.name[10:20]
        rows = clean_table(out, "accounts", path.name)
        owners_by_snapshot[snap] = {r["account_id"]: r["owner_user_id"] for r in rows}
        assert not [
            r
            for r in rows
            if r["owner_user_id"] in leavers and leavers[r["owner_user_id"]]["left_date"] <= snap
        ]
    changed = 0
    snaps = sorted(owners_by_snapshot)
    for a, b in zip(snaps, snaps[1:], strict=False):
        changed += sum(
            owners_by_snapshot[b].get(acc) not in (None, owner)
            for acc, owner in owners_by_snapshot[a].items()
        )
    assert changed > 0


def test_people_who_move_keep_their_email_on_a_new_contact(out: Path):
    by_email = defaultdict(list)
    for c in clean_table(out, "contacts"):
        if c["email"]:
            by_email[c["email"]].append(c)
    moved = [
        cs
        for cs in by_email.values()
        if len({c["account_id"] for c in cs}) > 1 and {c["is_active"] for c in cs} == {"true", "false"}
    ]
    assert len(moved) >= 3


def test_every_deal_has_its_stage_history(out: Path):
    deals = {d["deal_id"]: d for d in clean_table(out, "deals")}
    history = defaultdict(list)
    for sc in clean_table(out, "deal_stage_changes"):
        history[sc["deal_id"]].append((sc["changed_at"], sc["stage"]))
    assert set(history) == set(deals)
    for deal_id, d in deals.items():
        stages = [s for _, s in sorted(history[deal_id])]
        assert stages[0] == "qualification" and stages[-1] == d["stage"]
        assert (d["closed_at"] != "") == (d["stage"] in ("won", "lost"))
    assert {"won", "lost", "qualification", "proposal", "negotiation"} <= {d["stage"] for d in deals.values()}


def test_converted_leads_point_to_existing_accounts_and_deals(out: Path):
    accounts = {a["account_id"] for a in clean_table(out, "accounts", f"accounts__{END}.csv")}
    deals = {d["deal_id"]: d for d in clean_table(out, "deals")}
    leads = clean_table(out, "leads")
    converted = [ld for ld in leads if ld["status"] == "converted"]
    assert converted and len(converted) < len(leads)
    for ld in converted:
        assert (
            ld["converted_account_id"] in accounts
            and deals[ld["converted_deal_id"]]["lead_id"] == ld["lead_id"]
        )


def test_ad_clicks_carry_utm_tags_of_campaigns(out: Path):
    utms = {c["utm_campaign"] for c in clean_table(out, "campaigns")}
    clicks = [e for e in clean_table(out, "web_events") if e["event_type"] == "ad_click"]
    assert clicks and all(e["utm_campaign"] in utms for e in clicks)


def test_campaign_truth_has_effects_and_nulls(out: Path):
    camps = truth(out, "campaigns.csv")
    lines = set(GeneratorParams().product_lines)
    assert all(c["product_line"] in lines for c in camps)
    effect = [c for c in camps if c["has_effect"] == "true"]
    assert effect and len(effect) < len(camps)
    for c in camps:
        lift, line_lift, planted = (
            float(c[k]) for k in ("true_lift", "true_lift_product_line", "planted_lift")
        )
        if c["has_effect"] == "false":
            assert lift == line_lift == planted == 0
        else:
            # the extra purchase matters more for the promoted line than for buying at all
            assert 0 <= lift <= line_lift <= planted


def test_mailings_and_webinars_hold_a_control_group_out_and_ads_and_events_none(out: Path):
    camps = {c["campaign_id"]: c for c in truth(out, "campaigns.csv")}
    types = {c["campaign_id"]: c["campaign_type"] for c in clean_table(out, "campaigns")}
    held = Counter(
        m["campaign_id"] for m in clean_table(out, "campaign_members") if m["response"] == "held_out"
    )
    for campaign_id, c in camps.items():
        share = float(c["control_share"])
        if types.get(campaign_id) in ("ads", "event"):
            assert share == 0 and held[campaign_id] == 0
        elif types.get(campaign_id) in ("email", "webinar"):
            assert 0.25 <= share <= 0.5
    assert sum(held.values()) > 0
    assert sum(held.values()) <= sum(int(c["control_groups"]) for c in camps.values())


def test_partners_form_chains_with_distributors_at_the_top(out: Path):
    partners = {p["partner_id"]: p for p in truth(out, "partners.csv")}
    tiers = {"distributor", "reseller", "agent"}
    for p in partners.values():
        assert p["tier"] in tiers
        parent = p["parent_partner_id"]
        if p["tier"] == "distributor":
            assert parent == ""
        if parent:
            assert partners[parent]["tier"] != "agent"
        assert partners[p["top_partner_id"]]["parent_partner_id"] == ""
    exported = {p["partner_id"]: p for p in clean_table(out, "partners")}
    assert {k: v["parent_partner_id"] or "" for k, v in exported.items()} == {
        k: v["parent_partner_id"] for k, v in partners.items() if k in exported
    }
    # end users of a partner include those its partners below sold to
    end_users = truth(out, "partner_end_users.csv")
    assert any(int(e["levels_below"]) > 0 for e in end_users)


def test_invoices_carry_their_cost_of_sales_below_the_amount_mostly(out: Path):
    invoices = clean_table(out, "invoices")
    costed = [i for i in invoices if i["cost_amount"]]
    assert 0.9 < len(costed) / len(invoices) < 1.0  # a few costs are not posted yet
    shares = [float(i["cost_amount"]) / float(i["amount"]) for i in costed if float(i["amount"]) > 0]
    assert 0.3 < sum(shares) / len(shares) < 0.8
    economics = truth(out, "client_economics.csv")
    assert all(
        abs(
            float(e["gross_margin_12m_rub"])
            - float(e["net_revenue_12m_rub"])
            + float(e["cost_of_sales_12m_rub"])
        )
        < 0.02
        for e in economics
    )


def test_every_lead_has_a_first_touch_origin_and_inbound_call_leads_start_with_a_call_in(out: Path):
    leads = truth(out, "leads.csv")
    origins = {lead["first_touch_origin"] for lead in leads}
    assert {
        "cold_call",
        "inbound_call",
        "web_form",
        "ad_click",
        "chat",
        "event",
        "partner_referral",
    } <= origins
    called_in = {lead["lead_id"] for lead in leads if lead["source_channel"] == "inbound_call"}
    first = {}
    for a in sorted(clean_table(out, "activities"), key=lambda a: a["occurred_at"]):
        if a["lead_id"] in called_in:
            first.setdefault(a["lead_id"], a)
    assert first and all(a["direction"] == "inbound" and a["activity_type"] == "call" for a in first.values())


# ---------------------------------------------------------------------------- faults and ground truth
def test_quarantine_lists_exactly_the_faulty_rows_with_their_reason(out: Path):
    listed = defaultdict(dict)
    for q in truth(out, "quarantine.csv"):
        listed[q["file"]][int(q["row_number"])] = q["reason"]
    assert sum(len(v) for v in listed.values()) > 100
    reasons_seen = set()
    for path in export_files(out):
        rel = f"{path.parent.name}/{path.name}"
        found = file_faults(out, rel)
        assert {r: {reason} for r, reason in listed[rel].items()} == found, rel
        reasons_seen |= set(listed[rel].values())
    assert {
        "duplicate_key",
        "missing_required",
        "bad_number",
        "bad_date",
        "out_of_range",
        "bad_enum",
    } <= reasons_seen


def test_bad_inn_faults_are_planted_in_counterparties_only():
    contract = CONTRACTS["counterparties"]
    n = 400
    columns = [
        np.array([f"00-{i:06d}" for i in range(n)], dtype=object),
        np.full(n, 'ООО "Ромашка"', dtype=object),
        np.full(n, "7707083893", dtype=object),
        np.full(n, "770701001", dtype=object),
        np.full(n, "Москва", dtype=object),
        np.full(n, None, dtype=object),
        np.full(n, "2024-01-31", dtype=object),
    ]
    rng = np.random.default_rng(1)
    planted = plant_faults(
        columns, contract, GENERIC, rng, 0.2, {"bad_inn": 1.0, "duplicate_key": 1.0}, False
    )
    rows = list(zip(*planted.columns, strict=True))
    assert len(rows) == n + len(planted.quarantine)
    kinds = Counter(reason for _, reason in planted.quarantine)
    assert kinds["bad_inn"] > 20 and kinds["duplicate_key"] > 20
    for row_number, reason in planted.quarantine:
        row = rows[row_number - 1]
        if reason == "bad_inn":
            assert not is_valid_inn(row[2]) and row[0].endswith("-1")
        else:
            assert row in rows[: row_number - 1]
    for contract_name in ("accounts", "leads", "web_events", "partners"):
        assert "bad_inn" not in applicable(CONTRACTS[contract_name], True)


def test_fault_share_is_near_messiness(out: Path):
    total = sum(len(read_rows(p)[1]) for p in export_files(out))
    faulty = len(truth(out, "quarantine.csv")) + len(truth(out, "repairs.csv"))
    assert 0.006 < faulty / total < 0.014


def test_repairs_list_mojibake_that_decodes_back_to_the_original(out: Path):
    repairs = truth(out, "repairs.csv")
    assert len(repairs) > 20
    for r in repairs:
        header, rows = read_rows(out / r["file"])
        value = rows[int(r["row_number"]) - 1][header.index(r["column"])]
        assert value == mojibake(r["original"]) and value != r["original"]
        assert value.encode("cp1251").decode("utf-8") == r["original"]


def test_every_source_record_exists_in_the_exports(out: Path):
    ids = {
        "counterparties": {r["counterparty_id"] for r in clean_table(out, "counterparties")},
        "accounts": {r["account_id"] for r in clean_table(out, "accounts", f"accounts__{END}.csv")},
        "leads": {r["lead_id"] for r in clean_table(out, "leads") if r["company_name"]},
        "web_events": {r["event_id"] for r in clean_table(out, "web_events") if r["form_company"]},
    }
    records = truth(out, "source_records.csv")
    entities = {e["entity_id"]: e["group_id"] for e in truth(out, "entities.csv")}
    by_entity = defaultdict(set)
    for r in records:
        by_entity[r["entity"]].add(r["record_id"])
        assert entities[r["entity_id"]] == r["group_id"]
    assert {k: v for k, v in by_entity.items()} == ids


def test_ru_accounting_finance_files_decode_with_cyrillic_headers(out_ru: Path):
    encodings = Counter()
    for path in sorted((out_ru / "finance").glob("*.csv")):
        raw = path.read_bytes()
        entity = path.name.split("__")[0]
        if raw.startswith(b"\xef\xbb\xbf"):
            text, enc = raw.decode("utf-8-sig"), "utf-8-sig"
        else:
            text, enc = raw.decode("cp1251"), "cp1251"
        encodings[enc] += 1
        expected = ";".join(RU_ACCOUNTING.header_for(entity, c) for c in CONTRACTS[entity].column_names)
        assert text.split("\r\n", 1)[0] == expected
        if entity == "credit_notes":
            assert enc == "utf-8-sig"
    assert encodings["cp1251"] > 40 and encodings["utf-8-sig"] > 36
    header, rows = read_rows(out_ru / "finance" / "invoices__2025-12.csv", RU_ACCOUNTING)
    amounts = [r[header.index("Сумма")] for r in rows]
    assert any("\u00a0" in a for a in amounts) and any(" " in a for a in amounts)
    assert all(re.fullmatch(r"\d\d\.\d\d\.\d{4}", r[header.index("Дата")]) for r in rows[:20])
    # CRM and web stay generic
    assert (out_ru / "crm" / f"deals__{END}.csv").read_bytes().startswith(b"deal_id,account_id")


def test_ru_accounting_quarantine_matches_the_files(out_ru: Path):
    listed = defaultdict(dict)
    for q in truth(out_ru, "quarantine.csv"):
        listed[q["file"]][int(q["row_number"])] = q["reason"]
    for path in sorted((out_ru / "finance").glob("*.csv")):
        rel = f"finance/{path.name}"
        assert {r: {reason} for r, reason in listed[rel].items()} == file_faults(out_ru, rel), rel
    assert not [r for r in truth(out_ru, "repairs.csv") if r["file"].startswith("finance/")]


# ---------------------------------------------------------------------------- learnability
def test_lead_outcome_is_learnable_from_exported_features(tmp_path: Path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    generate(tmp_path, scale=0.05, seed=11)
    con = duckdb.connect()
    src = lambda p: f"read_csv('{tmp_path}/{p}', all_varchar=true, union_by_name=true)"  # noqa: E731
    df = con.execute(f"""
        with l as (select * from {src("crm/leads__*.csv")} where lead_id not like '%-1' and status <> 'new'),
        d as (select deal_id, any_value(stage) stage from {src("crm/deals__*.csv")} group by 1),
        t as (select lead_id, count(*) n from {src("crm/campaign_members__*.csv")} group by 1),
        w as (select visitor_id, count(*) filter (event_type = 'page_view') pages,
                     count(*) filter (event_type = 'form_submit') forms,
                     count(*) filter (event_type = 'chat_start') chats
              from {src("web/web_events__*.csv")} group by 1),
        a as (select lead_id, count(*) filter (direction = 'inbound') inbound, count(*) n_act
              from {src("crm/activities__*.csv")} where lead_id is not null group by 1)
        select coalesce(d.stage, '') = 'won' as won, l.source_channel,
               not regexp_matches(coalesce(l.email, ''), '@(gmail|mail|yandex|bk|inbox|list|ya)\\.(com|ru)$')
                   as corporate,
               l.inn is not null as has_inn, coalesce(t.n, 0) touches, ln(1 + coalesce(w.pages, 0)) pages,
               coalesce(w.forms, 0) forms, coalesce(w.chats, 0) chats, coalesce(a.inbound, 0) inbound,
               coalesce(a.n_act, 0) n_act
        from l left join d on d.deal_id = l.converted_deal_id left join t using (lead_id)
        left join w on w.visitor_id = l.web_visitor_id left join a using (lead_id)
        where coalesce(d.stage, 'lost') in ('won', 'lost')
    """).df()
    y = df.pop("won").astype(int)
    X = df.join(df.pop("source_channel").str.get_dummies()).astype(float)
    assert 0.05 < y.mean() < 0.35
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = cross_val_predict(LogisticRegression(max_iter=2000), X, y, cv=cv, method="predict_proba")[:, 1]
    assert roc_auc_score(y, scores) >= 0.75


# ---------------------------------------------------------------------------- planted holdings
def test_planted_holdings_look_like_real_ones_and_change_nothing_when_off():
    """Subsidiaries named "<brand> <line of business>", in another federal district, each with its own
    website; the parent and its branches carry the brand alone; 0 plants nothing."""
    from sample_exports.holdings import OFFICE_DISTRICT
    from sample_exports.params import Sizes
    from sample_exports.world import REGION_OFFICE, build_world

    window = Window(date(2026, 9, 30))
    params = GeneratorParams(holding_share=0.5)
    world = build_world(params, Sizes.from_params(params, 0.01), window, 42)
    groups, ents = world.groups, world.entities
    planted = np.flatnonzero(groups.planted_holding)
    assert len(planted) >= 5
    for g in planted:
        head = int(groups.ent_start[g])
        brand = groups.name[g]
        assert ents.native[head] == brand and ents.site[head] is None
        members = [e for e in range(head + 1, head + int(groups.ent_count[g])) if ents.site[e]]
        assert members, brand
        names = [ents.native[e] for e in members]
        assert all(n.startswith(brand + " ") for n in names) and len(set(names)) == len(names)
        home = OFFICE_DISTRICT[REGION_OFFICE[ents.region[head]]]
        assert all(OFFICE_DISTRICT[REGION_OFFICE[ents.region[e]]] != home for e in members)
        assert all(ents.site[e] != groups.domain[g] for e in members)
    off = build_world(GeneratorParams(), Sizes.from_params(GeneratorParams(), 0.01), window, 42)
    assert not off.groups.planted_holding.any() and not any(off.entities.site)
