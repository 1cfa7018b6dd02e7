"""One model run as of a date: the warehouse connection, the frames cut at the date, and caches of
the features of every snapshot date the models and backtests ask for (each computed once)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from models.data import Frames, load_frames
from models.features import client_features, lead_features
from models.labels import open_leads
from warehouse.errors import NoData
from warehouse.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    settings: Settings
    con: duckdb.DuckDBPyConnection
    as_of: date
    frames: Frames  # cut at as_of: the run sees nothing on or after it
    churn_horizon_days: int = 180
    forecast_horizon_months: int = 6
    lead_horizon_days: int = 90
    _cuts: dict[date, Frames] = field(default_factory=dict, repr=False)
    _client_features: dict[date, pd.DataFrame] = field(default_factory=dict, repr=False)
    _lead_features: dict[date, pd.DataFrame] = field(default_factory=dict, repr=False)

    @classmethod
    def open(
        cls,
        settings: Settings,
        con: duckdb.DuckDBPyConnection,
        as_of: date | None = None,
        **horizons: int,
    ) -> RunContext:
        """Load the frames and cut them at `as_of` (default: the day after the latest data); NoData when
        nothing at all happened before it."""
        full = load_frames(con)
        as_of = as_of or full.data_end
        if as_of is None:
            raise NoData(
                f"{settings.warehouse_path} has no data for the models: ingest exports and build first"
            )
        frames = full.before(as_of)
        if frames.first_day is None:
            raise NoData(f"no data before {as_of} in {settings.warehouse_path}: choose a later --as-of")
        # without invoices the models that need them say so and are skipped (models.jobs)
        log.info("model run as of %s: sources %s", as_of, ", ".join(sorted(frames.sources)))
        return cls(settings=settings, con=con, as_of=as_of, frames=frames, **horizons)

    @property
    def sources(self) -> frozenset[str]:
        return self.frames.sources

    def cut(self, t: date) -> Frames:
        if t > self.as_of:
            raise ValueError(f"{t} is after the run's as-of date {self.as_of}")
        if t not in self._cuts:
            self._cuts[t] = self.frames if t == self.as_of else self.frames.before(t)
        return self._cuts[t]

    def client_features(self, t: date) -> pd.DataFrame:
        """Features of every client invoiced before t."""
        if t not in self._client_features:
            self._client_features[t] = client_features(self.cut(t), t)
        return self._client_features[t]

    def lead_features(self, t: date) -> pd.DataFrame:
        """Features of the leads open on t."""
        if t not in self._lead_features:
            cut = self.cut(t)
            self._lead_features[t] = lead_features(cut, t, open_leads(cut, t))
        return self._lead_features[t]
