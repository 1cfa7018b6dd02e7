# Two commands matter: `make demo` and `make test`. Both create .venv and install
# the pinned set (requirements.lock) when it is missing or out of date.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The spark extra (pyspark, dbt-spark, a JDK from PyPI): the tests and `make bench ENGINE=spark` need it.
SPARK_STAMP := $(VENV)/.spark-installed
# The bench extra (dlt, the benchmark's peer): only `make bench` needs it.
BENCH_STAMP := $(VENV)/.bench-installed
SCALE ?= 0.1
ENGINE ?= duckdb
# make test runs the suite on this many workers (pytest-xdist), a test file per worker at a time:
# the files' module fixtures (builds) are made once, and the session's once per worker
TEST_WORKERS ?= 2

.PHONY: demo test test-spark-e2e lint bench pythons clean-home help

help:
	@echo "make demo   run the whole pipeline on generated sample exports (embedded default)"
	@echo "make test   run linters and the test suite (installs the spark extra for the Spark tests)"
	@echo "make test-spark-e2e   the whole pipeline on local Spark at scale 0.1 (slow, not in make test)"
	@echo "make bench SCALE=1 [ENGINE=spark]   run the benchmark harness (installs the bench extra: dlt, its peer)"
	@echo "make pythons   check the lock on every Python 3.11-3.13 found (.ci/pythons)"

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=68"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	@# setuptools warns that an editable install of a checkout sees its own folders: it is meant to
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(BIN)/python -m pip install --quiet -r requirements-spark.lock
	@touch $(SPARK_STAMP)

# -c requirements.lock: the extra's install may not move a pin of the main set
$(BENCH_STAMP): $(STAMP) requirements-bench.lock
	$(BIN)/python -m pip install --quiet -r requirements-bench.lock -c requirements.lock
	@touch $(BENCH_STAMP)

demo: $(STAMP)
	$(BIN)/crmw demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) $(SPARK_STAMP) lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

test-spark-e2e: $(STAMP) $(SPARK_STAMP)
	$(BIN)/python -m pytest -m spark_e2e tests/warehouse/test_spark_end_to_end.py

bench: $(STAMP) $(BENCH_STAMP) $(if $(filter spark,$(ENGINE)),$(SPARK_STAMP))
	$(BIN)/python -m bench --scale $(SCALE) --engine $(ENGINE)

pythons:
	.ci/pythons
