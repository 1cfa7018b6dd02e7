"""The Splink model: trained without labels, deterministic, stored as a table and a JSON file."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from resolution.linkage import LinkageConfig, link_records, match_weights, save_model
from resolution.normalise import RECORD_COLUMNS, normalise_records

STEMS = [
    "Альфа",
    "Бета",
    "Гранит",
    "Кедр",
    "Вектор",
    "Дельта",
    "Оптима",
    "Профи",
    "Сигма",
    "Омега",
    "Зенит",
    "Титан",
]
REGIONS = ["Москва", "Санкт-Петербург", "Свердловская область", "Республика Татарстан"]


def inn_for(i: int) -> str:
    """A valid 10-digit INN: a Moscow body and its check digit."""
    body = f"77{i:07d}"
    check = sum(w * int(d) for w, d in zip((2, 4, 10, 3, 5, 9, 4, 6, 8), body, strict=True)) % 11 % 10
    return body + str(check)


def sample_records() -> pd.DataFrame:
    """Each company as accounting, the CRM and a prospect write it: form, quotes, case, a typo."""
    rows = []
    for i, stem in enumerate(STEMS):
        region = REGIONS[i % len(REGIONS)]
        for j, name in enumerate(
            [f'ООО "{stem}техника"', f"{stem}техника LLC", f"{stem.lower()}техника", f"{stem}техинка"]
        ):
            rows.append(
                {
                    "record_key": f"accounts:A{i:02d}{j}",
                    "source": "crm",
                    "entity": "accounts",
                    "record_id": f"A{i:02d}{j}",
                    "name": name,
                    "region": region if j != 2 else None,
                    "phone": f"+7 (495) 100-{i:02d}-0{j % 2}",
                    "inn": inn_for(i) if j < 2 else None,
                }
            )
    frame = pd.DataFrame([{**dict.fromkeys(RECORD_COLUMNS), **row} for row in rows])
    return normalise_records(frame)


@pytest.fixture(scope="module")
def linked():
    return link_records(sample_records(), LinkageConfig(u_max_pairs=1e4))


def test_pairs_are_ordered_unique_and_probabilities(linked):
    pairs = linked.pairs
    assert (pairs["record_key_a"] < pairs["record_key_b"]).all()
    assert not pairs.duplicated(["record_key_a", "record_key_b"]).any()
    assert pairs["match_probability"].between(0, 1).all()


def test_variants_of_one_name_score_higher_than_different_companies(linked):
    pairs = linked.pairs
    company = pairs["record_key_a"].str[10:12] == pairs["record_key_b"].str[10:12]
    same = pairs.loc[company, "match_probability"]
    different = pairs.loc[~company, "match_probability"]
    assert same.median() > 0.5
    assert different.empty or different.max() < same.median()


def test_the_same_records_give_the_same_model_and_scores(linked):
    again = link_records(sample_records(), LinkageConfig(u_max_pairs=1e4))
    pd.testing.assert_frame_equal(again.pairs, linked.pairs)
    assert match_weights(again.model).equals(match_weights(linked.model))


def test_a_saved_model_scores_without_training(linked, tmp_path):
    path = save_model(linked.model, tmp_path / "splink" / "model.json")
    model = json.loads(path.read_text(encoding="utf-8"))
    applied = link_records(sample_records(), model=model)
    pd.testing.assert_frame_equal(applied.pairs, linked.pairs)


def test_match_weights_have_the_prior_and_every_comparison_level(linked):
    weights = match_weights(linked.model)
    assert weights["comparison"].iloc[0] == "prior"
    assert {"name_norm", "inn_norm", "region_key", "phone_norm", "legal_form"} <= set(weights["comparison"])
    assert weights["comparison_level"].str.contains("Damerau-Levenshtein").any()
    levels = weights.iloc[1:]
    assert (levels["bayes_factor"] - levels["m_probability"] / levels["u_probability"]).abs().max() < 1e-9
    assert levels.loc[levels["comparison"] == "name_norm", "has_term_frequency_adjustment"].any()


def test_fewer_than_two_records_give_no_pairs():
    one = sample_records().head(1)
    assert link_records(one).pairs.empty


def test_a_pair_cache_scores_again_only_what_can_have_changed_and_gives_the_same_pairs(linked):
    records = sample_records()
    earlier = records.drop(index=[0, 5]).copy()  # two records new since, one renamed since
    earlier.loc[9, "name_norm"] = earlier.loc[9, "name_norm"] + "о"
    cache = link_records(earlier, model=linked.model).cache
    assert cache is not None and len(cache.pairs)

    from_scratch = link_records(records, model=linked.model)
    incremental = link_records(records, model=linked.model, cache=cache)
    pd.testing.assert_frame_equal(incremental.pairs, from_scratch.pairs)
    assert from_scratch.rescored is None
    assert 0 < incremental.rescored < len(incremental.pairs)
    assert incremental.cache.key == cache.key


def test_a_pair_cache_of_another_model_is_not_used(linked):
    records = sample_records()
    cache = link_records(records, model=linked.model).cache
    other = json.loads(json.dumps(linked.model))
    other["probability_two_random_records_match"] *= 2
    again = link_records(records, model=other, cache=cache)
    assert again.rescored is None
    assert again.cache.key != cache.key


def test_records_that_share_nothing_get_a_floor_prior_and_no_pairs():
    """A company whose accounting has no duplicate counterparties: no two records share a tax number
    or a name; the prior cannot be estimated (it would be 0, and Splink's match weights undefined),
    so it is floored, and nothing is linked."""
    rows = [
        {
            **dict.fromkeys(RECORD_COLUMNS),
            "record_key": f"counterparties:C{i}",
            "source": "finance",
            "entity": "counterparties",
            "record_id": f"C{i}",
            "name": f"ООО «{stem}пром»",
            "inn": inn_for(i),
            "region": REGIONS[i % len(REGIONS)],
        }
        for i, stem in enumerate(STEMS)
    ]
    result = link_records(normalise_records(pd.DataFrame(rows)))
    prior = result.model["probability_two_random_records_match"]
    n = len(STEMS)
    assert prior == pytest.approx(min(0.0005, 2 / (n * (n - 1))))
    assert result.pairs.empty or (result.pairs["match_probability"] < 0.3).all()
    assert match_weights(result.model)["match_weight"].iloc[0] < 0
