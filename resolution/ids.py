"""Stable ids for legal entities and clients, and the history of their merges and splits.

The previous build's assignment (record_key -> legal_entity_id, client_id) is the registry. A cluster
of this build inherits the previous id that most of its records had (ties: the smaller id); each
previous id goes to one cluster at most, so when a client splits, the part with most of its records
keeps the id and the other parts get new ones. A cluster with no predecessor gets a new id derived
from its smallest record key, so a fresh build of the same data gives the same ids.

History events, per level ('client' or 'legal_entity'):
- created: a new id whose records had no id before
- merged:  records of an id that no longer exists now carry another id (id_before -> id_after)
- split:   records of an id that still exists now carry another id (id_before -> id_after)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

import pandas as pd

LEVELS: dict[str, tuple[str, str, str]] = {
    # level: (cluster label column, id column, id prefix)
    "legal_entity": ("legal_entity_key", "legal_entity_id", "LE-"),
    "client": ("client_key", "client_id", "CL-"),
}
HISTORY_COLUMNS = [
    "changed_at",
    "resolution_build_id",
    "level",
    "event",
    "id_before",
    "id_after",
    "record_count",
]


def new_id(prefix: str, founding_record_key: str, taken: set[str]) -> str:
    """An id derived from the founding record's key, not among `taken` (adds a salt if it is)."""
    salt = 0
    while True:
        text = founding_record_key if salt == 0 else f"{founding_record_key}#{salt}"
        candidate = prefix + hashlib.sha1(f"{prefix}{text}".encode()).hexdigest()[:10].upper()
        if candidate not in taken:
            return candidate
        salt += 1


def _assign_level(
    labels: pd.Series, previous_ids: pd.Series, prefix: str, retired: Iterable[str] = ()
) -> pd.Series:
    """Ids for cluster `labels` (aligned with `previous_ids`, the records' ids last build or NA)."""
    frame = pd.DataFrame({"label": labels.to_numpy(), "prev": previous_ids.to_numpy()})
    counts = frame.dropna(subset=["prev"]).groupby(["label", "prev"]).size().reset_index(name="n")
    counts = counts.sort_values(["n", "prev", "label"], ascending=[False, True, True], kind="stable")
    chosen: dict[str, str] = {}
    claimed: set[str] = set()
    for label, prev in zip(counts["label"], counts["prev"], strict=True):
        if label not in chosen and prev not in claimed:
            chosen[label] = prev
            claimed.add(prev)
    taken = set(frame["prev"].dropna()) | set(retired)
    for label in sorted(set(frame["label"]) - set(chosen)):
        # the label is the cluster's smallest record key: its founding record
        chosen[label] = new_id(prefix, label, taken)
        taken.add(chosen[label])
    return frame["label"].map(chosen)


def assign_stable_ids(
    clusters: pd.DataFrame, previous: pd.DataFrame | None = None, retired_ids: Iterable[str] = ()
) -> pd.DataFrame:
    """`clusters` (record_key, legal_entity_key, client_key) with stable ids added.

    `previous` is last build's assignment (record_key, legal_entity_id, client_id), or None for a first
    build; `retired_ids` are ids used in the past that must not be issued again. Adds
    `legal_entity_id`, `client_id`, `previous_legal_entity_id` and `previous_client_id`.
    """
    out = clusters.copy()
    prev = (
        previous[["record_key", "legal_entity_id", "client_id"]].drop_duplicates("record_key")
        if previous is not None and len(previous)
        else pd.DataFrame(columns=["record_key", "legal_entity_id", "client_id"], dtype="str")
    )
    prev = prev.set_index("record_key")
    retired = list(retired_ids)
    for label_col, id_col, prefix in LEVELS.values():
        previous_ids = out["record_key"].map(prev[id_col]).astype("str")
        out[f"previous_{id_col}"] = previous_ids
        out[id_col] = _assign_level(out[label_col], previous_ids, prefix, retired).astype("str")
    return out


def id_history(
    resolved: pd.DataFrame, changed_at: datetime | None = None, build_id: str | None = None
) -> pd.DataFrame:
    """The id events of one build, from its records' current and previous ids (see module doc)."""
    changed_at = changed_at or datetime.now().replace(microsecond=0)
    rows = []
    for level, (_, id_col, _) in LEVELS.items():
        current = resolved[id_col]
        before = resolved[f"previous_{id_col}"]
        still = set(current.dropna())
        had_before = set(before.dropna())
        moves = (
            pd.DataFrame({"before": before, "after": current})
            .dropna()
            .query("before != after")
            .groupby(["before", "after"])
            .size()
        )
        for (old, new), n in moves.items():
            rows.append((level, "split" if old in still else "merged", old, new, int(n)))
        fresh = (
            pd.DataFrame({"after": current, "had": before.notna()})
            .groupby("after")["had"]
            .agg(["any", "size"])
        )
        for new, (any_before, n) in fresh.iterrows():
            if not any_before and new not in had_before:
                rows.append((level, "created", None, new, int(n)))
    frame = pd.DataFrame(rows, columns=["level", "event", "id_before", "id_after", "record_count"])
    frame.insert(0, "resolution_build_id", build_id)
    frame.insert(0, "changed_at", pd.Timestamp(changed_at))
    frame = frame.sort_values(["level", "event", "id_after", "id_before"], kind="stable", na_position="first")
    return frame.astype(
        {
            "resolution_build_id": "str",
            "level": "str",
            "event": "str",
            "id_before": "str",
            "id_after": "str",
            "record_count": "int64",
        }  # fmt: skip
    ).reset_index(drop=True)[HISTORY_COLUMNS]
