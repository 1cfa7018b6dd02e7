"""Resolution quality against the sample generator's ground truth.

Pairwise precision and recall, at two levels:

- client: over all unordered pairs of ground-truth records (records present in
  `ground_truth/source_records.csv`), a pair is *predicted* when both records got the same
  `client_id`, *true* when both belong to the same `group_id`. precision = correct / predicted,
  recall = correct / true, where correct pairs are both.
- legal_entity: the same with `legal_entity_id` against the true `entity_id`.
- holding: the client level over the pairs of records of different true legal entities only: how
  well the companies of one group (a holding's subsidiaries, a client's several legal entities) end
  up in one client, apart from how well each company's own records are matched.
- planted_holding: the holding level within the groups the generator planted as holdings the way
  real ones look (ground_truth/groups.csv `is_planted_holding`; sample_exports/holdings.py), when
  it planted any.

Ground-truth records the resolution did not see count as singletons (their true pairs are missed);
resolved records the ground truth does not know (a lead with an INN and no company name) are left out.
Pair counts come from the contingency table (sum of n*(n-1)/2 per cell), never from listing pairs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

QUALITY_COLUMNS = [
    "evaluated_at",
    "level",
    "records_evaluated",
    "true_pairs",
    "predicted_pairs",
    "correct_pairs",
    "precision",
    "recall",
    "f1",
]
TRUTH_FILE = "source_records.csv"


GROUPS_FILE = "groups.csv"


def read_ground_truth(path: Path | str) -> pd.DataFrame:
    """The generator's true entity and group of every organisation record: record_key, entity_id,
    group_id, is_planted_holding (from groups.csv beside it; false when it has no such column).
    `path` is the ground_truth folder or the source_records.csv file in it."""
    path = Path(path)
    if path.is_dir():
        path = path / TRUTH_FILE
    truth = pd.read_csv(path, dtype="str", keep_default_na=False)
    missing = {"entity", "record_id", "entity_id", "group_id"} - set(truth.columns)
    if missing:
        raise KeyError(f"{path}: ground truth lacks columns {sorted(missing)}")
    truth["record_key"] = truth["entity"] + ":" + truth["record_id"]
    truth = truth[["record_key", "entity_id", "group_id"]].drop_duplicates("record_key")
    groups_path = path.parent / GROUPS_FILE
    planted: set[str] = set()
    if groups_path.exists():
        groups = pd.read_csv(groups_path, dtype="str", keep_default_na=False)
        if "is_planted_holding" in groups:
            planted = set(groups.loc[groups["is_planted_holding"] == "true", "group_id"])
    return truth.assign(is_planted_holding=truth["group_id"].isin(planted))


def _pairs(counts: pd.Series) -> int:
    return int((counts * (counts - 1) // 2).sum())


def pairwise_scores(
    predicted: pd.Series, true: pd.Series, apart: pd.Series | None = None
) -> dict[str, float]:
    """Pairwise counts, precision, recall and F1 of `predicted` labels against `true` labels; with
    `apart` (a label per record), over the pairs whose `apart` labels differ only (the pairs with equal
    `apart` labels are subtracted, per cell)."""
    frame = pd.DataFrame({"p": predicted.to_numpy(), "t": true.to_numpy()})
    true_pairs = _pairs(frame.groupby("t").size())
    predicted_pairs = _pairs(frame.groupby("p").size())
    correct = _pairs(frame.groupby(["p", "t"]).size())
    if apart is not None:
        frame["a"] = apart.to_numpy()
        true_pairs -= _pairs(frame.groupby(["t", "a"]).size())
        predicted_pairs -= _pairs(frame.groupby(["p", "a"]).size())
        correct -= _pairs(frame.groupby(["p", "t", "a"]).size())
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records_evaluated": len(frame),
        "true_pairs": true_pairs,
        "predicted_pairs": predicted_pairs,
        "correct_pairs": correct,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def resolution_quality(
    resolved: pd.DataFrame, truth: pd.DataFrame, evaluated_at: datetime | None = None
) -> pd.DataFrame:
    """One row per level ('client', 'legal_entity', 'holding', and 'planted_holding' when the truth
    has planted holdings) with pairwise precision and recall (module doc).

    `resolved` has record_key, legal_entity_id, client_id; `truth` is `read_ground_truth(...)`.
    """
    evaluated_at = evaluated_at or datetime.now().replace(microsecond=0)
    joined = truth.merge(
        resolved[["record_key", "legal_entity_id", "client_id"]], on="record_key", how="left"
    )
    unseen = "unresolved:" + joined["record_key"]
    rows = []
    for level, predicted_col, true_col in (
        ("client", "client_id", "group_id"),
        ("legal_entity", "legal_entity_id", "entity_id"),
    ):
        predicted = joined[predicted_col].where(joined[predicted_col].notna(), unseen)
        rows.append({"level": level, **pairwise_scores(predicted, joined[true_col])})
    client = joined["client_id"].where(joined["client_id"].notna(), unseen)
    rows.append({"level": "holding", **pairwise_scores(client, joined["group_id"], joined["entity_id"])})
    planted = (
        joined["is_planted_holding"]
        if "is_planted_holding" in joined
        else pd.Series(False, index=joined.index)
    )
    if planted.any():
        # predicted pairs count only inside the planted groups: precision is what was joined to them
        inside = joined[planted.to_numpy()]
        rows.append(
            {
                "level": "planted_holding",
                **pairwise_scores(client[planted.to_numpy()], inside["group_id"], inside["entity_id"]),
            }
        )
    frame = pd.DataFrame(rows)
    frame.insert(0, "evaluated_at", pd.Timestamp(evaluated_at))
    return frame[QUALITY_COLUMNS]


def empty_quality() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "evaluated_at": pd.Series(dtype="datetime64[us]"),
            "level": pd.Series(dtype="str"),
            "records_evaluated": pd.Series(dtype="int64"),
            "true_pairs": pd.Series(dtype="int64"),
            "predicted_pairs": pd.Series(dtype="int64"),
            "correct_pairs": pd.Series(dtype="int64"),
            "precision": pd.Series(dtype="float64"),
            "recall": pd.Series(dtype="float64"),
            "f1": pd.Series(dtype="float64"),
        }
    )
