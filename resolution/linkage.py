"""Probabilistic linkage of entity records with Splink 5 on DuckDB: same legal entity or not.

The model compares normalised names (exact with term-frequency adjustment so that a common name counts
for less, then Jaro-Winkler bands with a level for a one-letter typo), tax numbers, regions (the stated
one, else a landline's area code), phones and legal forms. It is trained
without labels: u probabilities from random pairs (seeded), m probabilities by expectation
maximisation within blocks of equal names and of equal tax numbers; the warehouse retrains it only
when it is due and otherwise applies the saved model (see `state`). Every comparison
starts from hand-set m and u values, so a data set too small to train still gets a usable model.

Corporate domains are not compared here: two companies of one holding share a domain without being
one legal entity. Domains link legal entities into clients in `clustering`.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

SPLINK_INPUT_COLUMNS: tuple[str, ...] = (
    "name_norm",
    "name_stem",
    "legal_form",
    "inn_norm",
    "region_key",
    "phone_norm",
    "domain",
)
PAIR_COLUMNS = ["record_key_a", "record_key_b", "match_probability", "match_weight"]
MATCH_WEIGHT_COLUMNS = [
    "comparison",
    "comparison_level",
    "sql_condition",
    "m_probability",
    "u_probability",
    "bayes_factor",
    "match_weight",
    "has_term_frequency_adjustment",
]


@dataclass(frozen=True)
class LinkageConfig:
    """How the Splink model is trained and applied."""

    seed: int = 42
    # random pairs for u probabilities; more is steadier and slower
    u_max_pairs: float = 2e6
    # pairs scored below this probability are not kept (clustering uses a higher threshold)
    keep_pairs_above: float = 0.01
    # share of true matching pairs the deterministic rules are assumed to find (for the prior)
    deterministic_recall: float = 0.6
    # where Splink runs: duckdb (in this process), or spark (the process's SparkSession, for more
    # records than one machine pairs; resolution/spark_backend.py). A model is trained per backend.
    backend: str = "duckdb"


def _comparisons(backend: str = "duckdb") -> list:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    jaro_winkler = "jaro_winkler" if backend == "spark" else "jaro_winkler_similarity"

    name = cl.CustomComparison(
        output_column_name="name_norm",
        comparison_levels=[
            cll.NullLevel("name_norm"),
            cll.ExactMatchLevel("name_norm").configure(tf_adjustment_column="name_norm"),
            cll.JaroWinklerLevel("name_norm", 0.95),
            # one letter typed wrong, left out, added or two swapped: "Торшснаб" for "Торгснаб"
            # (such names of three letters or more are >= 0.8 Jaro-Winkler: the cheap test first spares
            # the edit distance on the millions of random pairs u is estimated on)
            cll.CustomLevel(
                f"case when {jaro_winkler}(name_norm_l, name_norm_r) >= 0.8 "
                "then damerau_levenshtein(name_norm_l, name_norm_r) <= 1 else false end",
                label_for_charts="Damerau-Levenshtein distance of name_norm <= 1",
            ),
            cll.JaroWinklerLevel("name_norm", 0.9),
            cll.JaroWinklerLevel("name_norm", 0.8),
            cll.ElseLevel(),
        ],
    ).configure(
        m_probabilities=[0.75, 0.12, 0.04, 0.03, 0.04, 0.02],
        u_probabilities=[0.001, 0.0005, 0.0003, 0.002, 0.01, 0.9862],
    )
    return [
        name,
        cl.ExactMatch("inn_norm").configure(m_probabilities=[0.95, 0.05], u_probabilities=[0.0005, 0.9995]),
        cl.ExactMatch("region_key").configure(m_probabilities=[0.9, 0.1], u_probabilities=[0.12, 0.88]),
        cl.ExactMatch("phone_norm").configure(m_probabilities=[0.15, 0.85], u_probabilities=[0.0001, 0.9999]),
        cl.ExactMatch("legal_form").configure(m_probabilities=[0.95, 0.05], u_probabilities=[0.5, 0.5]),
    ]


def _prediction_blocking_rules() -> list:
    from splink import block_on

    return [
        block_on("name_norm"),
        block_on("name_stem"),
        block_on("inn_norm"),
        block_on("domain"),
        block_on("phone_norm"),
        # a typo in the first word still leaves its start and the region, or its start and end,
        # or its first letter and last four
        block_on("substr(name_norm, 1, 4)", "region_key"),
        block_on("substr(name_norm, 1, 3)", "substr(name_norm, -3)"),
        block_on("substr(name_norm, 1, 1)", "substr(name_norm, -4)"),
    ]


DEFAULT_PRIOR = 0.0005  # probability two random records match, before training


def linkage_settings(seed: int = 42, *, prior: float = DEFAULT_PRIOR, backend: str = "duckdb"):
    """The Splink settings (a `SettingsCreator`) of the entity-record model."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=_comparisons(backend),
        blocking_rules_to_generate_predictions=_prediction_blocking_rules(),
        probability_two_random_records_match=prior,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=25,
        em_convergence=0.0001,
    )


def _splink_input(records: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("record_key", *SPLINK_INPUT_COLUMNS) if c not in records.columns]
    if missing:
        raise KeyError(f"linkage needs normalised records; missing columns {missing} (see normalise_records)")
    frame = records[["record_key", *SPLINK_INPUT_COLUMNS]].copy()
    return frame.astype({c: "str" for c in frame.columns}).sort_values("record_key", kind="stable")


def _linker(frame: pd.DataFrame, settings, backend: str = "duckdb"):
    from splink import DuckDBAPI, Linker

    if backend == "spark":
        from resolution.spark_backend import spark_api

        db_api = spark_api()
        return Linker(db_api.register(frame), settings, log_level=logging.WARNING), db_api
    db_api = DuckDBAPI(":memory:")
    # one thread while training: sums in the same order every time, so the same data gives the same
    # weights (see _predict for scoring)
    db_api.duckdb_con.execute("set threads = 1")
    return Linker(db_api.register(frame), settings, log_level=logging.WARNING), db_api


def _predict(linker, db_api, config: LinkageConfig) -> pd.DataFrame:
    """Score the candidate pairs on every core: each pair's weight is a sum over its own comparisons
    in a fixed order, so the scores do not depend on the threads (the pairs are sorted afterwards).
    Most of a resolution's time at scale 1 is here (some ten million candidate pairs)."""
    if hasattr(db_api, "duckdb_con"):
        db_api.duckdb_con.execute("reset threads")
    return linker.inference.predict(
        threshold_match_probability=config.keep_pairs_above, warning_mode="never"
    ).as_pandas_dataframe()


def has_deterministic_pairs(frame: pd.DataFrame) -> bool:
    """Whether two records share a tax number, or a name in one region: the pairs the prior is
    estimated from (`_train`)."""
    return any(
        frame.dropna(subset=columns).duplicated(subset=columns).any()
        for columns in (["inn_norm"], ["name_norm", "region_key"])
    )


def floor_prior(n_records: int) -> float:
    """The prior when the deterministic rules find no pair at all: about one match expected among all
    the pairs (never above the default). Estimating it would give 0, and a prior of 0 gives every
    pair a match weight of minus infinity (Splink stops with a math domain error)."""
    pairs = max(n_records * (n_records - 1) / 2, 1.0)
    return min(DEFAULT_PRIOR, 1.0 / pairs)


def _train(linker, frame: pd.DataFrame, config: LinkageConfig, estimate_prior: bool = True) -> None:
    from splink import block_on
    from splink.internals.exceptions import EMTrainingException

    if estimate_prior:
        try:
            linker.training.estimate_probability_two_random_records_match(
                [block_on("inn_norm"), block_on("name_norm", "region_key")],
                recall=config.deterministic_recall,
            )
        except (ValueError, ZeroDivisionError) as exc:  # no comparisons to estimate it from
            log.warning("kept the default prior: %s", exc)
    n_records = len(frame)
    max_pairs = min(config.u_max_pairs, max(n_records * (n_records - 1) / 2, 1.0))
    # on Spark each chunk is a job of its own: one chunk is several times faster (and as good)
    chunks = {"num_chunks": 1} if config.backend == "spark" else {}
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=config.seed, **chunks)
    for column in ("name_norm", "inn_norm"):
        # A pass over a rule that finds no pair fails, and Splink 5 leaves the prior it adjusted for
        # the pass's blocking in the model (0.27 instead of 0.0005 on a dozen records): such a pass is
        # not started, and a failing one has the prior put back.
        if not frame[column].dropna().duplicated().any():
            log.info("no two records share %s: its expectation-maximisation pass is skipped", column)
            continue
        prior = linker._settings_obj._probability_two_random_records_match
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(column))
        except EMTrainingException as exc:
            linker._settings_obj._probability_two_random_records_match = prior
            log.warning("skipped an expectation-maximisation pass: %s", str(exc).splitlines()[0])


@dataclass
class PairCache:
    """The pairs a model scored on a set of records: what the next scoring with the same model may
    keep. `frame` is the Splink input (record_key and SPLINK_INPUT_COLUMNS), `pairs` PAIR_COLUMNS,
    `key` says which model and scoring they come from (see `pair_cache_key`)."""

    key: str
    frame: pd.DataFrame
    pairs: pd.DataFrame


@dataclass
class LinkageResult:
    pairs: pd.DataFrame  # PAIR_COLUMNS, one row per scored pair (a < b)
    model: dict[str, Any]  # the Splink model (settings with trained m and u)
    cache: PairCache | None = None  # these pairs, for the next scoring with the same model
    rescored: int | None = None  # pairs scored this time (None: all of them)


def pair_cache_key(model: dict[str, Any], config: LinkageConfig) -> str:
    """The model (without the random uid Splink gives each save), the threshold, Splink's version and
    this module's code: pairs cached under another key are not reused."""
    import hashlib
    from importlib.metadata import version

    h = hashlib.sha256()
    h.update(json.dumps({k: v for k, v in model.items() if k != "linker_uid"}, sort_keys=True).encode())
    h.update(repr(config.keep_pairs_above).encode())
    h.update(version("splink").encode())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def _as_pairs(predicted: pd.DataFrame) -> pd.DataFrame:
    pairs = pd.DataFrame(
        {
            "record_key_a": predicted["record_key_l"].astype("str"),
            "record_key_b": predicted["record_key_r"].astype("str"),
            "match_probability": predicted["match_probability"].astype("float64"),
            "match_weight": predicted["match_weight"].astype("float64"),
        }
    )
    swap = pairs["record_key_a"] > pairs["record_key_b"]
    pairs.loc[swap, ["record_key_a", "record_key_b"]] = pairs.loc[
        swap, ["record_key_b", "record_key_a"]
    ].to_numpy()
    return pairs


def _changes(old: pd.DataFrame, new: pd.DataFrame) -> tuple[set[str], set[str], bool]:
    """(records added or changed, records removed, whether the name frequencies changed)."""
    fo, fn = old.set_index("record_key"), new.set_index("record_key")
    common = fo.index.intersection(fn.index)
    same = (fo.loc[common].fillna("\0") == fn.loc[common, fo.columns].fillna("\0")).all(axis=1)
    changed = set(fn.index.difference(fo.index)) | set(common[~same.to_numpy()])
    removed = set(fo.index.difference(fn.index))
    names_moved = sorted(fo["name_norm"].dropna().tolist()) != sorted(fn["name_norm"].dropna().tolist())
    return changed, removed, names_moved


def _rescore_settings(model: dict[str, Any], names_moved: bool) -> dict[str, Any]:
    """The model with its blocking rules narrowed to pairs with a changed record (`_changed`), plus every
    pair of equal names when the name frequencies moved (the exact-name level weighs a name by its
    frequency among all records, so a new name moves the weight of every exact-name pair)."""
    settings = copy.deepcopy(model)
    rules = [
        {
            "blocking_rule": f'({rule["blocking_rule"]}) AND (l."_changed" = 1 OR r."_changed" = 1)',
            "sql_dialect": rule.get("sql_dialect", "duckdb"),
        }
        for rule in settings["blocking_rules_to_generate_predictions"]
    ]
    if names_moved:
        rules.append(
            {
                "blocking_rule": 'l."name_norm" = r."name_norm"',
                "sql_dialect": settings.get("sql_dialect", "duckdb"),
            }
        )
    settings["blocking_rules_to_generate_predictions"] = rules
    return settings


def link_records(
    records: pd.DataFrame,
    config: LinkageConfig | None = None,
    model: dict[str, Any] | None = None,
    cache: PairCache | None = None,
) -> LinkageResult:
    """Train the model on `records` (or apply `model`, a saved Splink model) and score candidate pairs.

    `records` are normalised entity records (see `normalise_records`). Returns the pairs scored at or
    above `config.keep_pairs_above`, the model, and the pairs as a cache for the next call.

    With `model` and a `cache` of the same model (`pair_cache_key`), only the pairs whose score can
    have changed are scored: those with a record added or changed since the cache, and the pairs of
    equal names when the name frequencies moved; the other cached pairs are kept (a pair's score
    depends on its two records, the model and, at the exact-name level, the name's frequency). The
    result is the same as scoring every pair.
    """
    config = config or LinkageConfig()
    frame = _splink_input(records)
    if len(frame) < 2:
        settings = model or linkage_settings(config.seed, backend=config.backend)
        linker, _ = _linker(frame, settings, config.backend)
        return LinkageResult(pairs=_empty_pairs(), model=linker.misc.save_model_to_json())
    rescored = None
    if model is not None and cache is not None and cache.key == pair_cache_key(model, config):
        changed, removed, names_moved = _changes(cache.frame, frame)
        gone = changed | removed
        kept = cache.pairs[~cache.pairs["record_key_a"].isin(gone) & ~cache.pairs["record_key_b"].isin(gone)]
        if names_moved:
            names = frame.set_index("record_key")["name_norm"]
            name_a = names.reindex(kept["record_key_a"]).to_numpy()
            name_b = names.reindex(kept["record_key_b"]).to_numpy()
            kept = kept[~((name_a == name_b) & pd.notna(name_a))]
        marked = frame.assign(_changed=frame["record_key"].isin(changed).astype("int64"))
        linker, db_api = _linker(marked, _rescore_settings(model, names_moved), config.backend)
        fresh = _as_pairs(_predict(linker, db_api, config))
        rescored = len(fresh)
        pairs = pd.concat([kept, fresh], ignore_index=True)
        saved = model
    else:
        settings = model
        observed = has_deterministic_pairs(frame) if model is None else None
        if model is None:
            prior = DEFAULT_PRIOR if observed else floor_prior(len(frame))
            if not observed:
                log.info("no two records share a tax number or a name in one region: prior %.3g", prior)
            settings = linkage_settings(config.seed, prior=prior, backend=config.backend)
        linker, db_api = _linker(frame, settings, config.backend)
        if model is None:
            _train(linker, frame, config, estimate_prior=bool(observed))
        pairs = _as_pairs(_predict(linker, db_api, config))
        saved = linker.misc.save_model_to_json()
    pairs = pairs.sort_values(["record_key_a", "record_key_b"], kind="stable").reset_index(drop=True)
    # the cache is keyed on the model as the caller will pass it next time: the one given, or the
    # trained one as saved
    key = pair_cache_key(model if model is not None else saved, config)
    return LinkageResult(
        pairs=pairs,
        model=saved,
        cache=PairCache(key, frame.reset_index(drop=True), pairs),
        rescored=rescored,
    )


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_key_a": pd.Series(dtype="str"),
            "record_key_b": pd.Series(dtype="str"),
            "match_probability": pd.Series(dtype="float64"),
            "match_weight": pd.Series(dtype="float64"),
        }
    )


def match_weights(model: dict[str, Any]) -> pd.DataFrame:
    """The trained model as a table: one row per comparison level with its m and u probabilities,
    Bayes factor (m / u) and match weight (log2 of it); the first row is the prior."""
    prior = float(model.get("probability_two_random_records_match", 0.0))
    rows = [
        {
            "comparison": "prior",
            "comparison_level": "probability two random records match",
            "sql_condition": None,
            "m_probability": None,
            "u_probability": None,
            "bayes_factor": prior / (1 - prior) if 0 < prior < 1 else None,
            "match_weight": math.log2(prior / (1 - prior)) if 0 < prior < 1 else None,
            "has_term_frequency_adjustment": False,
        }
    ]
    for comparison in model.get("comparisons", []):
        name = comparison.get("output_column_name") or comparison.get("comparison_description")
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            bf = m / u if m and u else None
            rows.append(
                {
                    "comparison": name,
                    "comparison_level": level.get("label_for_charts"),
                    "sql_condition": level.get("sql_condition"),
                    "m_probability": m,
                    "u_probability": u,
                    "bayes_factor": bf,
                    "match_weight": math.log2(bf) if bf else None,
                    "has_term_frequency_adjustment": bool(level.get("tf_adjustment_column")),
                }
            )
    frame = pd.DataFrame(rows, columns=MATCH_WEIGHT_COLUMNS)
    return frame.astype(
        {
            "comparison": "str",
            "comparison_level": "str",
            "m_probability": "float64",
            "u_probability": "float64",
            "bayes_factor": "float64",
            "match_weight": "float64",
            "has_term_frequency_adjustment": "bool",
        }
    )


def save_model(model: dict[str, Any], path: Path) -> Path:
    """Write the Splink model JSON (loadable with `Linker(df, settings=path)`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(model, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path
