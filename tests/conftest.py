"""Fixtures every test folder shares, each made once per session.

- `sample_exports`: scale-0.01 sample exports (seed 42, every source, generic dialects) with their
  ground truth. Read only.
- `built_home`: a home whose warehouse holds them, built by dbt with its tests. Read only: tests that
  write take a copy (`tests.support.homes.copy_home`).
- `published_demo`: a copy of it with the model jobs run and the published copy made (reports,
  notebooks).
- `data_shapes`: the sample cut into the shapes real companies send (tests/support/shapes.py), each
  run through the pipeline once, when first asked for (tests/shapes/, tests/models/test_finance_only.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.homes import build_home, generate_sample
from warehouse.settings import Settings


@pytest.fixture(scope="session")
def sample_exports(tmp_path_factory) -> Path:
    return generate_sample(tmp_path_factory.getbasetemp() / "sample-exports")


@pytest.fixture(scope="session")
def built_home(sample_exports, tmp_path_factory) -> Settings:
    return build_home(tmp_path_factory.getbasetemp() / "built-home", sample_exports)


@pytest.fixture(scope="session")
def published_demo(built_home, tmp_path_factory) -> Settings:
    from tests.support.demo import build_published_demo

    return build_published_demo(built_home, tmp_path_factory.getbasetemp() / "published-demo")


@pytest.fixture(scope="session")
def data_shapes(sample_exports, tmp_path_factory):
    from tests.support.shape_runs import ShapeMatrix

    return ShapeMatrix(sample_exports, tmp_path_factory.getbasetemp() / "shapes")
