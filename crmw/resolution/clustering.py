"""Clustering entity records into legal entities, and legal entities into clients.

Two passes of constrained union-find, each taking evidence strongest first:

1. Legal entities (records -> legal entities). Overrides that say two records must match, the same tax
   identity, a converted lead's account, the lead a web form created, then Splink pairs at or above
   the match threshold, most probable first. A union is refused when the two sides carry different
   tax identities (INN, and KPP for branches) or an override says they must not match.
2. Clients (legal entities -> clients). Overrides, the same INN under different KPPs (branches),
   CRM parent links and the CRM and web links refused in pass 1 are taken as facts. Then legal
   entities sharing a corporate domain (each legal entity votes with the domain most of its records
   carry: a website counts three times, an e-mail once), then legal entities whose names start with
   the same word in the same region. These inferred unions are refused when they would put two
   namesakes with different INNs in one client, or two different corporate domains.

Pass 2's constraints are what keep one stray record (a person who moved and kept an old e-mail
address, a namesake in another region) from merging two whole clients.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from crmw.resolution.evidence import EVIDENCE_RANK, with_tax_identity
from crmw.resolution.graph import ConstrainedUnionFind

log = logging.getLogger(__name__)

RESULT_COLUMNS = ["record_key", "legal_entity_key", "client_key", "match_evidence", "match_probability"]
WEBSITE_VOTE, EMAIL_VOTE = 3, 1


@dataclass(frozen=True)
class ClusteringConfig:
    """Thresholds of the clustering passes."""

    # Splink pairs at or above this probability join records into one legal entity
    match_threshold: float = 0.5
    # a domain seen with more distinct INNs than this is a shared service (a mail host, the
    # supplier's own domain), not a client's: it links nothing
    max_inns_per_domain: int = 12
    # join legal entities whose names start with the same word in the same region
    link_name_stems: bool = True


@dataclass
class ClusteringResult:
    records: pd.DataFrame  # RESULT_COLUMNS, one row per record
    stats: dict[str, int] = field(default_factory=dict)


def _pairs(
    frame: pd.DataFrame, a: str = "record_key_a", b: str = "record_key_b"
) -> Iterable[tuple[str, str]]:
    return zip(frame[a].tolist(), frame[b].tolist(), strict=True)


def _majority(frame: pd.DataFrame, by: str, value: str, weight: str | None = None) -> pd.Series:
    """The most frequent (or heaviest) `value` per `by`; ties go to the smallest value."""
    if frame.empty:
        return pd.Series(dtype="object")
    w = frame[weight] if weight else pd.Series(1, index=frame.index)
    votes = pd.DataFrame({"by": frame[by], "value": frame[value], "w": w}).groupby(["by", "value"])["w"].sum()
    votes = votes.reset_index().sort_values(
        ["by", "w", "value"], ascending=[True, False, True], kind="stable"
    )
    return votes.drop_duplicates("by").set_index("by")["value"]


def cluster_records(
    records: pd.DataFrame,
    edges: pd.DataFrame,
    pairs: pd.DataFrame,
    overrides: pd.DataFrame | None = None,
    config: ClusteringConfig | None = None,
) -> ClusteringResult:
    """Cluster normalised records given deterministic `edges` (see `deterministic_edges`), Splink
    `pairs` (see `link_records`) and `overrides` (see `read_overrides`).

    Returns one row per record: `legal_entity_key` and `client_key` (the smallest record key of the
    legal entity and of the client: labels of this build, not stable ids), `match_evidence` (the
    strongest evidence that links the record to another record of its client, 'singleton' when none)
    and `match_probability` (the best Splink probability for 'splink', 1.0 for deterministic
    evidence, empty for singletons).
    """
    config = config or ClusteringConfig()
    keys = records["record_key"].astype("str").tolist()
    known = set(keys)
    overrides = (
        overrides
        if overrides is not None
        else pd.DataFrame(columns=["record_key_a", "record_key_b", "decision"])
    )
    unknown = overrides[~overrides["record_key_a"].isin(known) | ~overrides["record_key_b"].isin(known)]
    if len(unknown):
        log.warning(
            "%d override pairs name records that do not exist (any more); they are ignored", len(unknown)
        )
    overrides = overrides[overrides["record_key_a"].isin(known) & overrides["record_key_b"].isin(known)]
    must = overrides[overrides["decision"] == "must_match"]
    must_not = list(_pairs(overrides[overrides["decision"] == "must_not_match"]))
    stats: dict[str, int] = {}
    accepted: list[tuple[str, str, str, float]] = []  # record-level evidence that was considered

    # ---------------------------------------------------------------- pass 1: legal entities
    identity = with_tax_identity(records)
    tax_keys = {k: {"tax": {v}} for k, v in zip(keys, identity.tolist(), strict=True) if v is not None}
    entities = ConstrainedUnionFind(keys, keys=tax_keys, cannot_link=must_not)
    for a, b in _pairs(must):
        entities.union(a, b)
        accepted.append((a, b, "override", 1.0))
    entity_edges = edges[edges["level"] == "legal_entity"]
    entity_edges = entity_edges.assign(rank=entity_edges["evidence"].map(EVIDENCE_RANK))
    link_refused = []
    for a, b, evidence in zip(
        *(
            entity_edges.sort_values("rank", kind="stable")[c]
            for c in ("record_key_a", "record_key_b", "evidence")
        ),
        strict=True,
    ):
        if not entities.union(a, b) and not entities.same(a, b):
            link_refused.append((a, b, evidence))
        accepted.append((a, b, evidence, 1.0))
    strong = pairs[pairs["match_probability"] >= config.match_threshold]
    strong = strong.sort_values(
        ["match_probability", "record_key_a", "record_key_b"], ascending=[False, True, True], kind="stable"
    )
    for a, b, p in zip(
        strong["record_key_a"], strong["record_key_b"], strong["match_probability"], strict=True
    ):
        entities.union(a, b)
        accepted.append((a, b, "splink", float(p)))
    stats["legal_entity_unions_refused"] = entities.refused
    entity_of = {k: entities.find(k) for k in keys}

    # ---------------------------------------------------------------- pass 2: clients
    frame = records.assign(entity=[entity_of[k] for k in keys])
    client_keys: dict[str, dict] = {}
    named = frame[frame["inn_norm"].notna() & frame["name_norm"].notna()]
    for ent, name, inn in zip(named["entity"], named["name_norm"], named["inn_norm"], strict=True):
        client_keys.setdefault(ent, {}).setdefault(("name", name), set()).add(inn)
    domains = _usable_domains(frame, config, stats)
    domain_votes = domains.assign(
        vote=domains["website_domain"].notna().map({True: WEBSITE_VOTE, False: EMAIL_VOTE})
    )
    entity_domain = _majority(domain_votes, "entity", "domain", "vote")
    for ent, dom in entity_domain.items():
        client_keys.setdefault(ent, {})["domain"] = {dom}
    clients = ConstrainedUnionFind(
        set(entity_of.values()),
        keys=client_keys,
        cannot_link=[(entity_of[a], entity_of[b]) for a, b in must_not],
    )

    def join(a: str, b: str, evidence: str, force: bool) -> None:
        clients.union(entity_of[a], entity_of[b], force=force)
        accepted.append((a, b, evidence, 1.0))

    for a, b in _pairs(must):
        join(a, b, "override", force=True)
    client_edges = edges[edges["level"] == "client"]
    for a, b, evidence in zip(
        client_edges["record_key_a"], client_edges["record_key_b"], client_edges["evidence"], strict=True
    ):
        join(a, b, evidence, force=True)
    for a, b, evidence in link_refused:
        join(a, b, evidence, force=True)
    # legal entities voting for the same domain; the records that carry it are the evidence
    voted = domains[domains["domain"] == domains["entity"].map(entity_domain)]
    voted = voted.sort_values(["domain", "record_key"], kind="stable")
    for _, group in voted.groupby("domain", sort=True):
        first = group.iloc[0]
        for key, site in zip(group["record_key"].iloc[1:], group["website_domain"].iloc[1:], strict=True):
            evidence = (
                "website_domain" if pd.notna(site) and pd.notna(first["website_domain"]) else "email_domain"
            )
            join(first["record_key"], key, evidence, force=False)
    if config.link_name_stems:
        for a, b in _stem_links(frame):
            join(a, b, "name_stem", force=False)
    stats["client_unions_refused"] = clients.refused
    client_of = {k: clients.find(entity_of[k]) for k in keys}

    return ClusteringResult(records=_result(keys, entity_of, client_of, accepted), stats=stats)


def _usable_domains(frame: pd.DataFrame, config: ClusteringConfig, stats: dict[str, int]) -> pd.DataFrame:
    """Records with a corporate domain, without the domains so widely shared they name no client."""
    with_domain = frame[frame["domain"].notna()]
    inns = with_domain.dropna(subset=["inn_norm"]).groupby("domain")["inn_norm"].nunique()
    hubs = set(inns[inns > config.max_inns_per_domain].index)
    if hubs:
        log.info("ignored %d domains shared by more than %d INNs: %s", len(hubs), config.max_inns_per_domain,
                 ", ".join(sorted(hubs)[:10]))  # fmt: skip
    stats["hub_domains_ignored"] = len(hubs)
    return with_domain[~with_domain["domain"].isin(hubs)]


def _stem_links(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """Record pairs joining legal entities whose names mostly start with the same word and whose
    records are mostly in the same region (a holding's 'Техносервис' and 'Техносервис Урал')."""
    stems = frame[frame["name_stem"].notna()]
    if stems.empty:
        return []
    entity_stem = _majority(stems, "entity", "name_stem")
    regions = frame[frame["region_norm"].notna()]
    entity_region = _majority(regions, "entity", "region_norm")
    carriers = stems[stems["name_stem"] == stems["entity"].map(entity_stem)]
    carriers = carriers.assign(region=carriers["entity"].map(entity_region)).dropna(subset=["region"])
    carriers = carriers.sort_values(["name_stem", "region", "entity", "record_key"], kind="stable")
    carriers = carriers.drop_duplicates("entity")  # one record speaks for its legal entity
    links = []
    for _, group in carriers.groupby(["name_stem", "region"], sort=True):
        first = group["record_key"].iloc[0]
        links.extend((first, key) for key in group["record_key"].iloc[1:])
    return links


def _result(
    keys: list[str],
    entity_of: dict[str, str],
    client_of: dict[str, str],
    accepted: list[tuple[str, str, str, float]],
) -> pd.DataFrame:
    label_entity = pd.Series(keys).groupby([entity_of[k] for k in keys]).transform("min")
    label_client = pd.Series(keys).groupby([client_of[k] for k in keys]).transform("min")
    best: dict[str, tuple[int, float]] = {}
    for a, b, evidence, probability in accepted:
        if client_of[a] != client_of[b]:
            continue
        rank = EVIDENCE_RANK[evidence]
        for k in (a, b):
            current = best.get(k)
            if current is None or rank < current[0] or (rank == current[0] and probability > current[1]):
                best[k] = (rank, probability)
    order = list(EVIDENCE_RANK)
    evidence_col = [order[best[k][0]] if k in best else "singleton" for k in keys]
    probability_col = [best[k][1] if k in best else None for k in keys]
    return pd.DataFrame(
        {
            "record_key": pd.Series(keys, dtype="str"),
            "legal_entity_key": label_entity.astype("str").to_numpy(),
            "client_key": label_client.astype("str").to_numpy(),
            "match_evidence": pd.Series(evidence_col, dtype="str"),
            "match_probability": pd.Series(probability_col, dtype="float64"),
        }
    )[RESULT_COLUMNS]
