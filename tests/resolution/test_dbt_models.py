"""The resolution's dbt models on generated exports (scale 0.01): resolved records, a build with
unchanged inputs keeping the table, stable ids when resolving again, the id history appended once per
build, match weights from the saved model, and quality against the ground truth."""

from __future__ import annotations

import duckdb
import pytest

from ingest.load import ingest_paths
from warehouse.dbt import build_warehouse
from warehouse.settings import Settings

pytestmark = pytest.mark.slow

SELECT = "+path:models/intermediate/resolution"


@pytest.fixture(scope="module")
def built(sample_exports, tmp_path_factory):
    home = tmp_path_factory.mktemp("resolution_dbt")
    settings = Settings(home=home).ensure()
    exports = sample_exports
    assert ingest_paths([exports], settings.warehouse_path).ok
    variables = {"resolution_ground_truth_path": str(exports / "ground_truth")}
    with pytest.MonkeyPatch.context() as patch:
        # only the tests whose every parent is built here (not the marts' singular tests)
        patch.setenv("DBT_INDIRECT_SELECTION", "cautious")
        builds = []
        # the first build; a second with nothing changed (keeps the table); a third that retrains the
        # model on the same records, so resolves again from the second's ids
        for extra in ({}, {}, {"resolution_retrain": True}):
            build_warehouse(settings, select=SELECT, vars=variables | extra)
            with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
                builds.append(
                    con.sql(
                        "select * from intermediate.int_entity_records__resolved order by record_key"
                    ).df()
                )
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield settings, builds, con
    con.close()


def test_every_entity_record_is_resolved_once(built):
    _, _, con = built
    counts = con.sql(
        "select (select count(*) from pii.int_entity_records), count(*), count(distinct record_key), "
        "count(client_id), count(legal_entity_id) from intermediate.int_entity_records__resolved"
    ).fetchall()[0]
    assert counts[0] == counts[1] == counts[2] == counts[3] == counts[4] > 0


def test_a_build_with_unchanged_inputs_keeps_the_table(built):
    _, (first, second, _), _ = built
    assert second.equals(first)
    assert second["input_fingerprint"].nunique() == 1


def test_ids_are_the_same_after_resolving_again(built):
    _, (first, _, third), _ = built
    assert third["resolution_build_id"].iloc[0] != first["resolution_build_id"].iloc[0]
    assert third["client_id"].tolist() == first["client_id"].tolist()
    assert (third["previous_client_id"] == third["client_id"]).all()


def test_the_history_holds_one_creation_per_id_and_nothing_from_the_unchanged_builds(built):
    _, (first, _, _), con = built
    history = con.sql("select * from intermediate.int_clients__id_history").df()
    assert set(history["event"]) == {"created"}
    created = history[history["level"] == "client"]
    assert sorted(created["id_after"]) == sorted(first["client_id"].unique())
    assert history["resolution_build_id"].nunique() == 1


def test_match_weights_come_from_the_saved_splink_model(built):
    settings, _, con = built
    weights = con.sql("select * from intermediate.int_entity_records__match_weights").df()
    assert weights["comparison"].iloc[0] == "prior"
    assert "name_norm" in set(weights["comparison"])
    assert (settings.artifacts_dir / "splink" / "entity_records_model.json").exists()


def test_quality_is_written_and_meets_the_floor(built):
    _, _, con = built
    quality = con.sql("select * from intermediate.int_entity_records__evaluated").df().set_index("level")
    assert {"client", "legal_entity", "holding"} <= set(quality.index)
    assert quality.loc["client", "precision"] >= 0.95
    assert quality.loc["client", "recall"] >= 0.95
