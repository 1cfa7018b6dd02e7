"""Every suite, in the order the pipeline reaches them."""

from __future__ import annotations

from quality.drift import drift_suites
from quality.mart_suites import mart_suites
from quality.raw_suites import raw_suites
from quality.reconciliation import reconciliation_suites
from quality.suite import Layer, Suite


def all_suites(layers: tuple[Layer, ...] | None = None) -> list[Suite]:
    suites = raw_suites() + drift_suites() + mart_suites() + reconciliation_suites()
    if layers is not None:
        suites = [s for s in suites if s.layer in layers]
    return suites
