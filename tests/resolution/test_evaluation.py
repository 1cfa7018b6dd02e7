"""Pairwise precision and recall against ground truth."""

from __future__ import annotations

import pandas as pd
import pytest

from resolution.evaluation import pairwise_scores, read_ground_truth, resolution_quality


def test_pairwise_scores_count_pairs_not_records():
    # truth: {a,b,c} {d}; predicted: {a,b} {c,d}
    scores = pairwise_scores(pd.Series(list("xxyy")), pd.Series(list("gggh")))
    assert (scores["true_pairs"], scores["predicted_pairs"], scores["correct_pairs"]) == (3, 2, 1)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(1 / 3)


def test_singletons_everywhere_give_precision_one_and_recall_zero():
    scores = pairwise_scores(pd.Series(list("abc")), pd.Series(list("ggg")))
    assert scores["precision"] == 1.0 and scores["recall"] == 0.0


def test_quality_counts_unresolved_truth_records_as_singletons_and_ignores_unknown_records(tmp_path):
    truth_file = tmp_path / "source_records.csv"
    truth_file.write_text(
        "source,entity,record_id,entity_id,group_id\n"
        "crm,accounts,A1,E1,G1\ncrm,accounts,A2,E2,G1\ncrm,leads,L1,E1,G1\n",
        encoding="utf-8",
    )
    truth = read_ground_truth(tmp_path)
    resolved = pd.DataFrame(
        {
            "record_key": ["accounts:A1", "accounts:A2", "leads:L9"],
            "legal_entity_id": ["LE-1", "LE-2", "LE-3"],
            "client_id": ["CL-1", "CL-1", "CL-1"],
        }
    )
    quality = resolution_quality(resolved, truth).set_index("level")
    assert quality.loc["client", "records_evaluated"] == 3
    assert quality.loc["client", "true_pairs"] == 3
    assert quality.loc["client", "correct_pairs"] == 1
    assert quality.loc["client", "precision"] == 1.0
    assert quality.loc["legal_entity", "true_pairs"] == 1
    assert quality.loc["legal_entity", "recall"] == 0.0


def test_the_holding_level_counts_only_pairs_of_different_legal_entities(tmp_path):
    """Group G1 is a holding of E1 (two records) and E2; G2 is one company planted as nothing special.
    The holding level asks whether E1 and E2 ended up in one client, whatever became of E1's pair."""
    (tmp_path / "source_records.csv").write_text(
        "source,entity,record_id,entity_id,group_id\n"
        "crm,accounts,A1,E1,G1\nfinance,counterparties,C1,E1,G1\ncrm,accounts,A2,E2,G1\n"
        "crm,accounts,A3,E3,G2\n",
        encoding="utf-8",
    )
    (tmp_path / "groups.csv").write_text("group_id,is_planted_holding\nG1,true\nG2,false\n", encoding="utf-8")
    truth = read_ground_truth(tmp_path)
    assert truth.set_index("record_key")["is_planted_holding"].to_dict() == {
        "accounts:A1": True, "counterparties:C1": True, "accounts:A2": True, "accounts:A3": False
    }  # fmt: skip
    # A1 and C1 apart (a legal-entity miss), A2 with A1, and A3 wrongly with them
    resolved = pd.DataFrame(
        {
            "record_key": ["accounts:A1", "counterparties:C1", "accounts:A2", "accounts:A3"],
            "legal_entity_id": ["LE-1", "LE-9", "LE-2", "LE-3"],
            "client_id": ["CL-1", "CL-9", "CL-1", "CL-1"],
        }
    )
    quality = resolution_quality(resolved, truth).set_index("level")
    holding = quality.loc["holding"]
    # pairs of different true entities: A1-A2, C1-A2 (same group: true), and the three with A3
    assert (holding["true_pairs"], holding["predicted_pairs"], holding["correct_pairs"]) == (2, 3, 1)
    assert holding["recall"] == pytest.approx(0.5)
    assert holding["precision"] == pytest.approx(1 / 3)
    planted = quality.loc["planted_holding"]
    assert (planted["true_pairs"], planted["predicted_pairs"], planted["correct_pairs"]) == (2, 1, 1)
    assert quality.loc["legal_entity", "recall"] == 0.0  # A1 and C1: one entity, two clients
