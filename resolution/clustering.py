"""Clustering entity records into legal entities, and legal entities into clients.

Two union-finds over the records, kept nested (every legal entity lies inside one client): `entities`
and `clients`. Evidence is taken strongest first, and every union checks constraints at both levels:

- a legal entity has one tax identity (INN, with the KPP for a branch);
- a client holds no two namesakes with different INNs, and one corporate domain (the websites of its
  CRM accounts, the domain most of an account's contacts use, the domain of an address typed into a
  lead or form unless the address is a known CRM contact's: the CRM already says whose person that is,
  and people keep the address of a company they left);
- no client holds both records of a must_not_match override.

Order: overrides; the same tax identity; a converted lead's account and the lead a web form created
(same legal entity when the constraints allow, else same client); the same INN under other KPPs
(branches) and CRM parent links (same client); Splink pairs at or above the match threshold, most
probable first (same legal entity); a second Splink pass for leads and forms still alone whose own
e-mail domain stood in the way of a confident match (the name wins over a former employer's address);
legal entities that vote for the same corporate domain (each votes with the domain most of its records
carry, a website counting three times); legal entities whose people mostly write from the same
corporate mail domain (a holding's companies with sites of their own and the parent's mail); legal
entities whose names start with the same word in the same region; registered legal entities anywhere
whose names start with the same distinctive root (a brand few legal entities carry, the rarest first),
joined to the one client with a company named by the root alone (not one whose people mostly write
from another corporate mail domain than the parent's: a namesake's). A record whose site and mail domain
share their root ("korvelzan-treid.ru", "korvelzan.ru": `normalise.domain_root`) is known by both in
the one-domain rule, so a subsidiary with its own site may join the parent whose mail it uses; an
unrelated mail domain (a person who moved) does not widen it. Tax numbers, CRM links and overrides
are facts and join clients even against the inferred constraints; Splink pairs, domains and name
stems and roots never do. That is what keeps one stray
record (a person who moved and kept an old e-mail, a namesake in the same region) from merging two
whole clients.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from resolution.evidence import EVIDENCE_RANK, FACT_EVIDENCE, with_tax_identity
from resolution.graph import ConstrainedUnionFind
from resolution.normalise import domain_root, fold_script, py_values

log = logging.getLogger(__name__)

RESULT_COLUMNS = ["record_key", "legal_entity_key", "client_key", "match_evidence", "match_probability"]
WEBSITE_VOTE, EMAIL_VOTE = 3, 1
MIN_ROOT_LETTERS = 6  # a shorter first word ("Альфа", "Гео") is a common word, not a brand
# first words of company names that are words, not brands ("Компания Вектор", "Группа компаний ...")
GENERIC_ROOTS = frozenset(
    fold_script(word)
    for word in (
        "компания", "группа", "холдинг", "фирма", "завод", "комбинат", "предприятие", "объединение",
        "агентство", "центр", "торговый", "торговая", "торговое", "производственная", "производственный",
        "строительная", "строительный", "транспортная", "управляющая", "инвестиционная", "промышленная",
        "научно", "медицинский", "медицинская", "company", "group", "holding", "international",
    )
)  # fmt: skip
FEDERAL_DISTRICT = {
    "Москва": "Центральный", "Московская область": "Центральный",
    "Санкт-Петербург": "Северо-Западный", "Ленинградская область": "Северо-Западный",
    "Свердловская область": "Уральский", "Челябинская область": "Уральский",
    "Новосибирская область": "Сибирский", "Томская область": "Сибирский",
    "Республика Татарстан": "Приволжский", "Самарская область": "Приволжский", "Нижегородская область": "Приволжский",
    "Краснодарский край": "Южный", "Ростовская область": "Южный",
    "Приморский край": "Дальневосточный", "Хабаровский край": "Дальневосточный",
}  # fmt: skip
# whose e-mail domain is a client's domain: an account's (the domain most of its contacts use), and
# the address a person typed into a lead or form unless it is a known CRM contact's
MAIL_KEY_ENTITIES = frozenset({"accounts", "leads", "web_events"})
TYPED_MAIL_ENTITIES = frozenset({"leads", "web_events"})


@dataclass(frozen=True)
class ClusteringConfig:
    """Thresholds of the clustering."""

    # Splink pairs at or above this probability join records into one legal entity
    match_threshold: float = 0.3
    # a domain seen with more distinct INNs than this is a shared service (a mail host, the
    # supplier's own domain), not a client's: it links nothing
    max_inns_per_domain: int = 12
    # join legal entities whose names start with the same word in the same region
    link_name_stems: bool = True
    # a lead or form alone in its client joins a Splink match at least this probable even when its
    # e-mail domain is another client's (the person writes from a former employer's address)
    name_over_mail_threshold: float = 0.8
    # join legal entities anywhere whose names start with the same distinctive root: one named by at
    # most this many legal entities (see `_root_links`); 0 turns it off
    max_root_entities: int = 8


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


class _NestedClusters:
    """Legal entities nested in clients: a legal-entity union is also a client union, and happens only
    when both levels allow it."""

    def __init__(self, keys, entity_keys, client_keys, cannot_link) -> None:
        self.entities = ConstrainedUnionFind(keys, keys=entity_keys, cannot_link=cannot_link)
        self.clients = ConstrainedUnionFind(keys, keys=client_keys, cannot_link=cannot_link)
        self.accepted: list[tuple[str, str, str, float]] = []

    def same_entity(self, a: str, b: str, evidence: str, probability: float = 1.0) -> bool:
        """Join a and b into one legal entity if both levels allow it; True when they are one now."""
        self.accepted.append((a, b, evidence, probability))
        if self.entities.same(a, b):
            return True
        if not (self.entities.can_union(a, b) and self.clients.can_union(a, b)):
            self.entities.refused += 1
            return False
        self.entities.union(a, b)
        self.clients.union(a, b)
        return True

    def same_client(self, a: str, b: str, evidence: str, force: bool, ignore: tuple[str, ...] = ()) -> None:
        self.accepted.append((a, b, evidence, 1.0))
        if ignore and not self.clients.can_union(a, b, ignore=ignore):
            self.clients.refused += 1
            return
        self.clients.union(a, b, force=force or bool(ignore))


def _client_keys(records: pd.DataFrame) -> dict[str, dict]:
    """What a client may hold once: per name, the INNs of the organisations so named; and its corporate
    domain, from a CRM account's website or its contacts' addresses, or the address typed into a lead
    or form when that address is not a known CRM contact's (see `MAIL_KEY_ENTITIES`)."""
    keys: dict[str, dict] = {}
    for key, name, inn, site, mail, entity, contact in zip(
        records["record_key"],
        py_values(records["name_norm"]),
        py_values(records["inn_norm"]),
        py_values(records["website_domain"]),
        py_values(records["email_domain"]),
        records["entity"],
        py_values(records["contact_account_key"]),
        strict=True,
    ):
        mapping: dict = {}
        if name and inn:
            mapping[("name", name)] = {inn}
        # a known contact's address is that person's; whose person it is, crm_contact says
        domain = site or (mail if entity in MAIL_KEY_ENTITIES and contact is None else None)
        if domain:
            mapping["domain"] = {domain}
            # a holding's subsidiary: its own site named after the brand whose mail its people use
            # ("korvelzan-treid.ru", "korvelzan.ru") is known by both, so it may join the parent;
            # a site and a mail domain that share no root (a person who moved) stay one domain
            if site and mail and mail != site and domain_root(site) == domain_root(mail):
                mapping["domain"].add(mail)
        if mapping:
            keys[key] = mapping
    return keys


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
    if overrides is None:
        overrides = pd.DataFrame(columns=["record_key_a", "record_key_b", "decision"], dtype="str")
    usable = overrides["record_key_a"].isin(known) & overrides["record_key_b"].isin(known)
    if (~usable).any():
        log.warning(
            "%d override pairs name records that do not exist (any more); ignored", int((~usable).sum())
        )
    overrides = overrides[usable]
    must = overrides[overrides["decision"] == "must_match"]
    must_not = list(_pairs(overrides[overrides["decision"] == "must_not_match"]))
    stats: dict[str, int] = {}

    identity = with_tax_identity(records)
    tax_keys = {k: {"tax": {v}} for k, v in zip(keys, identity.tolist(), strict=True) if v is not None}
    nested = _NestedClusters(keys, tax_keys, _client_keys(records), must_not)

    for a, b in _pairs(must):
        if not nested.same_entity(a, b, "override"):
            nested.same_client(a, b, "override", force=True)
    # strongest first; within a kind by key, so that the order of the input decides nothing
    ordered = edges.assign(rank=edges["evidence"].map(EVIDENCE_RANK)).sort_values(
        ["rank", "level", "record_key_a", "record_key_b"], kind="stable"
    )
    for a, b, evidence, level in zip(
        *(ordered[c].tolist() for c in ("record_key_a", "record_key_b", "evidence", "level")), strict=True
    ):
        if level == "client" or not nested.same_entity(a, b, evidence):
            nested.same_client(a, b, evidence, force=evidence in FACT_EVIDENCE)
    strong = pairs[pairs["match_probability"] >= config.match_threshold]
    strong = strong.sort_values(
        ["match_probability", "record_key_a", "record_key_b"], ascending=[False, True, True], kind="stable"
    )
    for a, b, p in zip(
        strong["record_key_a"].tolist(),
        strong["record_key_b"].tolist(),
        strong["match_probability"].tolist(),
        strict=True,
    ):
        nested.same_entity(a, b, "splink", float(p))
    _name_over_mail(nested, records, strong, config.name_over_mail_threshold)

    frame = records.assign(entity_root=[nested.entities.find(k) for k in keys])
    domains = _usable_domains(frame, config, stats)
    votes = domains.assign(
        vote=domains["website_domain"].notna().map({True: WEBSITE_VOTE, False: EMAIL_VOTE})
    )
    entity_domain = _majority(votes, "entity_root", "domain", "vote")
    voted = domains[domains["domain"] == domains["entity_root"].map(entity_domain)]
    _link_by(
        nested, voted, "domain", lambda first, other: "website_domain" if first and other else "email_domain"
    )
    # a holding's companies may each have a site of their own and share the parent's mail: legal
    # entities whose people mostly write from one corporate domain are one client too
    mail = domains[domains["email_domain"].notna()]
    entity_mail = _majority(mail, "entity_root", "email_domain")
    _link_by(nested, mail[mail["email_domain"] == mail["entity_root"].map(entity_mail)], "email_domain",
             lambda first, other: "email_domain")  # fmt: skip
    if config.link_name_stems:
        for a, b in _stem_links(frame):
            nested.same_client(a, b, "name_stem", force=False)
        for a, b in _root_links(nested, frame, config.max_root_entities):
            # a subsidiary's site of its own ("korvelzan-logistik.ru") does not keep it from the
            # parent whose brand it carries, but people writing from another corporate mail domain
            # ("uralgrupp-group.ru" against "uralgrupp.ru") are a namesake's; the namesake and override
            # rules still hold
            mail_a = entity_mail.get(nested.entities.find(a))
            mail_b = entity_mail.get(nested.entities.find(b))
            if mail_a is not None and mail_b is not None and mail_a != mail_b:
                continue
            nested.same_client(a, b, "name_root", force=False, ignore=("domain",))

    stats["legal_entity_unions_refused"] = nested.entities.refused
    stats["client_unions_refused"] = nested.clients.refused
    entity_of = {k: nested.entities.find(k) for k in keys}
    client_of = {k: nested.clients.find(k) for k in keys}
    return ClusteringResult(records=_result(keys, entity_of, client_of, nested.accepted), stats=stats)


def _name_over_mail(
    nested: _NestedClusters, records: pd.DataFrame, strong: pd.DataFrame, threshold: float
) -> None:
    """Second Splink pass for leads and forms still alone in their client whose e-mail domain was
    what kept them out of a confident match (>= `threshold`): people keep the address of a company
    they left, and the company name they type says whom they write for. The record's domain is
    dropped, the union made if everything else allows it."""
    typed = records[
        records["entity"].isin(TYPED_MAIL_ENTITIES)
        & records["website_domain"].isna()
        & records["email_domain"].notna()
    ]
    lone = {k for k in typed["record_key"] if nested.clients.size(k) == 1}
    if not lone:
        return
    confident = strong[
        (strong["match_probability"] >= threshold)
        & (strong["record_key_a"].isin(lone) | strong["record_key_b"].isin(lone))
    ]
    for a, b, p in zip(
        confident["record_key_a"], confident["record_key_b"], confident["match_probability"], strict=True
    ):  # most probable first
        for key, other in ((a, b), (b, a)):
            if key not in lone or nested.clients.size(key) > 1 or nested.clients.same(key, other):
                continue
            allowed = all(
                level.can_union(key, other, ignore=("domain",)) for level in (nested.entities, nested.clients)
            )
            if allowed:
                nested.entities.drop_key(key, "domain")
                nested.clients.drop_key(key, "domain")
                nested.same_entity(key, other, "splink", float(p))


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


def _link_by(nested: _NestedClusters, voted: pd.DataFrame, column: str, evidence) -> None:
    """Join the records sharing a value of `column`: each value's records in key order, the first one
    joined by the others (plain lists: a pandas group per value costs more than the unions).
    `evidence(first_has_site, other_has_site)` names the evidence."""
    voted = voted.sort_values([column, "record_key"], kind="stable")
    first_value, first_key, first_site = None, None, None
    for value, key, site in zip(
        py_values(voted[column]),
        py_values(voted["record_key"]),
        py_values(voted["website_domain"]),
        strict=True,
    ):
        if value != first_value:
            first_value, first_key, first_site = value, key, site
            continue
        nested.same_client(first_key, key, evidence(first_site is not None, site is not None), force=False)


def _root_links(nested: _NestedClusters, frame: pd.DataFrame, max_entities: int) -> list[tuple[str, str]]:
    """Record pairs joining legal entities whose names start with the same distinctive root, wherever
    they are registered, to the one client that holds the root alone: a holding names its companies
    after its brand ("Корвелзан" and "Корвелзан Трейд", "Корвелзан Логистик" elsewhere). A root is
    distinctive when it is at least MIN_ROOT_LETTERS long, not a word every company may start with
    (GENERIC_ROOTS) and names at most `max_entities` legal entities (a holding's size); the rarest
    roots are joined first. Only legal entities known by an INN are joined (a lead naming a company may
    be any namesake's), and only when exactly one client has a company named by the root alone (the
    parent): two such clients are namesakes, and nothing joins them on the name."""
    stems = frame[frame["name_stem"].notna()]
    if stems.empty:
        return []
    bare = stems[stems["name_norm"] == stems["name_stem"]]
    parents: dict[str, dict[str, str]] = {}  # root -> client -> a record named by the root alone
    for stem, key in zip(py_values(bare["name_stem"]), py_values(bare["record_key"]), strict=True):
        parents.setdefault(stem, {}).setdefault(nested.clients.find(key), key)
    entity_stem = _majority(stems, "entity_root", "name_stem")
    carriers = stems[stems["name_stem"] == stems["entity_root"].map(entity_stem)]
    carriers = carriers.sort_values(["name_stem", "entity_root", "record_key"], kind="stable")
    carriers = carriers.drop_duplicates("entity_root")  # one record speaks for its legal entity
    # rarity counts every legal entity of the root; only registered ones (with an INN) are joined
    carriers = carriers.assign(entities=carriers.groupby("name_stem")["entity_root"].transform("size"))
    registered = set(frame.loc[frame["inn_norm"].notna(), "entity_root"])
    carriers = carriers[
        carriers["entity_root"].isin(registered)
        & (carriers["entities"] >= 2)
        & (carriers["entities"] <= max_entities)
        & (carriers["name_stem"].str.len() >= MIN_ROOT_LETTERS)
        & ~carriers["name_stem"].isin(GENERIC_ROOTS)
        & carriers["name_stem"].map(lambda stem: len(parents.get(stem, {})) == 1)
    ]
    carriers = carriers.sort_values(["entities", "name_stem", "record_key"], kind="stable")
    return [
        (next(iter(parents[stem].values())), key)
        for stem, key in zip(py_values(carriers["name_stem"]), py_values(carriers["record_key"]), strict=True)
    ]


def _stem_links(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """Record pairs joining legal entities whose names mostly start with the same word and whose
    records are mostly in the same region (a holding's 'Техносервис' and 'Техносервис Урал')."""
    stems = frame[frame["name_stem"].notna()]
    if stems.empty:
        return []
    entity_stem = _majority(stems, "entity_root", "name_stem")
    regions = frame[frame["region_key"].notna()]
    regions = regions.assign(
        district=regions["region_key"].map(FEDERAL_DISTRICT).fillna(regions["region_key"])
    )
    entity_region = _majority(regions, "entity_root", "district")
    carriers = stems[stems["name_stem"] == stems["entity_root"].map(entity_stem)]
    carriers = carriers.assign(region=carriers["entity_root"].map(entity_region)).dropna(subset=["region"])
    carriers = carriers.sort_values(["name_stem", "region", "entity_root", "record_key"], kind="stable")
    carriers = carriers.drop_duplicates("entity_root")  # one record speaks for its legal entity
    links = []
    group, first = None, None
    for stem, region, key in zip(
        py_values(carriers["name_stem"]),
        py_values(carriers["region"]),
        py_values(carriers["record_key"]),
        strict=True,
    ):  # sorted: each (stem, region) group is a run of rows, its first record joined by the others
        if (stem, region) != group:
            group, first = (stem, region), key
            continue
        links.append((first, key))
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
