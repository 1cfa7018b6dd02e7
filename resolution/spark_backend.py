"""Splink on Spark: client resolution's pair scoring for more records than one machine pairs
(`CRMW_RESOLUTION_BACKEND=spark`, or LinkageConfig(backend="spark")).

Splink's SparkAPI runs on the process's SparkSession (warehouse.spark), with the string-similarity
functions of the jar Splink ships in its wheel (warehouse.spark puts it on `spark.jars`: nothing is
downloaded). Lineage is broken by persisting (Splink's default writes checkpoints to a folder the
session would need configured).

One workaround, for Splink 5.0 with the packages this project pins: dagster-dbt brings sqlglot's
compiled build (sqlglotc), and Splink's Spark dialect subclasses sqlglot's Spark generator, which
Python cannot do to a compiled class (`TypeError: interpreted classes cannot inherit from
compiled`; tobymao/sqlglot#7923, declined). Where that is so, Splink's dialect module is replaced,
before Splink imports it, by one that names sqlglot's own Spark dialect "customspark". What
Splink's subclass adds, writing a float literal cast to double as `1.5D`, matters only for literals
of more than 38 digits, which the SQL Splink writes from Python floats never has.
"""

from __future__ import annotations

import logging
import sys
import types

log = logging.getLogger(__name__)

SPLINK_DIALECT_MODULE = "splink.internals.spark.spark_helpers.custom_spark_dialect"


def _sqlglot_is_compiled() -> bool:
    """Whether a generator subclassed in Python (as Splink's is) fails to start."""
    from sqlglot.dialects import Spark

    try:
        type("_Probe", (Spark.Generator,), {})()
    except TypeError:
        return True
    return False


def install_dialect_alias() -> bool:
    """Where sqlglot is compiled, stand in for Splink's Spark dialect module; True when it did."""
    if SPLINK_DIALECT_MODULE in sys.modules or not _sqlglot_is_compiled():
        return False
    from sqlglot.dialects import Dialect, Spark

    type(Dialect)._classes["customspark"] = Spark  # the registry lives on the metaclass
    module = types.ModuleType(SPLINK_DIALECT_MODULE)
    module.Dialect = Dialect
    module.Spark = Spark
    sys.modules[SPLINK_DIALECT_MODULE] = module
    log.debug("sqlglot is compiled: Splink's customspark dialect is sqlglot's Spark")
    return True


def spark_api(session=None):
    """A Splink SparkAPI on `session` (default: the process's SparkSession, made by warehouse.spark)."""
    install_dialect_alias()
    from splink import SparkAPI

    if session is None:
        from warehouse.settings import get_settings
        from warehouse.spark import spark_session

        session = spark_session(get_settings())
    return SparkAPI(spark_session=session, break_lineage_method="persist")
