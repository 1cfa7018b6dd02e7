"""Stable legal entity and client ids across builds, and the history of merges and splits."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from resolution.ids import assign_stable_ids, id_history, new_id


def clusters(assignment: dict[str, str]) -> pd.DataFrame:
    """record -> client label; each record is its own legal entity, labels are smallest keys."""
    frame = pd.DataFrame({"record_key": list(assignment), "label": list(assignment.values())})
    frame["client_key"] = frame.groupby("label")["record_key"].transform("min")
    frame["legal_entity_key"] = frame["record_key"]
    return frame[["record_key", "legal_entity_key", "client_key"]]


def client_of(ids: pd.DataFrame) -> dict[str, str]:
    return dict(zip(ids["record_key"], ids["client_id"], strict=True))


def test_a_fresh_build_of_the_same_clusters_gives_the_same_ids():
    first = assign_stable_ids(clusters({"a": "x", "b": "x", "c": "y"}))
    again = assign_stable_ids(clusters({"a": "x", "b": "x", "c": "y"}))
    assert client_of(first) == client_of(again)
    assert first["client_id"].str.startswith("CL-").all()
    assert first["legal_entity_id"].str.startswith("LE-").all()


def test_ids_survive_a_rebuild_with_a_new_record_whose_key_sorts_first():
    before = assign_stable_ids(clusters({"b": "x", "c": "x"}))
    after = assign_stable_ids(clusters({"a": "x", "b": "x", "c": "x"}), previous=before)
    assert client_of(after)["a"] == client_of(before)["b"]


def test_a_merge_keeps_the_id_of_the_predecessor_with_most_records():
    before = assign_stable_ids(clusters({"a": "x", "b": "y", "c": "y", "d": "y"}))
    after = assign_stable_ids(clusters(dict.fromkeys("abcd", "z")), previous=before)
    assert set(after["client_id"]) == {client_of(before)["b"]}


def test_a_split_leaves_the_id_with_the_larger_part_and_gives_the_other_a_new_one():
    before = assign_stable_ids(clusters(dict.fromkeys("abcd", "x")))
    after = assign_stable_ids(clusters({"a": "p", "b": "q", "c": "q", "d": "q"}), previous=before)
    old = client_of(before)["a"]
    assert client_of(after)["b"] == old
    assert client_of(after)["a"] != old


def test_new_ids_avoid_ids_already_taken():
    taken = {new_id("CL-", "a", set())}
    assert new_id("CL-", "a", taken) not in taken


def test_history_records_creations_merges_and_splits():
    at = datetime(2026, 1, 1)
    first = assign_stable_ids(clusters({"a": "x", "b": "x", "c": "y", "d": "z", "e": "z"}))
    created = id_history(first, changed_at=at, build_id="b1")
    assert (created.query("level == 'client'")["event"] == "created").sum() == 3
    # c's client merges into a's; e leaves d's client
    second = assign_stable_ids(clusters({"a": "x", "b": "x", "c": "x", "d": "z", "e": "w"}), previous=first)
    events = id_history(second, changed_at=at, build_id="b2").query("level == 'client'")
    ids = client_of(first)
    merged = events[events["event"] == "merged"]
    assert merged[["id_before", "id_after", "record_count"]].values.tolist() == [[ids["c"], ids["a"], 1]]
    split = events[events["event"] == "split"]
    assert split[["id_before", "record_count"]].values.tolist() == [[ids["d"], 1]]
    assert split["id_after"].iloc[0] == client_of(second)["e"]
    assert set(events["resolution_build_id"]) == {"b2"}


def test_an_unchanged_rebuild_has_no_history():
    first = assign_stable_ids(clusters({"a": "x", "b": "x"}))
    second = assign_stable_ids(clusters({"a": "x", "b": "x"}), previous=first)
    assert id_history(second).empty
