"""What a resolution build reuses (resolution.state): when the Splink model is retrained, and the
fingerprint that lets an unchanged build keep the resolved table."""

from __future__ import annotations

import pandas as pd

from resolution import ResolutionConfig
from resolution.linkage import LinkageConfig
from resolution.state import (
    ModelInfo,
    frame_hash,
    info_path,
    inputs_fingerprint,
    new_info,
    settings_hash,
    training_due,
)

RECORDS = pd.DataFrame(
    {
        "record_key": ["accounts:A1", "accounts:A2", "leads:L1"],
        "name": ["ООО Ромашка", "АО Лютик", None],
        "inn": ["7707083893", None, None],
    }
)
MODEL = {"linker_uid": "abc", "probability_two_random_records_match": 0.001, "comparisons": []}


def test_the_fingerprint_ignores_row_order_and_the_splink_linker_uid():
    config = ResolutionConfig()
    first = inputs_fingerprint(RECORDS, None, config, MODEL)
    shuffled = RECORDS.iloc[[2, 0, 1]].reset_index(drop=True)
    assert inputs_fingerprint(shuffled, None, config, MODEL | {"linker_uid": "xyz"}) == first


def test_the_fingerprint_changes_with_a_record_the_overrides_the_config_or_the_model():
    config = ResolutionConfig()
    first = inputs_fingerprint(RECORDS, None, config, MODEL)
    changed = RECORDS.assign(name=["ООО Ромашка", "АО Лютик", "Лютик"])
    overrides = pd.DataFrame(
        {
            "record_key_a": ["accounts:A1"],
            "record_key_b": ["leads:L1"],
            "decision": ["must_match"],
            "note": [""],
        }
    )
    others = [
        inputs_fingerprint(changed, None, config, MODEL),
        inputs_fingerprint(RECORDS.iloc[:2], None, config, MODEL),
        inputs_fingerprint(RECORDS, overrides, config, MODEL),
        inputs_fingerprint(RECORDS, None, ResolutionConfig(excluded_domains=frozenset({"x.ru"})), MODEL),
        inputs_fingerprint(RECORDS, None, config, MODEL | {"probability_two_random_records_match": 0.002}),
    ]
    assert first not in others
    assert len(set(others)) == len(others)


def test_frame_hash_tells_a_missing_value_from_an_empty_frame():
    assert frame_hash(None) != frame_hash(RECORDS.iloc[0:0])
    assert frame_hash(RECORDS) == frame_hash(RECORDS.copy())


def test_the_model_is_trained_when_there_is_none_or_it_is_asked_for(tmp_path):
    config = LinkageConfig()
    info = new_info(config, 1000)
    assert training_due(None, False, 1000, config) == "no saved model"
    assert training_due(info, True, 1000, config, retrain=True) == "retrain asked for"
    assert training_due(info, True, 1000, config) is None


def test_the_model_is_retrained_when_the_records_move_by_more_than_the_share_or_the_settings_change():
    config = LinkageConfig()
    info = new_info(config, 1000)
    assert training_due(info, True, 1100, config) is None
    assert "1000 to 1101" in training_due(info, True, 1101, config)
    assert "1000 to 800" in training_due(info, True, 800, config, retrain_growth=0.1)
    assert training_due(info, True, 1300, config, retrain_growth=0.5) is None
    assert training_due(info, True, 1000, LinkageConfig(seed=7)) == "the model's settings changed"
    assert settings_hash(LinkageConfig(u_max_pairs=1e6)) != settings_hash(config)


def test_model_info_is_written_next_to_the_model_and_read_back(tmp_path):
    model_path = tmp_path / "splink" / "entity_records_model.json"
    info = new_info(LinkageConfig(), 42)
    written = info.write(model_path)
    assert written == info_path(model_path) == tmp_path / "splink" / "entity_records_model.json.info.json"
    assert ModelInfo.read(model_path) == info
    written.write_text("not json", encoding="utf-8")
    assert ModelInfo.read(model_path) is None
