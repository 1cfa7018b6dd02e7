"""Resolution quality against the generator's ground truth, on generated exports.

The entity records come from the real model, dbt/models/intermediate/resolution/int_entity_records.sql,
rendered without dbt: each ref() becomes the latest snapshot per key of the raw table (what the staging
models give). The floor: pairwise precision and recall of client against true group >= 0.95.

At scale 0.01 the generator also plants holdings the way real ones look (HOLDING_SHARE of the
multi-entity groups; sample_exports/holdings.py: brand-named subsidiaries in other districts with
their own websites and the parent's mail, no CRM parent link), measured apart from the legal
entities: the holding level (pairs of different legal entities of one group) and the planted ones.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import duckdb
import jinja2
import pandas as pd
import pytest

from ingest.load import ingest_paths
from resolution import read_ground_truth, resolution_quality, resolve
from sample_exports import GeneratorParams, generate
from warehouse.settings import PROJECT_DIR

FLOOR = 0.95
HOLDING_SHARE = 0.3
HOLDING_FLOOR = 0.9  # planted holdings: their companies in one client (recall), nothing else with them
RECORDS_MODEL = PROJECT_DIR / "dbt" / "models" / "intermediate" / "resolution" / "int_entity_records.sql"
# ref() -> (raw table, key): the staging models keep the contract's column names
STAGING = {
    "stg_finance__counterparties": ("counterparties", "counterparty_id"),
    "stg_crm__accounts": ("accounts", "account_id"),
    "stg_crm__leads": ("leads", "lead_id"),
    "stg_crm__contacts": ("contacts", "contact_id"),
    "stg_web__events": ("web_events", "event_id"),
    "stg_finance__invoices": ("invoices", "invoice_id"),
    "stg_crm__deals": ("deals", "deal_id"),
}


def ref(name: str) -> str:
    """The latest snapshot per key of the raw table behind a staging model."""
    table, key = STAGING[name]
    return (
        f"(select * from raw.{table} qualify row_number() over (partition by {key} "
        "order by _snapshot_date desc nulls last, _loaded_at desc, _source_file desc, _row_number desc) = 1)"
    )


def entity_records_sql() -> str:
    dbt = SimpleNamespace(
        listagg=lambda expr, delimiter, order_by: f"string_agg({expr}, {delimiter} {order_by})",
        type_string=lambda: "varchar",
    )
    template = jinja2.Environment().from_string(RECORDS_MODEL.read_text(encoding="utf-8"))
    return template.render(ref=ref, config=lambda **_: "", dbt=dbt)


def generated_records(tmp: Path, scale: float, **params) -> tuple[pd.DataFrame, pd.DataFrame]:
    exports = tmp / "exports"
    generate(out_dir=exports, scale=scale, seed=42, params=GeneratorParams(**params))
    db = tmp / "warehouse.duckdb"
    ingest_paths([exports], db)
    with duckdb.connect(str(db), read_only=True) as con:
        records = con.sql(entity_records_sql()).df()
    return records, read_ground_truth(exports / "ground_truth")


def quality_at(tmp: Path, scale: float) -> tuple[pd.DataFrame, float]:
    records, truth = generated_records(tmp, scale)
    started = time.perf_counter()
    resolution = resolve(records)
    seconds = time.perf_counter() - started
    return resolution_quality(resolution.records, truth).set_index("level"), seconds


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("resolution_001")


@pytest.fixture(scope="module")
def small(small_dir):
    records, truth = generated_records(small_dir, 0.01, holding_share=HOLDING_SHARE)
    return records, truth, resolve(records)


def test_every_ground_truth_record_is_an_entity_record(small):
    records, truth, _ = small
    assert set(truth["record_key"]) <= set(records["record_key"])
    assert records["record_key"].is_unique


def test_an_account_carries_the_addresses_of_its_former_contacts_too(small, small_dir):
    """An address the company issued names its domain whether the person still works there or not;
    only the lead -> contact link asks for an active contact."""
    records, _, _ = small
    with duckdb.connect(str(small_dir / "warehouse.duckdb"), read_only=True) as con:
        former = con.sql(
            f"select account_id, lower(email) as email from {ref('stg_crm__contacts')} "
            "where not is_active and email is not null and account_id is not null"
        ).df()
    emails = records[records["entity"] == "accounts"].set_index("record_id")["email"].fillna("").str.lower()
    former = former[former["account_id"].isin(emails.index)]
    assert not former.empty
    carried = [email in emails[account].split() for account, email in former.itertuples(index=False)]
    assert all(carried)


def test_client_precision_and_recall_meet_the_floor_at_scale_0_01(small):
    _, truth, resolution = small
    quality = resolution_quality(resolution.records, truth).set_index("level")
    client = quality.loc["client"]
    assert client["precision"] >= FLOOR, quality.to_string()
    assert client["recall"] >= FLOOR, quality.to_string()


def test_planted_holdings_end_up_in_one_client_each_with_nothing_else(small):
    """Brand-named subsidiaries in other districts, with their own sites and the parent's mail and no
    CRM parent link (before the shared mail domain and the distinctive name root counted, about a
    quarter of their pairs of companies were found)."""
    _, truth, resolution = small
    assert truth["is_planted_holding"].any()
    quality = resolution_quality(resolution.records, truth).set_index("level")
    planted, holding = quality.loc["planted_holding"], quality.loc["holding"]
    assert planted["true_pairs"] > 100, quality.to_string()
    assert planted["recall"] >= HOLDING_FLOOR and planted["precision"] >= FLOOR, quality.to_string()
    assert holding["recall"] >= HOLDING_FLOOR and holding["precision"] >= FLOOR, quality.to_string()


def test_a_second_build_of_the_same_data_keeps_every_id(small):
    records, _, first = small
    second = resolve(records, previous=first.records)
    pd.testing.assert_series_equal(second.records["client_id"], first.records["client_id"])
    pd.testing.assert_series_equal(second.records["legal_entity_id"], first.records["legal_entity_id"])
    assert second.history.empty


def test_every_record_says_what_linked_it(small):
    _, _, resolution = small
    out = resolution.records
    assert out["match_evidence"].notna().all()
    singletons = out["match_evidence"] == "singleton"
    assert out.loc[singletons, "match_probability"].isna().all()
    assert out.loc[~singletons, "match_probability"].between(0, 1).all()
    # a singleton is alone in its client
    sizes = out.groupby("client_id")["record_key"].transform("size")
    assert (sizes[singletons] == 1).all()


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """Scale 0.1: about 1,000 groups and 7,400 ground-truth records."""
    return quality_at(tmp_path_factory.mktemp("resolution_01"), 0.1)


@pytest.mark.slow
def test_quality_at_scale_0_1_does_not_regress(large):
    """Today's level at scale 0.1 is about 0.98 / 0.98 (docs/client_resolution.md, 'Measured
    quality'); this guards it with some room, and the time."""
    quality, seconds = large
    client = quality.loc["client"]
    assert client["precision"] >= 0.97, quality.to_string()
    assert client["recall"] >= 0.97, quality.to_string()
    assert seconds < 60


@pytest.mark.slow
def test_client_precision_and_recall_meet_the_floor_at_scale_0_1(large):
    quality, _ = large
    client = quality.loc["client"]
    assert client["precision"] >= FLOOR and client["recall"] >= FLOOR, quality.to_string()
