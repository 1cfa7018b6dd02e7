"""Deterministic evidence between entity records: tax numbers and the links the CRM and the web form keep.

Each function returns edges: a DataFrame with `record_key_a`, `record_key_b`, `evidence` and `level`
('legal_entity' when the two records are the same organisation, 'client' when they only belong to
the same client). Evidence kinds, strongest first, are in `EVIDENCE_ORDER`.
"""

from __future__ import annotations

from difflib import SequenceMatcher

import pandas as pd

from resolution.normalise import is_branch_kpp, py_values

# Strongest first. A record's `match_evidence` is the first of these that links it to another record
# of its client; 'singleton' when its client has no other record.
EVIDENCE_ORDER: tuple[str, ...] = (
    "override",  # a pair in the manual override file
    "inn",  # the same valid INN (and KPP for branches)
    "crm_conversion",  # a lead converted into this CRM account
    "web_form_lead",  # a web form that created this lead
    "crm_contact",  # the lead or form came from the e-mail of an active CRM contact of this account
    "crm_parent",  # a CRM account's parent account
    "finance_deal",  # accounting tied the counterparty's invoices to a deal of this CRM account
    "website_domain",  # the same corporate website
    "email_domain",  # the same corporate e-mail domain
    "splink",  # a probabilistic match of names, region, phone and tax number
    "name_stem",  # the same first word of the name in the same region, between legal entities
    "name_root",  # the same distinctive first word (a brand few legal entities carry), anywhere
    "singleton",
)
EVIDENCE_RANK = {name: i for i, name in enumerate(EVIDENCE_ORDER)}
# Evidence taken as fact: it joins clients even against the inferred constraints (one domain per
# client, no namesakes with different INNs). The rest only joins what the constraints allow.
FACT_EVIDENCE = frozenset(
    {"override", "inn", "crm_conversion", "web_form_lead", "crm_parent", "finance_deal"}
)
EDGE_COLUMNS = ["record_key_a", "record_key_b", "evidence", "level"]
# what `linked_record_key` means, by the record's entity
LINK_EVIDENCE = {"leads": "crm_conversion", "web_events": "web_form_lead", "counterparties": "finance_deal"}


def empty_edges() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in EDGE_COLUMNS})


def tax_identity(inn: str | None, inn_kind: str | None, kpp: str | None) -> str | None:
    """Who a record is for the tax office: its INN, plus the KPP for a branch (reason code 43).

    Branches share the head organisation's INN and are separate legal entities with their own KPP;
    a record with an INN and no KPP is taken to be the head.
    """
    if not inn:
        return None
    if inn_kind == "organisation" and kpp and is_branch_kpp(kpp):
        return f"{inn}|{kpp}"
    return inn


def with_tax_identity(records: pd.DataFrame) -> pd.Series:
    """`tax_identity` of every normalised record, as a Series aligned with `records`."""
    return pd.Series(
        [
            tax_identity(i, k, p)
            for i, k, p in zip(
                py_values(records["inn_norm"]),
                py_values(records["inn_kind"]),
                py_values(records["kpp_norm"]),
                strict=True,
            )
        ],
        index=records.index,
        dtype="object",
    )


def _star_edges(keys: pd.Series, groups: pd.Series, evidence: str, level: str) -> pd.DataFrame:
    """Edges from the first record of each group (by key) to every other record of it."""
    frame = pd.DataFrame({"key": keys.to_numpy(), "group": groups.to_numpy()}).dropna()
    frame = frame.sort_values(["group", "key"], kind="stable")
    first = frame.groupby("group")["key"].transform("first")
    edges = pd.DataFrame({"record_key_a": first, "record_key_b": frame["key"]})
    edges = edges[edges["record_key_a"] != edges["record_key_b"]]
    return edges.assign(evidence=evidence, level=level)[EDGE_COLUMNS]


def tax_number_edges(records: pd.DataFrame) -> pd.DataFrame:
    """Records with the same tax identity are one legal entity; the same INN under different KPPs
    (a head and its branches) is one client."""
    identity = with_tax_identity(records)
    same_entity = _star_edges(records["record_key"], identity, "inn", "legal_entity")
    # one representative record per identity, linked across identities sharing the INN
    reps = pd.DataFrame({"key": records["record_key"], "identity": identity, "inn": records["inn_norm"]})
    reps = reps.dropna().sort_values("key", kind="stable").drop_duplicates("identity")
    same_client = _star_edges(reps["key"], reps["inn"], "inn", "client")
    return pd.concat([same_entity, same_client], ignore_index=True)


def names_compatible(a: str | None, b: str | None, min_ratio: float = 0.8) -> bool:
    """Could two normalised names be one organisation's? True when either is missing, they share
    their first word, or they differ by little more than typos."""
    if not a or not b:
        return True
    if a.split(" ", 1)[0] == b.split(" ", 1)[0]:
        return True
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= min_ratio


def link_edges(records: pd.DataFrame) -> pd.DataFrame:
    """Links the sources keep: a converted lead's account, the lead a web form created, the account
    whose active contact wrote a lead or form (all about the same organisation), a CRM account's
    parent and the account of the deals a counterparty's invoices name (the same client)."""
    known = set(records["record_key"])
    out = []
    linked = records[records["linked_record_key"].isin(known)]
    kind = linked["entity"].map(LINK_EVIDENCE).fillna("crm_link")
    out.append(
        pd.DataFrame(
            {
                "record_key_a": linked["record_key"],
                "record_key_b": linked["linked_record_key"],
                "evidence": kind,
                # a deal's account may be another company of the buyer's holding
                "level": kind.map({"finance_deal": "client"}).fillna("legal_entity"),
            }
        )
    )
    # The address (corporate or a free mailbox: an address is one person's either way) belongs to an
    # active contact of exactly one account (int_entity_records). A person who moved keeps the old
    # address at the new account, or writes for a sister company: the names must agree as well.
    contacted = records[records["contact_account_key"].isin(known)]
    name_of = dict(zip(records["record_key"], py_values(records["name_norm"]), strict=True))
    agree = [
        names_compatible(name_of[a], name_of[b])
        for a, b in zip(contacted["record_key"], contacted["contact_account_key"], strict=True)
    ]
    contacted = contacted[pd.Series(agree, index=contacted.index, dtype="bool")]
    out.append(
        pd.DataFrame(
            {
                "record_key_a": contacted["record_key"],
                "record_key_b": contacted["contact_account_key"],
                "evidence": "crm_contact",
                "level": "legal_entity",
            }
        )
    )
    parented = records[records["parent_record_key"].isin(known)]
    out.append(
        pd.DataFrame(
            {
                "record_key_a": parented["record_key"],
                "record_key_b": parented["parent_record_key"],
                "evidence": "crm_parent",
                "level": "client",
            }
        )
    )
    edges = pd.concat(out, ignore_index=True)
    return edges[edges["record_key_a"] != edges["record_key_b"]][EDGE_COLUMNS].reset_index(drop=True)


def deterministic_edges(records: pd.DataFrame) -> pd.DataFrame:
    """All record-level deterministic edges of normalised records (see `normalise_records`)."""
    edges = pd.concat([tax_number_edges(records), link_edges(records)], ignore_index=True)
    return edges.astype({c: "str" for c in EDGE_COLUMNS}).reset_index(drop=True)
