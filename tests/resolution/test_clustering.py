"""Deterministic evidence and clustering into legal entities and clients, on hand-made records."""

from __future__ import annotations

import pandas as pd
import pytest

from resolution.clustering import ClusteringConfig, cluster_records
from resolution.evidence import deterministic_edges, names_compatible, tax_identity
from resolution.normalise import RECORD_COLUMNS, normalise_records
from resolution.overrides import empty_overrides

# valid INNs (check digits)
INN_A, INN_B, INN_C = "7707083893", "7736050003", "7702070139"


def make_records(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame([{**dict.fromkeys(RECORD_COLUMNS), **row} for row in rows])
    frame["source"] = (
        frame["record_key"]
        .str.split(":")
        .str[0]
        .map({"counterparties": "finance", "accounts": "crm", "leads": "crm", "web_events": "web"})
    )
    frame["entity"] = frame["record_key"].str.split(":").str[0]
    frame["record_id"] = frame["record_key"].str.split(":").str[1]
    return normalise_records(frame)


def pairs(*scored: tuple[str, str, float]) -> pd.DataFrame:
    rows = [(min(a, b), max(a, b), p, 0.0) for a, b, p in scored]
    return pd.DataFrame(rows, columns=["record_key_a", "record_key_b", "match_probability", "match_weight"])


def cluster(
    records: pd.DataFrame, scored: pd.DataFrame | None = None, overrides=None, **config
) -> pd.DataFrame:
    scored = scored if scored is not None else pairs()
    result = cluster_records(
        records, deterministic_edges(records), scored, overrides, ClusteringConfig(**config)
    )
    return result.records.set_index("record_key")


def same(out: pd.DataFrame, level: str, *keys: str) -> bool:
    return out.loc[list(keys), f"{level}_key"].nunique() == 1


def test_records_with_the_same_inn_are_one_legal_entity():
    records = make_records(
        {"record_key": "counterparties:K1", "name": 'ООО "Альфа"', "inn": INN_A, "kpp": "770101001"},
        {"record_key": "accounts:A1", "name": "Alfa LLC", "inn": INN_A},
    )
    out = cluster(records)
    assert same(out, "legal_entity", "counterparties:K1", "accounts:A1")
    assert set(out["match_evidence"]) == {"inn"}
    assert set(out["match_probability"]) == {1.0}


def test_a_branch_shares_the_inn_but_is_a_legal_entity_of_its_own_in_the_same_client():
    assert tax_identity(INN_A, "organisation", "770143001") == f"{INN_A}|770143001"
    records = make_records(
        {"record_key": "counterparties:K1", "name": "ООО Альфа", "inn": INN_A, "kpp": "770101001"},
        {"record_key": "counterparties:K2", "name": "ООО Альфа", "inn": INN_A, "kpp": "500143001"},
    )
    out = cluster(records)
    assert not same(out, "legal_entity", "counterparties:K1", "counterparties:K2")
    assert same(out, "client", "counterparties:K1", "counterparties:K2")


def test_a_crm_parent_link_joins_two_legal_entities_into_one_client():
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A},
        {"record_key": "accounts:A2", "name": "ООО Бета", "inn": INN_B, "parent_record_key": "accounts:A1"},
    )
    out = cluster(records)
    assert same(out, "client", "accounts:A1", "accounts:A2")
    assert not same(out, "legal_entity", "accounts:A1", "accounts:A2")
    assert out.loc["accounts:A2", "match_evidence"] == "crm_parent"


def test_a_shared_corporate_website_joins_clients_and_a_free_mailbox_does_not():
    records = make_records(
        {
            "record_key": "accounts:A1",
            "name": "ООО Альфа",
            "inn": INN_A,
            "website": "https://www.alfa-group.ru",
        },
        {"record_key": "accounts:A2", "name": "ООО Бета", "inn": INN_B, "website": "alfa-group.ru/contacts"},
        {"record_key": "leads:L1", "name": "Гамма", "email": "ivanov@mail.ru"},
        {"record_key": "leads:L2", "name": "Дельта", "email": "petrov@mail.ru"},
    )
    out = cluster(records)
    assert same(out, "client", "accounts:A1", "accounts:A2")
    assert out.loc["accounts:A2", "match_evidence"] == "website_domain"
    assert not same(out, "client", "leads:L1", "leads:L2")
    assert out.loc["leads:L1", "match_evidence"] == "singleton"


def test_a_lead_converted_into_an_account_is_that_legal_entity():
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A},
        {"record_key": "leads:L1", "name": "альфа", "linked_record_key": "accounts:A1"},
        {"record_key": "web_events:E1", "name": "альфа", "linked_record_key": "leads:L1"},
    )
    out = cluster(records)
    assert same(out, "legal_entity", "accounts:A1", "leads:L1", "web_events:E1")
    assert out.loc["leads:L1", "match_evidence"] == "crm_conversion"
    assert out.loc["web_events:E1", "match_evidence"] == "web_form_lead"


def test_splink_pairs_join_only_at_or_above_the_threshold():
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A, "region": "Москва"},
        {"record_key": "leads:L1", "name": "Alfa", "region": "Moscow"},
        {"record_key": "leads:L2", "name": "Альфа", "region": "Тверь"},
    )
    scored = pairs(("accounts:A1", "leads:L1", 0.97), ("accounts:A1", "leads:L2", 0.1))
    out = cluster(records, scored, match_threshold=0.5)
    assert same(out, "legal_entity", "accounts:A1", "leads:L1")
    assert not same(out, "client", "accounts:A1", "leads:L2")
    assert out.loc["leads:L1", "match_evidence"] == "splink"
    assert out.loc["leads:L1", "match_probability"] == pytest.approx(0.97)


def test_a_record_matching_two_namesakes_with_different_inns_joins_only_one():
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A},
        {"record_key": "accounts:A2", "name": "ООО Альфа", "inn": INN_B},
        {"record_key": "leads:L1", "name": "Альфа"},
    )
    scored = pairs(
        ("accounts:A1", "leads:L1", 0.9),
        ("accounts:A2", "leads:L1", 0.8),
        ("accounts:A1", "accounts:A2", 0.9),
    )
    out = cluster(records, scored)
    assert same(out, "client", "accounts:A1", "leads:L1")
    assert not same(out, "client", "accounts:A1", "accounts:A2")


def test_namesakes_in_one_region_are_not_joined_by_their_shared_first_word():
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A, "region": "Москва"},
        {"record_key": "accounts:A2", "name": "ООО Альфа", "inn": INN_B, "region": "Москва"},
        {"record_key": "accounts:A3", "name": "ООО Альфа Плюс", "inn": INN_C, "region": "Москва"},
    )
    out = cluster(records)
    assert not same(out, "client", "accounts:A1", "accounts:A2")
    # the holding's other company with the same first word joins one of them
    assert out.loc[["accounts:A1", "accounts:A2", "accounts:A3"], "client_key"].nunique() == 2


def test_a_person_who_moved_and_kept_an_old_address_does_not_merge_two_clients():
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A, "website": "alfa.ru"},
        {"record_key": "leads:L1", "name": "Альфа", "email": "a.ivanov@alfa.ru"},
        {"record_key": "accounts:B1", "name": "ООО Бета", "inn": INN_B, "website": "beta.ru"},
        {"record_key": "leads:L2", "name": "Бета", "email": "p.petrov@beta.ru"},
        # Ivanov now works at Beta and writes from his old Alfa address
        {"record_key": "web_events:E1", "name": "ООО Бета", "email": "a.ivanov@alfa.ru"},
    )
    scored = pairs(("accounts:B1", "web_events:E1", 0.95), ("leads:L2", "web_events:E1", 0.9))
    out = cluster(records, scored)
    assert not same(out, "client", "accounts:A1", "accounts:B1")
    # the name he typed, confidently matched, wins over the old address
    assert same(out, "legal_entity", "accounts:B1", "web_events:E1")
    # a doubtful match does not: the form stays with the address's client
    out = cluster(records, pairs(("accounts:B1", "web_events:E1", 0.5)))
    assert not same(out, "client", "accounts:B1", "web_events:E1")
    assert same(out, "client", "accounts:A1", "web_events:E1")


def test_the_address_still_chooses_between_namesakes():
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A, "website": "alfa.ru"},
        {"record_key": "accounts:A2", "name": "ООО Альфа", "inn": INN_B, "website": "alfa-nn.ru"},
        {"record_key": "leads:L1", "name": "Альфа", "email": "i.petrov@alfa-nn.ru"},
    )
    scored = pairs(("accounts:A1", "leads:L1", 0.9), ("accounts:A2", "leads:L1", 0.9))
    out = cluster(records, scored)
    assert same(out, "legal_entity", "accounts:A2", "leads:L1")
    assert not same(out, "client", "accounts:A1", "leads:L1")


def test_an_accounts_domain_comes_from_its_contacts_when_it_has_no_website():
    records = make_records(
        # the holding's company: no website, its contacts write from the holding's domain
        {
            "record_key": "accounts:A1",
            "name": "ООО Агрохолдинг",
            "inn": INN_A,
            "email": "a.ivanova@kroninvest.ru b.petrov@kroninvest.ru c.sidorov@mail.ru",
        },
        # a namesake of another group
        {"record_key": "accounts:A2", "name": "ООО Агрохолдинг", "inn": INN_B, "website": "agrokholding.ru"},
        {"record_key": "leads:L1", "name": "Агрохолдинг", "email": "d.orlov@agrokholding.ru"},
    )
    scored = pairs(("accounts:A1", "leads:L1", 0.9), ("accounts:A2", "leads:L1", 0.85))
    out = cluster(records, scored)
    assert same(out, "legal_entity", "accounts:A2", "leads:L1")
    assert not same(out, "client", "accounts:A1", "leads:L1")


def test_a_known_contacts_old_address_does_not_keep_the_lead_from_the_contacts_account():
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Стальпром", "inn": INN_A, "website": "stalprom.ru"},
        {"record_key": "accounts:D1", "name": "ООО Дельтапром", "inn": INN_B, "website": "deltaprom.ru"},
        # Saveleva is an active contact of Stalprom who still writes from her Deltaprom address
        {
            "record_key": "leads:L1",
            "name": "Стальпром",
            "email": "m.saveleva@deltaprom.ru",
            "contact_account_key": "accounts:A1",
        },
    )
    out = cluster(records)
    assert same(out, "legal_entity", "accounts:A1", "leads:L1")
    assert out.loc["leads:L1", "match_evidence"] == "crm_contact"
    assert not same(out, "client", "accounts:D1", "leads:L1")


def test_a_contact_link_needs_agreeing_names_and_any_address_of_the_contact():
    assert names_compatible("альфа плюс", "альфа")
    assert names_compatible("техносервис", "техносрвис")
    assert not names_compatible("ресурскомплект", "бизнесалянс юг")
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A},
        {
            "record_key": "web_events:E1",
            "name": "Альфа",
            "email": "i@alfa.ru",
            "contact_account_key": "accounts:A1",
        },
        {
            "record_key": "web_events:E2",
            "name": "Гамма",
            "email": "j@alfa.ru",
            "contact_account_key": "accounts:A1",
        },
        {
            "record_key": "web_events:E3",
            "name": "Альфа",
            "email": "k@gmail.com",
            "contact_account_key": "accounts:A1",
        },
    )
    edges = deterministic_edges(records)
    contact = edges[edges["evidence"] == "crm_contact"]
    # a free mailbox is one person's too: the contact's own address, whatever the host
    assert contact["record_key_a"].tolist() == ["web_events:E1", "web_events:E3"]


def test_overrides_win_over_evidence_both_ways():
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A, "website": "alfa.ru"},
        {"record_key": "accounts:A2", "name": "ООО Бета", "inn": INN_B, "website": "alfa.ru"},
        {"record_key": "accounts:A3", "name": "ООО Гамма", "inn": INN_C},
    )
    overrides = pd.concat(
        [
            empty_overrides(),
            pd.DataFrame(
                [
                    ("accounts:A1", "accounts:A2", "must_not_match", "two companies, one web agency"),
                    ("accounts:A1", "accounts:A3", "must_match", "same holding per the contract"),
                ],
                columns=["record_key_a", "record_key_b", "decision", "note"],
            ),
        ]
    )
    out = cluster(records, overrides=overrides)
    assert not same(out, "client", "accounts:A1", "accounts:A2")
    assert same(out, "client", "accounts:A1", "accounts:A3")
    # different INNs: one client, still two legal entities
    assert not same(out, "legal_entity", "accounts:A1", "accounts:A3")
    assert out.loc["accounts:A3", "match_evidence"] == "override"


def test_overrides_naming_unknown_records_are_ignored():
    records = make_records({"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A})
    overrides = pd.DataFrame(
        [("accounts:A1", "accounts:GONE", "must_match", "")],
        columns=["record_key_a", "record_key_b", "decision", "note"],
    )
    out = cluster(records, overrides=overrides)
    assert out.loc["accounts:A1", "match_evidence"] == "singleton"


def test_a_domain_shared_by_many_inns_links_nothing():
    rows = [
        {"record_key": f"accounts:A{i}", "name": f"ООО Компания {i}", "inn": inn, "website": "hosting.ru"}
        for i, inn in enumerate([INN_A, INN_B, INN_C])
    ]
    out = cluster(make_records(*rows), max_inns_per_domain=2)
    assert out["client_key"].nunique() == 3


def test_the_order_of_the_records_decides_nothing():
    # two forms of one lead, each from a contact of another account: only one account can have them
    records = make_records(
        {"record_key": "accounts:A1", "name": "ООО Альфа", "inn": INN_A, "website": "alfa.ru"},
        {"record_key": "accounts:A2", "name": "ООО Альфа Плюс", "inn": INN_B, "website": "alfa-plus.ru"},
        {"record_key": "leads:L1", "name": "Альфа"},
        {
            "record_key": "web_events:E1",
            "name": "Альфа",
            "email": "i@alfa.ru",
            "linked_record_key": "leads:L1",
            "contact_account_key": "accounts:A1",
        },
        {
            "record_key": "web_events:E2",
            "name": "Альфа",
            "email": "j@alfa-plus.ru",
            "linked_record_key": "leads:L1",
            "contact_account_key": "accounts:A2",
        },
    )
    forward = cluster(records)
    backward = cluster(records.iloc[::-1].reset_index(drop=True))
    pd.testing.assert_frame_equal(forward.sort_index(), backward.sort_index())
    assert not same(forward, "client", "accounts:A1", "accounts:A2")


# ------------------------------------------------------------------ holdings
INN_D = "7704211201"


def test_a_subsidiary_with_its_own_site_and_the_parents_mail_joins_the_parent_elsewhere():
    """ "Корвелзан Трейд" in Yekaterinburg has its own website and no CRM parent link; its people write
    from the parent's domain. One client, two legal entities."""
    records = make_records(
        {"record_key": "accounts:P", "name": "АО «Корвелзан»", "inn": INN_A, "region": "Москва",
         "website": "https://korvelzan.ru", "email": "a@korvelzan.ru b@korvelzan.ru"},
        {"record_key": "accounts:S", "name": "ООО Корвелзан Трейд", "inn": INN_B,
         "region": "Свердловская область", "website": "www.korvelzan-treid.ru", "email": "c@korvelzan.ru"},
    )  # fmt: skip
    out = cluster(records)
    assert same(out, "client", "accounts:P", "accounts:S")
    assert not same(out, "legal_entity", "accounts:P", "accounts:S")


def test_a_subsidiary_known_only_to_accounting_joins_by_the_distinctive_root_of_its_name():
    records = make_records(
        {"record_key": "counterparties:P", "name": "АО «Корвелзан»", "inn": INN_A, "region": "Москва"},
        {"record_key": "counterparties:S", "name": "ООО «Корвелзан Логистик»", "inn": INN_B,
         "region": "Приморский край"},
    )  # fmt: skip
    assert same(cluster(records), "client", "counterparties:P", "counterparties:S")
    # a root most companies start with is a word, not a brand: nothing joins on it
    generic = make_records(
        {"record_key": "counterparties:P", "name": "ООО Компания Альфа", "inn": INN_A, "region": "Москва"},
        {"record_key": "counterparties:S", "name": "ООО Компания Бета", "inn": INN_B, "region": "Приморский край"},
    )  # fmt: skip
    assert not same(cluster(generic), "client", "counterparties:P", "counterparties:S")
    # the rule can be turned off
    assert not same(cluster(records, max_root_entities=0), "client", "counterparties:P", "counterparties:S")


def test_a_namesake_whose_people_write_from_another_corporate_domain_is_not_joined_by_the_root():
    """ "Уралгрупп Рег." in Khabarovsk writes from uralgrupp-group.ru, "Уралгрупп" from uralgrupp.ru:
    a namesake, not a subsidiary (whose people would write from the parent's mail)."""
    parent = {
        "record_key": "accounts:P",
        "name": "ООО «Уралгрупп»",
        "inn": INN_A,
        "region": "Свердловская область",
    }
    namesake = {
        "record_key": "accounts:N",
        "name": "ООО Уралгрупп Рег.",
        "inn": INN_B,
        "region": "Хабаровский край",
    }
    records = make_records(
        parent | {"email": "a@uralgrupp.ru b@uralgrupp.ru"},
        namesake | {"email": "c@uralgrupp-group.ru d@uralgrupp-group.ru"},
    )
    assert not same(cluster(records), "client", "accounts:P", "accounts:N")
    # the same companies without mail: the root joins them
    assert same(cluster(make_records(parent, namesake)), "client", "accounts:P", "accounts:N")


def test_two_companies_that_only_share_a_root_stay_apart_when_both_carry_it_alone():
    """Namesakes with different INNs are never one client; "Торглайн Урал" cannot bridge them."""
    records = make_records(
        {"record_key": "counterparties:A", "name": "ООО «Торглайн»", "inn": INN_A, "region": "Москва"},
        {"record_key": "counterparties:B", "name": "ООО «Торглайн»", "inn": INN_B, "region": "Приморский край"},
        {"record_key": "counterparties:C", "name": "ООО «Торглайн Урал»", "inn": INN_C,
         "region": "Свердловская область"},
    )  # fmt: skip
    out = cluster(records)
    assert not same(out, "client", "counterparties:A", "counterparties:B")


def test_a_person_who_moved_does_not_bridge_two_clients_by_the_old_mail_domain():
    """The only contact of Рилвисфел's account still writes from lesenergo.com: the account keeps its
    own site's domain, and Лесэнерго's client stays another."""
    records = make_records(
        {"record_key": "accounts:R", "name": "АО «Рилвисфел»", "inn": INN_A, "region": "Москва",
         "website": "rilvisfel.ru", "email": "kiseleva@lesenergo.com"},
        {"record_key": "accounts:L", "name": "ООО «Лесэнерго»", "inn": INN_B, "region": "Москва",
         "website": "lesenergo.com", "email": "voronin@lesenergo.com bykov@lesenergo.com"},
    )  # fmt: skip
    assert not same(cluster(records), "client", "accounts:R", "accounts:L")
