"""resolve(): entity records to legal entities and clients with stable ids, in one call."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from resolution import RECORD_COLUMNS, RESOLVED_COLUMNS, resolve
from resolution.linkage import LinkageConfig
from resolution.pipeline import ResolutionConfig

INN_A, INN_B = "7707083893", "7736050003"
CONFIG = ResolutionConfig(linkage=LinkageConfig(u_max_pairs=1e4))


def records(*extra: dict) -> pd.DataFrame:
    rows = [
        {"record_key": "counterparties:K1", "source": "finance", "entity": "counterparties", "record_id": "K1",
         "name": 'ООО "Альфа"', "inn": INN_A, "kpp": "770101001", "region": "Москва"},
        {"record_key": "accounts:A1", "source": "crm", "entity": "accounts", "record_id": "A1",
         "name": "Alfa LLC", "inn": INN_A, "website": "alfa.ru", "region": "г. Москва"},
        {"record_key": "accounts:A2", "source": "crm", "entity": "accounts", "record_id": "A2",
         "name": "ООО Бета", "inn": INN_B, "website": "www.alfa.ru"},
        {"record_key": "leads:L1", "source": "crm", "entity": "leads", "record_id": "L1",
         "name": "альфа", "email": "i.ivanov@alfa.ru"},
        *extra,
    ]  # fmt: skip
    return pd.DataFrame([{**dict.fromkeys(RECORD_COLUMNS), **row} for row in rows])


@pytest.fixture(scope="module")
def first():
    return resolve(records(), config=CONFIG, resolved_at=datetime(2026, 1, 1), build_id="b1")


def test_every_record_gets_one_row_with_the_contract_columns(first):
    out = first.records
    assert list(out.columns) == RESOLVED_COLUMNS
    assert sorted(out["record_key"]) == sorted(records()["record_key"])
    assert out["client_id"].nunique() == 1
    assert (
        out.set_index("record_key").loc["accounts:A2", "legal_entity_id"]
        != out.set_index("record_key").loc["accounts:A1", "legal_entity_id"]
    )


def test_names_and_regions_are_cleaned_for_display(first):
    out = first.records.set_index("record_key")
    assert out.loc["accounts:A1", "region"] == "Москва"
    assert out.loc["accounts:A1", "legal_entity_name"] == 'ООО "Альфа"'  # accounting's spelling wins


def test_a_rebuild_with_a_new_record_keeps_every_id_and_records_no_change(first):
    new_lead = {"record_key": "leads:L0", "source": "crm", "entity": "leads", "record_id": "L0",
                "name": "ООО Альфа", "inn": INN_A}  # fmt: skip
    second = resolve(records(new_lead), previous=first.records, config=CONFIG)
    before = first.records.set_index("record_key")["client_id"]
    after = second.records.set_index("record_key")["client_id"]
    assert (after[before.index] == before).all()
    assert after["leads:L0"] == before["accounts:A1"]
    assert second.history.empty


def test_a_must_not_match_override_splits_a_client_and_the_history_says_so(first):
    overrides = pd.DataFrame(
        [("accounts:A1", "accounts:A2", "must_not_match", "")],
        columns=["record_key_a", "record_key_b", "decision", "note"],
    )
    second = resolve(records(), previous=first.records, overrides=overrides, config=CONFIG)
    out = second.records.set_index("record_key")
    assert out.loc["accounts:A1", "client_id"] != out.loc["accounts:A2", "client_id"]
    assert "split" in set(second.history.query("level == 'client'")["event"])


def test_repeated_record_keys_are_refused():
    doubled = pd.concat([records(), records().head(1)])
    with pytest.raises(ValueError, match="one row per record_key"):
        resolve(doubled, config=CONFIG)


def test_the_model_and_its_weights_come_with_the_result(first):
    assert first.match_weights["comparison"].iloc[0] == "prior"
    assert first.model["link_type"] == "dedupe_only"
    assert first.stats["records"] == 4


def test_records_with_nothing_to_match_resolve_one_client_each():
    """Every record its own legal entity and client: no deterministic evidence, no Splink pair."""
    rows = [
        {
            **dict.fromkeys(RECORD_COLUMNS),
            "record_key": f"counterparties:C{i}",
            "source": "finance",
            "entity": "counterparties",
            "record_id": f"C{i}",
            "name": f"ООО «{name}»",
            "region": "Москва",
        }
        for i, name in enumerate(
            ["Альфатрейд", "Гранитстрой", "Кедрсофт", "Нордлайн", "Вектормед", "Зернопром"]
        )
    ]
    resolution = resolve(pd.DataFrame(rows))
    assert resolution.records["legal_entity_id"].is_unique
    assert resolution.records["client_id"].is_unique
    assert set(resolution.records["match_evidence"]) == {"singleton"}
