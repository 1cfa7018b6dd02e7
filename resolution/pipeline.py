"""One call from entity records to resolved records: normalise, link, cluster, assign stable ids."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from resolution.clustering import ClusteringConfig, cluster_records
from resolution.evidence import deterministic_edges
from resolution.ids import assign_stable_ids, id_history
from resolution.linkage import LinkageConfig, PairCache, link_records, match_weights
from resolution.normalise import RECORD_COLUMNS, normalise_records
from resolution.overrides import empty_overrides

log = logging.getLogger(__name__)

# The contract of int_entity_records__resolved (the marts build on these), then helpful extras.
RESOLVED_COLUMNS = [
    "record_key",
    "source",
    "entity",
    "record_id",
    "legal_entity_id",
    "client_id",
    "display_name",
    "inn",
    "kpp",
    "region",
    "match_evidence",
    "match_probability",
    "legal_entity_name",
    "client_name",
    "previous_legal_entity_id",
    "previous_client_id",
    "resolution_build_id",
    "resolved_at",
]
# where a legal entity's name is taken from, best first: accounting writes names with care
NAME_SOURCE_PRIORITY = {"counterparties": 0, "accounts": 1, "leads": 2, "web_events": 3}


@dataclass(frozen=True)
class ResolutionConfig:
    linkage: LinkageConfig = field(default_factory=LinkageConfig)
    clustering: ClusteringConfig = field(default_factory=ClusteringConfig)
    # domains that never identify a client (the supplier's own, a group mail host)
    excluded_domains: frozenset[str] = frozenset()


@dataclass
class Resolution:
    records: pd.DataFrame  # RESOLVED_COLUMNS, one row per record
    history: pd.DataFrame  # this build's id events (see ids.id_history)
    match_weights: pd.DataFrame  # the Splink model as a table (see linkage.match_weights)
    model: dict[str, Any]  # the Splink model JSON
    stats: dict[str, float]
    pair_cache: PairCache | None = None  # the scored pairs, for the next resolution with this model


def _clean_name(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = " ".join(str(value).split())
    return text or None


def _best_names(frame: pd.DataFrame, by: str) -> pd.Series:
    """The name each `by` cluster is best known by: from the most careful source, the most frequent."""
    named = frame[frame["display_name"].notna()]
    votes = (
        named.assign(priority=named["entity"].map(NAME_SOURCE_PRIORITY).fillna(9))
        .groupby([by, "priority", "display_name"])
        .size()
        .reset_index(name="n")
        .sort_values(
            [by, "priority", "n", "display_name"], ascending=[True, True, False, True], kind="stable"
        )
    )
    return votes.drop_duplicates(by).set_index(by)["display_name"]


def resolve(
    records: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    overrides: pd.DataFrame | None = None,
    config: ResolutionConfig | None = None,
    model: dict[str, Any] | None = None,
    resolved_at: datetime | None = None,
    build_id: str | None = None,
    pair_cache: PairCache | None = None,
) -> Resolution:
    """Resolve entity records (`RECORD_COLUMNS`, one row per organisation record) into legal entities
    and clients with stable ids.

    `previous` is the last build's output (at least record_key, legal_entity_id, client_id) whose ids
    are kept; `overrides` is `read_overrides(...)`; `model` a saved Splink model to apply instead of
    training one; `pair_cache` the `Resolution.pair_cache` of an earlier resolution, whose pairs are
    kept where the records did not change (with `model` only). Same records, previous and overrides
    give the same result, with a pair cache or without.
    """
    config = config or ResolutionConfig()
    resolved_at = resolved_at or datetime.now().replace(microsecond=0)
    build_id = build_id or uuid.uuid4().hex[:12]
    started = time.perf_counter()
    if records["record_key"].duplicated().any():
        dupes = records.loc[records["record_key"].duplicated(), "record_key"].head(5).tolist()
        raise ValueError(f"entity records must have one row per record_key; repeated: {dupes}")
    # the order rows arrive in (a SQL result's is arbitrary) must not decide anything
    records = records.sort_values("record_key", kind="stable").reset_index(drop=True)
    normalised = normalise_records(records, config.excluded_domains)
    edges = deterministic_edges(normalised)
    linked = link_records(normalised, config.linkage, model=model, cache=pair_cache)
    clusters = cluster_records(
        normalised,
        edges,
        linked.pairs,
        overrides if overrides is not None else empty_overrides(),
        config.clustering,
    )
    with_ids = assign_stable_ids(clusters.records, previous)
    out = normalised[
        ["record_key", "source", "entity", "record_id", "name", "inn_norm", "kpp_norm", "region_norm"]
    ]
    out = out.rename(columns={"inn_norm": "inn", "kpp_norm": "kpp", "region_norm": "region"})
    out = out.assign(display_name=[_clean_name(v) for v in out.pop("name")])
    out = out.merge(with_ids, on="record_key", how="left", validate="one_to_one")
    entity_names = _best_names(out, "legal_entity_id")
    out["legal_entity_name"] = out["legal_entity_id"].map(entity_names)
    biggest = (
        out.groupby(["client_id", "legal_entity_id"]).size().reset_index(name="n")
        .sort_values(["client_id", "n", "legal_entity_id"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("client_id").set_index("client_id")["legal_entity_id"]
    )  # fmt: skip
    out["client_name"] = out["client_id"].map(biggest).map(entity_names)
    out["resolution_build_id"] = build_id
    out["resolved_at"] = pd.Timestamp(resolved_at)
    out = out.sort_values("record_key", kind="stable").reset_index(drop=True)[RESOLVED_COLUMNS]
    stats = {
        **clusters.stats,
        "records": len(out),
        "legal_entities": int(out["legal_entity_id"].nunique()),
        "clients": int(out["client_id"].nunique()),
        "scored_pairs": len(linked.pairs),
        "rescored_pairs": len(linked.pairs) if linked.rescored is None else linked.rescored,
        "seconds": round(time.perf_counter() - started, 2),
    }
    log.info(
        "resolved %(records)d records into %(legal_entities)d legal entities, %(clients)d clients", stats
    )
    return Resolution(
        records=out,
        history=id_history(out, changed_at=resolved_at, build_id=build_id),
        match_weights=match_weights(linked.model),
        model=linked.model,
        stats=stats,
        pair_cache=linked.cache,
    )


__all__ = ["RECORD_COLUMNS", "RESOLVED_COLUMNS", "Resolution", "ResolutionConfig", "resolve"]
