# Two commands matter: `make demo` and `make test`. Both create .venv and install
# the pinned set (requirements.lock) when it is missing or out of date.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= 0.1

.PHONY: demo test lint bench pythons clean-home help

help:
	@echo "make demo   run the whole pipeline on generated sample exports (embedded default)"
	@echo "make test   run linters and the test suite"
	@echo "make bench SCALE=1   run the benchmark harness"
	@echo "make pythons   check the lock on every Python 3.11-3.13 found (.ci/pythons)"

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=68"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	@# setuptools warns that an editable install of a checkout sees its own folders: it is meant to
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/crmw demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench --scale $(SCALE)

pythons:
	.ci/pythons
