"""Splink's Spark backend under the pinned packages (resolution/spark_backend.py), without Spark:
its dialect loads although sqlglot is compiled, and the model's SQL names Spark's functions."""

from __future__ import annotations

import importlib

import pytest

from resolution.linkage import _comparisons
from resolution.spark_backend import SPLINK_DIALECT_MODULE, install_dialect_alias


def test_splinks_spark_backend_imports_although_sqlglot_is_compiled():
    pytest.importorskip("pyspark", reason="pyspark (the spark extra) is not installed")
    import sqlglot

    install_dialect_alias()
    assert sqlglot.transpile("select cast(1.5 as double)", read="spark", write="customspark") == [
        "SELECT CAST(1.5 AS DOUBLE)"
    ]
    module = importlib.import_module("splink.internals.spark.database_api")
    assert hasattr(module, "SparkAPI")
    assert install_dialect_alias() is False  # once is enough
    assert SPLINK_DIALECT_MODULE in __import__("sys").modules


@pytest.mark.parametrize(
    ("backend", "function"), [("duckdb", "jaro_winkler_similarity"), ("spark", "jaro_winkler")]
)
def test_the_one_hand_written_comparison_names_the_backends_similarity_function(backend, function):
    name = _comparisons(backend)[0]
    levels = name.get_comparison("duckdb" if backend == "duckdb" else "spark").as_dict()["comparison_levels"]
    custom = [level["sql_condition"] for level in levels if "damerau" in level["sql_condition"].lower()]
    assert len(custom) == 1 and f"{function}(" in custom[0]
